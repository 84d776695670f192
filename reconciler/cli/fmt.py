"""`accessctl fmt`: canonical formatting of the config files, comments kept."""

from __future__ import annotations

import datetime
import sys

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._options import org_option, select_org
from reconciler.config import load, render_text
from reconciler.config.format_files import format_paths


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any file would change.")
@org_option("Format only this organization's files.")
def fmt(paths: tuple[str, ...], check: bool, only_org: str | None) -> int:
    """Rewrite the YAML at PATHS (files or folders) in canonical form: fixed key order, users
    sorted by email, ranges by name, 2-space indentation. Comments are kept with what they
    describe; a file fmt cannot rewrite that way, or that does not load, is reported and left
    as it is.

    \b
    Examples:
      accessctl fmt access/
      accessctl fmt access/ --check          # in CI: exit 1 when a file is not formatted
      accessctl fmt access/ --org acme-eu
    """
    if only_org is not None:
        loaded = load(paths, today=datetime.date.today())
        paths = tuple(select_org(loaded, only_org).files)
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
    return EXIT_ERROR if failed else EXIT_OK
