"""`accessctl fmt`: canonical formatting of the config files, comments kept."""

from __future__ import annotations

import sys

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.config import render_text
from reconciler.config.formatting import format_paths


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any file would change.")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite the YAML at PATHS (files or folders) in canonical form: fixed key order, users
    sorted by email, ranges by name, 2-space indentation. Comments are kept with what they
    describe; a file fmt cannot rewrite that way, or that does not load, is reported and left
    as it is."""
    result = format_paths(paths, write=not check)
    out = sys.stdout
    verb = "would reformat" if check else "reformatted"
    for name in result.changed:
        out.write(f"{verb} {name}\n")
    if result.diagnostics:
        render_text(result.diagnostics, out)
    changed = len(result.changed)
    files = f"{changed} file{'' if changed == 1 else 's'}"
    done = "would be reformatted" if check else "reformatted"
    out.write(f"{files} {done}, {len(result.unchanged)} already formatted\n")
    failed = bool(result.diagnostics) or (check and bool(result.changed))
    raise SystemExit(EXIT_ERROR if failed else EXIT_OK)
