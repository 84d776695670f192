"""`accessctl orgs PATHS`: the organizations a config declares, and the files of each.

CI fans work out per organization with it: `--format json` prints one compact line that
GitHub Actions turns into a job matrix with `fromJSON(...)`:

    [{"organization": "acme-eu", "paths": ["access/acme-eu.yaml"], "token_env": "ACME_EU_TOKEN"}]
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Sequence

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._options import text_or_json_option, today_option
from reconciler.config import LoadResult, load, render_text


def organizations(result: LoadResult) -> list[dict[str, object]]:
    """One entry per organization, sorted by name: its name, its files, its token variable."""
    entries: list[dict[str, object]] = [
        {
            "organization": org.config.organization,
            "paths": list(org.files),
            "token_env": org.config.api.token_env,
        }
        for org in result.orgs
    ]
    return sorted(entries, key=lambda entry: str(entry["organization"]))


def run(paths: Sequence[str], output_format: str, today: datetime.date) -> int:
    """Print the organizations; exit 1 (with the diagnostics) when the config has errors, so a
    matrix is never built from a config that only partly loaded."""
    result = load(paths, today=today)
    if result.has_errors():
        shown = io.StringIO()
        render_text([d for d in result.diagnostics if d.is_error], shown)
        click.echo(shown.getvalue(), err=True, nl=False)
        return EXIT_ERROR
    found = organizations(result)
    if output_format == "json":
        click.echo(json.dumps(found, separators=(",", ":")))
    else:
        for entry in found:
            click.echo(str(entry["organization"]))
    return EXIT_OK


@cli.command("orgs")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@text_or_json_option("text: one name a line; json: one line, for a CI matrix (fromJSON).")
@today_option()
@click.pass_context
def orgs_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    today: datetime.date,
) -> None:
    """List the organizations declared in PATHS (files or folders) and the files of each.

    \b
    Examples:
      accessctl orgs access/
      accessctl orgs access/ --format json   # [{"organization": …, "paths": […], …}]
    """
    ctx.exit(run(paths, output_format, today))
