"""`accessctl show PLAN.json`: a saved plan, rendered offline (Terraform's `show`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._color import use_color
from reconciler.plan import Plan, load_plan, signature_holds
from reconciler.render import FORMATS, renderer
from reconciler.signing import PLAN_KEY_ENV


def signature_status(plan: Plan, environ: Mapping[str, str]) -> tuple[list[str], bool]:
    """One line per organization saying whether its signature was checked here and held, and
    whether every checked signature held. A signature is checked with the organization's token
    (from its `token_env`) or the plan key ($ACCESSCTL_PLAN_KEY), when either is at hand; the
    values are never shown."""
    lines, ok = [], True
    for org in plan.orgs:
        keys = [
            (f"${name}", environ[name])
            for name in (org.token_env, PLAN_KEY_ENV)
            if name and environ.get(name, "").strip()
        ]
        if not org.signature:
            lines.append(f"{org.organization}: not signed; `accessctl apply` will refuse it")
            ok = False
        elif not keys:
            needs = f"${org.token_env} or " if org.token_env else ""
            lines.append(
                f"{org.organization}: signature not checked here (it needs {needs}${PLAN_KEY_ENV})"
            )
        elif any(signature_holds(plan, org, key) for _, key in keys):
            lines.append(f"{org.organization}: signature holds")
        else:
            names = " or ".join(name for name, _ in keys)
            lines.append(
                f"{org.organization}: signature does NOT hold for {names}: the plan was edited "
                "since, or made with another key; `accessctl apply` will refuse it"
            )
            ok = False
    return lines, ok


@cli.command()
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, markdown for a PR comment, json for tools, github for annotations.",
)
def show(plan_file: str, output_format: str) -> int:
    """Show a saved plan (from `accessctl plan -o PLAN.json`), offline: no token, no network.

    Checks that the file is a plan of this version's shape, renders it like `plan` did, and says
    on stderr, per organization, whether its signature holds. The signature is checked only
    where its key is at hand (the organization's token variable, or $ACCESSCTL_PLAN_KEY);
    otherwise it says so. Exit 0 when shown, 1 when the file is not a plan or a checked
    signature does not hold.

    \b
    Examples:
      accessctl show plan.json
      accessctl show plan.json --format markdown > plan.md
      accessctl show plan.json --format json | jq '.orgs[].changes | length'
    """
    environ = dict(os.environ)
    plan = load_plan(plan_file)
    render = renderer(output_format)
    if output_format == "github":
        render(plan, sys.stdout, step_summary=environ.get("GITHUB_STEP_SUMMARY") or None)
    else:
        render(plan, sys.stdout, color=output_format == "text" and use_color(sys.stdout))
    lines, ok = signature_status(plan, environ)
    for line in lines:
        click.echo(line, err=True)
    return EXIT_OK if ok else EXIT_ERROR
