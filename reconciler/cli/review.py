"""`accessctl review PATHS`: who holds access, do they still use it, and what to look at."""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import sys
from contextlib import closing
from pathlib import Path

import click

from reconciler.cli import EXIT_CHANGES, EXIT_OK, cli
from reconciler.cli._options import api_url_option, check_output, today_option, write_failed
from reconciler.cli._progress import FetchProgress

REVIEW_FORMATS = ("text", "markdown", "csv", "json")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--org", "only_org", metavar="NAME", help="Review only this organization.")
@click.option(
    "--inactive-days",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Flag users with no login in N days (default: policy.inactive_days, else 90).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(REVIEW_FORMATS),
    default="text",
    show_default=True,
    help="text for people, markdown for an issue, csv for a spreadsheet, json for tools.",
)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option(
    "--detailed-exitcode",
    "detailed",
    is_flag=True,
    help="Exit 2 when any user has a finding (0 when none, 1 on error).",
)
@api_url_option()
@today_option("Review as of this day (UTC) instead of today: the window and expiry count from it.")
def review(
    paths: tuple[str, ...],
    only_org: str | None,
    inactive_days: int | None,
    output_format: str,
    out: str | None,
    detailed: bool,
    api_url: str | None,
    today: datetime.date,
) -> int:
    """Review who holds access in the organizations at PATHS, read-only: every live user with
    role, type, stores, status, expiry, where the YAML declares it, and its last login (time and
    IP) from the audit log. Findings: inactive, never_logged_in, expiring (within 14 days),
    login_outside_ranges, undeclared, super_admins (more than policy.max_super_admins).

    \b
    Examples:
      accessctl review access/
      accessctl review access/ --org acme --format markdown -o review.md
      accessctl review access/ --format csv -o review.csv --inactive-days 60
      accessctl review access/ --detailed-exitcode   # exit 2 when a user is flagged
    """
    from reconciler.render.review import render_csv, render_json, render_markdown, render_text
    from reconciler.review import review_paths

    if out:
        check_output(out, "-o", paths)
    with closing(FetchProgress()) as progress:
        reviews = review_paths(
            paths,
            today=today,
            environ=dict(os.environ),
            api_url=api_url,
            only_org=only_org,
            inactive_days=inactive_days,
            progress=progress,
        )
    render = {
        "text": render_text,
        "markdown": render_markdown,
        "csv": render_csv,
        "json": render_json,
    }[output_format]
    buffer = io.StringIO(newline="")
    render(reviews, buffer)
    if out:
        path = Path(out)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                handle.write(buffer.getvalue())
            tmp.replace(path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise write_failed(out, exc) from None
        users = sum(len(r.users) for r in reviews)
        click.echo(f"Wrote the review of {users} users to {out}.", err=True)
    else:
        sys.stdout.write(buffer.getvalue())
    flagged = any(r.flagged for r in reviews)
    return EXIT_CHANGES if detailed and flagged else EXIT_OK
