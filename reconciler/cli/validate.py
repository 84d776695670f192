"""`accessctl validate`: schema and rule checks of the desired-state YAML, no network."""

from __future__ import annotations

import datetime
import sys

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.config import load, render_github, render_json, render_text


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for workflow annotations.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Judge expiry dates as of this day (YYYY-MM-DD) instead of the real date.",
)
def validate(
    paths: tuple[str, ...], output_format: str, strict: bool, today: datetime.datetime | None
) -> None:
    """Check the YAML at PATHS (files or folders) against the format and every rule, without
    contacting the platform. Exit 0 when there are no errors, 1 otherwise (--strict: warnings
    count as errors)."""
    day = today.date() if today is not None else datetime.date.today()
    result = load(paths, today=day)
    stream = sys.stdout
    if output_format == "json":
        render_json(result.diagnostics, stream)
    elif output_format == "github":
        render_github(result.diagnostics, stream)
    else:
        render_text(result.diagnostics, stream, files_checked=len(result.files))
    raise SystemExit(EXIT_ERROR if result.has_errors(strict) else EXIT_OK)
