"""`accessctl orgs PATHS`: the organizations a config declares, and the files of each.

CI fans work out per organization with it: `--format json` prints one compact line that
GitHub Actions turns into a job matrix with `fromJSON(...)`:

    [{"organization": "acme-eu", "paths": ["access/acme-eu.yaml"], "token_env": "ACME_EU_TOKEN"}]

A GitHub matrix holds at most 256 jobs: `--groups N` packs the organizations into at most N jobs,
balanced by size (declared users and ranges), one entry per job:

    [{"group": "1/2", "index": 1, "organizations": ["acme-eu"], "paths": [...], "size": 4, …}]
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Sequence

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._options import org_option, select_org, text_or_json_option, today_option
from reconciler.config import LoadResult, load, render_text
from reconciler.model import DesiredOrg


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


def _size(org: DesiredOrg) -> int:
    """The work an organization is, for balancing: its declared users and ranges, at least 1."""
    return 1 + len(org.config.users) + len(org.config.ip_ranges)


def groups(result: LoadResult, count: int) -> list[list[DesiredOrg]]:
    """At most `count` groups of organizations, balanced by size: the largest organization goes
    first into the lightest group (longest-processing-time first). No group is empty."""
    orgs = sorted(result.orgs, key=lambda org: (-_size(org), org.config.organization))
    loads = [0] * max(1, min(count, len(orgs)))
    members: list[list[DesiredOrg]] = [[] for _ in loads]
    for org in orgs:
        lightest = min(range(len(loads)), key=lambda i: (loads[i], i))
        loads[lightest] += _size(org)
        members[lightest].append(org)
    return [sorted(group, key=lambda org: org.config.organization) for group in members if group]


def group_entries(packed: list[list[DesiredOrg]]) -> list[dict[str, object]]:
    """One matrix entry per group: its label, organizations, files, token variables and size."""
    return [
        {
            "group": f"{number}/{len(packed)}",
            "index": number,
            "organizations": [org.config.organization for org in group],
            "paths": [path for org in group for path in org.files],
            "token_envs": sorted({org.config.api.token_env or "" for org in group} - {""}),
            "size": sum(_size(org) for org in group),
        }
        for number, group in enumerate(packed, 1)
    ]


def run(
    paths: Sequence[str],
    output_format: str,
    today: datetime.date,
    group_count: int | None = None,
    only_org: str | None = None,
) -> int:
    """Print the organizations; exit 1 (with the diagnostics) when the config has errors, so a
    matrix is never built from a config that only partly loaded."""
    result = load(paths, today=today)
    if only_org is not None:
        result = select_org(result, only_org)
    if result.has_errors():
        shown = io.StringIO()
        render_text([d for d in result.diagnostics if d.is_error], shown)
        click.echo(shown.getvalue(), err=True, nl=False)
        return EXIT_ERROR
    if group_count is not None:
        packed = groups(result, group_count)
        if output_format == "json":
            click.echo(json.dumps(group_entries(packed), separators=(",", ":")))
        else:
            for number, group in enumerate(packed, 1):
                names = " ".join(org.config.organization for org in group)
                click.echo(f"{number}/{len(packed)}: {names}")
        return EXIT_OK
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
@click.option(
    "--groups",
    "group_count",
    type=click.IntRange(1, 256),
    default=None,
    metavar="N",
    help="Pack the organizations into at most N jobs, balanced by size (a matrix holds 256).",
)
@org_option("List only this organization (CI: its files and token variable).")
@today_option()
def orgs_command(
    paths: tuple[str, ...],
    output_format: str,
    group_count: int | None,
    only_org: str | None,
    today: datetime.date,
) -> int:
    """List the organizations declared in PATHS (files or folders) and the files of each.

    \b
    Examples:
      accessctl orgs access/
      accessctl orgs access/ --format json   # [{"organization": …, "paths": […], …}]
      accessctl orgs access/ --format json --groups 200   # at most 200 jobs
    """
    return run(paths, output_format, today, group_count, only_org)
