"""`accessctl plan`: fetch the live state, diff it with the YAML, check safety, show the plan."""

from __future__ import annotations

import datetime
import os
import sys
from contextlib import closing
from pathlib import Path

import click

from reconciler.cli import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, set_output_format
from reconciler.cli._color import use_color
from reconciler.cli._options import (
    api_url_option,
    check_output,
    check_plan_target,
    today_option,
    write_failed,
)
from reconciler.cli._progress import FetchProgress
from reconciler.errors import UsageError
from reconciler.render import FORMATS, renderer


def exit_code(*, drifted: bool, is_safe: bool, detailed: bool) -> int:
    """`drifted`: changes to make, or undeclared users reported (see `Plan.drifted`)."""
    if not is_safe:
        return EXIT_ERROR
    return EXIT_CHANGES if drifted and detailed else EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--org", "only_org", metavar="NAME", help="Plan only this organization.")
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False), help="Also save the plan as JSON to this file."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, markdown for a PR comment, json for tools, github for annotations.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 on drift: changes to make, or undeclared users reported (0 when none).",
)
@click.option("--force", is_flag=True, help="Accept more removals than policy.max_removals.")
@api_url_option()
@today_option()
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    only_org: str | None,
    out: str | None,
    output_format: str,
    detailed_exitcode: bool,
    force: bool,
    api_url: str | None,
    today: datetime.date,
) -> int:
    """Show what would change to make the platform match the YAML at PATHS.

    The YAML is authoritative: a live user it does not declare is planned for removal
    (policy.unmanaged_users: remove, the default), kept and named as drift (report), or left
    alone (ignore). A declared external user whose access has ended (`expires` is today or
    earlier) is never invited nor changed: the plan warns instead.

    Exit 0 when there is nothing to change, 1 on an error or an unsafe plan (the plan is still
    shown, so the reviewer sees why). With --detailed-exitcode, 2 on drift: changes to make, or
    undeclared users reported. A plan saved with -o is written even when unsafe; `apply`
    refuses an unsafe plan. It is signed with $ACCESSCTL_PLAN_KEY when set (else with each
    organization's token): set the same key where it is applied to apply a plan made with a
    read-only token with the Admin token.

    \b
    Examples:
      accessctl plan access/                                # review the changes
      accessctl plan access/ --detailed-exitcode            # 2 on drift (nightly job)
      accessctl plan access/ --org acme-eu -o plan.json     # one organization, saved
      accessctl plan access/ --format markdown -o plan.json # a PR comment and a saved plan
    """
    from reconciler.pipeline import plan_paths
    from reconciler.plan import save_plan

    environ = dict(os.environ)
    if out:
        if Path(out).suffix.lower() in (".yaml", ".yml"):
            raise UsageError(
                f"-o {out}: a saved plan is JSON, and a .yaml file may be a configuration",
                hint="save it as .json, e.g. -o plan.json",
            )
        check_output(out, "-o", paths)
        check_plan_target(out)
    set_output_format(ctx, output_format)  # a config error's diagnostics, in this format
    with closing(FetchProgress()) as progress:
        result = plan_paths(
            list(paths),
            today=today,
            environ=environ,
            api_url=api_url,
            only_org=only_org,
            force=force,
            progress=progress,
        )
    stdout = sys.stdout
    color = output_format == "text" and use_color(stdout)
    render = renderer(output_format)
    if output_format == "github":
        render(result, stdout, step_summary=environ.get("GITHUB_STEP_SUMMARY") or None)
    else:
        render(result, stdout, color=color)
    if out:
        try:
            save_plan(result, out)
        except OSError as exc:
            raise write_failed(out, exc) from None
        click.echo(f"Saved the plan to {out}.", err=True)
    return exit_code(drifted=result.drifted, is_safe=result.is_safe, detailed=detailed_exitcode)
