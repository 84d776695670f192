"""`accessctl adopt`: take the live state into the YAML in place, comments and layout kept."""

from __future__ import annotations

import datetime
import os
import sys
from contextlib import closing

import click

from reconciler.cli import EXIT_OK, cli
from reconciler.cli._options import api_url_option, today_option
from reconciler.cli._progress import FetchProgress


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--org", "only_org", metavar="NAME", help="Adopt only this organization.")
@click.option("--dry-run", is_flag=True, help="Print the diff of the files; write nothing.")
@api_url_option()
@today_option()
def adopt(
    paths: tuple[str, ...],
    only_org: str | None,
    dry_run: bool,
    api_url: str | None,
    today: datetime.date,
) -> int:
    """Take the live access state into the YAML at PATHS, in place: the alternative to
    applying when a change made by hand (drift) should stay.

    Roles, store grants, expiry dates, ranges and the support-access switch are rewritten where
    live differs; live users not declared are added (to the first of the organization's files
    that holds `users:`, named in the output; not with `unmanaged_users: ignore`); declared
    users gone from live, or Terminated there, are removed. Only the changed text is touched:
    comments, key order, flow or block style, `api` and `policy` stay as written (a file in
    `fmt`'s canonical form stays in it). The result must validate and plan empty against the
    live state, or nothing is written.

    \b
    Examples:
      accessctl adopt access/ --dry-run        show the diff, write nothing
      accessctl adopt access/ --org acme-eu    rewrite acme-eu's files
    """
    from reconciler.adopt import adopt_paths, write

    environ = dict(os.environ)
    with closing(FetchProgress()) as progress:
        adoption = adopt_paths(
            list(paths),
            today=today,
            environ=environ,
            api_url=api_url,
            only_org=only_org,
            progress=progress,
        )
    changed = adoption.changed
    if not changed:  # with --dry-run, stdout is the diff only: empty
        click.echo("Nothing to adopt: the YAML already matches the live state.", err=dry_run)
        return EXIT_OK
    if dry_run:
        sys.stdout.write(adoption.unified_diff())
    else:
        write(adoption)
    by_org: dict[str, list[str]] = {}
    for note in adoption.notes:
        by_org.setdefault(note.organization, []).append(str(note))
    out = sys.stderr if dry_run else sys.stdout
    for org, lines in by_org.items():
        out.write(f"{org}:\n" + "".join(f"{line}\n" for line in lines))
    files = f"{len(changed)} file{'' if len(changed) == 1 else 's'}"
    verb = "would be rewritten" if dry_run else "rewritten"
    out.write(f"{files} {verb}: {', '.join(changed)}\n")
    return EXIT_OK
