"""`accessctl export`: write the live state as desired-state YAML that plans to zero changes."""

from __future__ import annotations

import datetime
import os
import sys
from contextlib import closing
from pathlib import Path

import click

from reconciler.atomic import write_text
from reconciler.cli import EXIT_OK, cli
from reconciler.cli._options import check_output, today_option, write_failed
from reconciler.cli._progress import FetchProgress
from reconciler.errors import UsageError


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--api-url", metavar="URL", help="The access API (else api.url from PATHS).")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the API token.")
@click.option("--org", "only_org", metavar="NAME", help="The organization to export from PATHS.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@today_option("Count external users whose access ended by this day instead of the real date.")
def export(
    paths: tuple[str, ...],
    api_url: str | None,
    token_env: str | None,
    only_org: str | None,
    out: str | None,
    force: bool,
    today: datetime.date,
) -> int:
    """Write the live access state as YAML in the desired-state format, such that `accessctl
    plan` on it shows no changes: how a team adopts accessctl.

    The API comes from the `api` section of the config at PATHS, or from --api-url and
    --token-env. The file keeps the API URL and the token variable's name, never the token.
    It follows the defaults: `policy.unmanaged_users: remove` (deleting a user's lines removes
    the user) and `stores` on every user, as an explicit list. Terminated users are left out
    (plan reports them, never changes them); external users whose access has ended are kept,
    and `validate` warns about them.

    \b
    Examples:
      accessctl export --api-url URL --token-env ACME_EU_TOKEN -o access/acme-eu.yaml
      accessctl export access/acme-eu.yaml    # the API and token variable from the file
      accessctl export access/ --org acme-eu --force -o access/acme-eu.yaml
    """
    from reconciler.export import export_paths, schema_reference

    if out and Path(out).exists() and not force:
        raise UsageError(f"{out} exists: pass --force to overwrite it")
    if out:
        check_output(out, "-o")
    with closing(FetchProgress()) as progress:
        exported = export_paths(
            paths,
            environ=dict(os.environ),
            today=today,
            api_url=api_url,
            token_env=token_env,
            only_org=only_org,
            schema=schema_reference(out),
            progress=progress,
        )
    if out:
        try:
            write_text(out, exported.text)
        except OSError as exc:
            raise write_failed(out, exc) from None
        click.echo(
            f"Wrote {exported.organization} ({exported.live_users} live users) to {out}.",
            err=True,
        )
    else:
        sys.stdout.write(exported.text)
    return EXIT_OK
