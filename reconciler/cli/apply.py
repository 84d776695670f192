"""`accessctl apply PATHS | plan.json`: carry a plan out, or show the exact requests (--dry-run)."""

from __future__ import annotations

import datetime
import io
import os
import sys
from collections.abc import Callable
from contextlib import closing

import click

from reconciler.apply import ApplyEvent
from reconciler.apply.session import ApplyInterrupted, ApplyOptions, apply_session
from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._color import use_color
from reconciler.cli._options import api_url_option, org_option, text_or_json_option, today_option
from reconciler.cli._progress import FetchProgress
from reconciler.errors import AccessctlError, UsageError
from reconciler.plan import Plan
from reconciler.render import apply as view
from reconciler.render.text import render as render_text


def _can_ask() -> bool:
    return sys.stdin.isatty()


def _confirm(plan: Plan, yes: bool, *, shown: bool) -> bool:
    """Terraform's prompt: the organizations, API hosts and counts, and `yes` typed out."""
    if yes:
        return True
    if not _can_ask():
        review = "review the plan above" if shown else "review the plan (`accessctl plan`)"
        raise UsageError(
            "refusing to apply without confirmation: there is no terminal to ask on",
            hint=f"{review}, then pass --yes (in CI: apply a reviewed saved plan)",
        )
    click.echo("\n" + view.confirmation(plan) + "\n", err=True)
    try:
        answer = click.prompt(
            "  Enter a value", default="", show_default=False, err=True, prompt_suffix=": "
        )
    except click.Abort:  # Ctrl-C or end of input at the prompt: an interruption, exit 130
        click.echo(err=True)
        raise KeyboardInterrupt from None
    return answer.strip() == "yes"


def _show(plan: Plan) -> None:
    text = io.StringIO()
    render_text(plan, text, color=use_color(sys.stdout))
    click.echo(text.getvalue(), nl=False)


def _reporter(todo: int) -> Callable[[ApplyEvent], None]:
    """Each change's line as it completes, above a progress bar on a terminal."""
    lines = view.EventLines(todo, tty=sys.stdout.isatty())
    return lambda event: click.echo(lines(event), nl=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--dry-run", "dry", is_flag=True, help="Print the exact requests; send none.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Changes sent at once within a phase.",
)
@click.option(
    "--annotate",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add a key to every change's audit annotation (repeatable).",
)
@text_or_json_option("text for people; json prints one result object.")
@api_url_option()
@click.option("--force", is_flag=True, help="Allow more removals than policy.max_removals.")
@org_option("Apply only this organization (of the config, or of a saved plan).")
@today_option()
def apply(
    paths: tuple[str, ...],
    yes: bool,
    dry: bool,
    parallelism: int,
    pairs: tuple[str, ...],
    output_format: str,
    api_url: str | None,
    force: bool,
    only_org: str | None,
    today: datetime.date,
) -> int:
    """Make the platform match the config at PATHS, or carry out a saved plan (plan.json).

    Changes run in safe order: support access and range additions first, then invites and
    promotions, demotions, removals, and range deletions last; a failure stops later phases.
    A saved plan is refused when the live state changed since it was made; re-running a saved
    plan after an interrupted apply resumes it (its progress is kept in plan.json.journal).
    A saved plan must carry the signature of $ACCESSCTL_PLAN_KEY when set (else of each
    organization's token); the rules that depend on who calls (role, lockout on the caller's IP,
    self-removal, Super Admin) are checked again for the principal that applies. Every change's
    audit annotation is sealed with the same key, so `audit` can tell it from a forged one.
    Exit 0 when every change applied, 1 otherwise.

    \b
    Examples:
      accessctl apply access/                  # plan, confirm, apply
      accessctl apply plan.json --yes          # apply a reviewed plan in CI
      accessctl apply plan.json --org acme-eu  # one organization of a saved plan
      accessctl apply access/ --dry-run        # show the requests, send none
    """
    as_json = output_format == "json"
    options = ApplyOptions(
        paths,
        dict(os.environ),
        today,
        dry=dry,
        parallelism=parallelism,
        pairs=pairs,
        api_url=api_url,
        force=force,
        only_org=only_org,
    )
    try:
        outcome = apply_session(
            options,
            confirm=lambda plan: _confirm(plan, yes, shown=not as_json),
            show=None if as_json else _show,
            reporter=None if as_json else _reporter,
            progress=lambda: closing(FetchProgress()),
        )
    except ApplyInterrupted as exc:
        click.echo(f"\n{exc.message}", err=True)
        raise
    except AccessctlError as exc:
        if as_json:  # a tool reading stdout learns why, not only the exit code
            click.echo(view.error_json(exc))
        raise
    click.echo(view.outcome_json(outcome) if as_json else view.outcome_text(outcome))
    if not outcome.ok and outcome.journal is not None and not as_json:
        click.echo(f"Progress was recorded in {outcome.journal}.", err=True)
    return EXIT_OK if outcome.ok else EXIT_ERROR
