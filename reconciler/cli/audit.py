"""`accessctl audit PATHS`: recent audit events, accessctl's own apart from changes made by hand."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence

import click

from reconciler.audit import Verifier, fetch_audit, parse_duration, render_text
from reconciler.cli import EXIT_CHANGES, EXIT_OK, cli
from reconciler.cli._options import api_url_option, org_option, text_or_json_option


def run(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str],
    since: str,
    now: datetime.datetime,
    output_format: str,
    detailed: bool,
    api_url: str | None,
    only_org: str | None = None,
) -> int:
    from reconciler.errors import UsageError
    from reconciler.pipeline import api_target, client_for, load_desired
    from reconciler.signing import plan_key, signing_key

    try:
        start = now - parse_duration(since)
    except OverflowError:
        raise UsageError(
            f"--since {since!r}: too far back (before the year 1)",
            hint="use a duration such as 30d or 52w",
        ) from None
    orgs, _ = load_desired(paths, today=now.date(), only_org=only_org)
    plan_key(environ)  # a key too short is refused before any request
    audits = []
    for org in orgs:
        url, token_env = api_target(org.config.organization, org.config.api, environ, api_url)
        with client_for(url, token_env, environ) as client:
            live_name = client.get("/organization").get("name")
            if live_name != org.config.organization:
                raise UsageError(
                    f"{org.config.organization}: the token in {token_env} belongs to "
                    f"organization {live_name}: its audit log says nothing about "
                    f"{org.config.organization}",
                    hint=f"use the token of {org.config.organization}",
                )
            key = signing_key(environ, token_env)
            name = f"${key.name}" if key.is_plan_key else f"the token in {key.name}"
            verifier = Verifier(org.config.organization, key.secret, name)
            audits.append(fetch_audit(client, org.config.organization, start, verifier))
    if output_format == "json":
        click.echo(json.dumps({"organizations": [a.as_dict() for a in audits]}, indent=2))
    else:
        click.echo("\n".join(render_text(audits)))
    hand_made = any(a.hand_made for a in audits)
    return EXIT_CHANGES if detailed and hand_made else EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--since", default="24h", show_default=True, help="How far back: 30m, 24h, 7d, 2w.")
@text_or_json_option("text for people, json for tools.")
@click.option(
    "--detailed-exitcode",
    "detailed",
    is_flag=True,
    help="Exit 2 when changes were made by hand (0 when none, 1 on error).",
)
@api_url_option()
@org_option("Read only this organization's audit log.")
@click.pass_context
def audit(
    ctx: click.Context,
    paths: tuple[str, ...],
    since: str,
    output_format: str,
    detailed: bool,
    api_url: str | None,
    only_org: str | None,
) -> None:
    """Show recent audit events of the organizations at PATHS: those made by accessctl (with the
    commit, PR, plan and file:line from their annotation) and those made by hand (actor and IP),
    the nightly drift job's answer to "who changed access outside git?". Logins are counted.

    A change counts as accessctl's only when its annotation's signature checks: with
    $ACCESSCTL_PLAN_KEY when set (the key the apply ran with), else with the organization's
    token here (then only changes applied with this same token check). A change whose
    annotation claims accessctl without a valid signature is hand-made, and says so.

    \b
    Examples:
      accessctl audit access/ --since 7d
      accessctl audit access/ --org acme-eu --format json
      accessctl audit access/ --detailed-exitcode   # exit 2 when someone changed access by hand
    """
    ctx.exit(
        run(
            paths,
            environ=dict(os.environ),
            since=since,
            now=datetime.datetime.now(datetime.UTC),
            output_format=output_format,
            detailed=detailed,
            api_url=api_url,
            only_org=only_org,
        )
    )
