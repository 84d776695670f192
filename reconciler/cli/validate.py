"""`accessctl validate`: schema and rule checks of the desired-state YAML, no network."""

from __future__ import annotations

import datetime
import sys

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._options import org_option, select_org, today_option
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
@org_option("Report only this organization's files (all of PATHS are still read and merged).")
@today_option()
def validate(
    paths: tuple[str, ...],
    output_format: str,
    strict: bool,
    only_org: str | None,
    today: datetime.date,
) -> int:
    """Check the YAML at PATHS (files or folders) against the format and every rule, without
    contacting the platform. Exit 0 when there are no errors, 1 otherwise (--strict: warnings
    count as errors).

    Every user declares `stores` (a list, `[]` or `all`): a missing one is an error. An external
    user whose access has ended (`expires` is the day access ends: today or earlier) is a
    warning, never an error, so it cannot stop the other organizations' pipelines.

    \b
    Examples:
      accessctl validate access/
      accessctl validate access/ --format github    # annotations in a pull request
      accessctl validate access/ --strict           # warnings fail too
      accessctl validate access/ --org acme-eu      # one organization
    """
    result = load(paths, today=today)
    if only_org is not None:
        result = select_org(result, only_org)
    stream = sys.stdout
    if output_format == "json":
        render_json(result.diagnostics, stream)
    elif output_format == "github":
        render_github(result.diagnostics, stream)
    else:
        render_text(result.diagnostics, stream, files_checked=len(result.files))
    return EXIT_ERROR if result.has_errors(strict) else EXIT_OK
