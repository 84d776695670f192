"""`accessctl audit PATHS`: recent audit events, accessctl's own apart from changes made by hand."""

from __future__ import annotations

import datetime
import json
import os

import click

from reconciler.audit import audit_paths, render_text
from reconciler.cli import EXIT_CHANGES, EXIT_OK, cli
from reconciler.cli._options import api_url_option, org_option, text_or_json_option


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
def audit(
    paths: tuple[str, ...],
    since: str,
    output_format: str,
    detailed: bool,
    api_url: str | None,
    only_org: str | None,
) -> int:
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
    audits = audit_paths(
        paths,
        environ=dict(os.environ),
        since=since,
        now=datetime.datetime.now(datetime.UTC),
        api_url=api_url,
        only_org=only_org,
    )
    if output_format == "json":
        click.echo(json.dumps({"organizations": [a.as_dict() for a in audits]}, indent=2))
    else:
        click.echo("\n".join(render_text(audits)))
    hand_made = any(a.hand_made for a in audits)
    return EXIT_CHANGES if detailed and hand_made else EXIT_OK
