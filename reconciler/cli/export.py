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


def _target(
    paths: tuple[str, ...],
    only_org: str | None,
    api_url: str | None,
    token_env: str | None,
    environ: dict[str, str],
    today: datetime.date,
) -> tuple[str, str, str | None]:
    """(API URL, token variable, the organization expected) from a config file's `api` and
    `organization`, else from the options."""
    from reconciler.pipeline import load_desired, resolve_url

    if paths:
        orgs, _ = load_desired(list(paths), today=today, only_org=only_org)
        if len(orgs) > 1:
            names = ", ".join(o.config.organization for o in orgs)
            raise UsageError(f"the config has several organizations ({names}): pick one with --org")
        api = orgs[0].config.api
        url = resolve_url(api.url, environ, api_url)
        env = token_env or api.token_env
        expected: str | None = orgs[0].config.organization
    else:
        url = resolve_url(None, environ, api_url)
        env = token_env
        expected = only_org
    if not env:
        raise UsageError("name the environment variable that holds the API token: --token-env VAR")
    return url, env, expected


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--api-url", metavar="URL", help="The access API (else api.url from PATHS).")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the API token.")
@click.option("--org", "only_org", metavar="NAME", help="The organization to export from PATHS.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@today_option("Count external users whose access ended by this day instead of the real date.")
@click.pass_context
def export(
    ctx: click.Context,
    paths: tuple[str, ...],
    api_url: str | None,
    token_env: str | None,
    only_org: str | None,
    out: str | None,
    force: bool,
    today: datetime.date,
) -> None:
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
    from reconciler.api import fetch_live_state
    from reconciler.export import export_yaml, schema_reference
    from reconciler.pipeline import client_for

    environ = dict(os.environ)
    if out and Path(out).exists() and not force:
        raise UsageError(f"{out} exists: pass --force to overwrite it")
    if out:
        check_output(out, "-o")
    url, env, expected = _target(paths, only_org, api_url, token_env, environ, today)
    with closing(FetchProgress()) as progress:
        client = client_for(url, env, environ, organization=expected or "", progress=progress)
        try:
            live = fetch_live_state(client)
        finally:
            client.close()
    if expected is not None and live.organization.name != expected:
        where = f"--org {only_org}" if not paths else f"{', '.join(paths)} is for {expected}"
        raise UsageError(
            f"{where}: the token in {env} belongs to organization "
            f"{live.organization.name}, not {expected}; nothing was written",
            hint=f"use the token of {expected}" + ("" if paths else ", or leave out --org"),
        )
    text = export_yaml(live, api_url=url, token_env=env, today=today, schema=schema_reference(out))
    if out:
        try:
            write_text(out, text)
        except OSError as exc:
            raise write_failed(out, exc) from None
        click.echo(
            f"Wrote {live.organization.name} ({len(live.users)} live users) to {out}.", err=True
        )
    else:
        sys.stdout.write(text)
    ctx.exit(EXIT_OK)
