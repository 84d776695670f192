"""`accessctl apply PATHS | plan.json`: carry a plan out, or show the exact requests (--dry-run)."""

from __future__ import annotations

import datetime
import io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path

import click

from reconciler.annotations import AnnotationContext
from reconciler.apply import (
    ApplyClient,
    ApplyEvent,
    ApplyResult,
    OrgRun,
    apply_runs,
    check_safe,
    check_saved,
    check_signed,
    dry_run,
)
from reconciler.apply.executor import DONE_BEFORE
from reconciler.apply.journal import JournalWriter, journal_path, read_journal
from reconciler.cli import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._color import use_color
from reconciler.cli._options import (
    api_url_option,
    org_option,
    text_or_json_option,
    today_option,
)
from reconciler.cli._progress import FetchProgress
from reconciler.display import visible
from reconciler.errors import AccessctlError, UsageError
from reconciler.plan import OrgPlan, Plan, load_plan
from reconciler.redact import redact
from reconciler.render.text import render as render_text
from reconciler.signing import signing_key


def _saved_plan(paths: Sequence[str]) -> Plan | None:
    """The plan when PATHS is one `.json` file holding a saved plan (configs are YAML)."""
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    if not Path(paths[0]).exists():  # a FIFO or device: load_plan says what it is
        raise AccessctlError(
            f"no such plan file: {paths[0]}",
            hint="save one with `accessctl plan PATHS -o plan.json`, or pass the YAML config",
        )
    return load_plan(paths[0])


class Reporter:
    """One line per change applied, failed or skipped; on a terminal each line is written above a
    progress bar redrawn after it. Nothing in json mode. Changes an interrupted run already
    applied (from the journal) are not this run's: neither shown nor counted here."""

    def __init__(self, total: int, *, tty: bool, quiet: bool) -> None:
        self.total, self.tty, self.quiet = total, tty, quiet
        self.finished = 0
        self.failed = 0
        self._last: dict[tuple[str, str, str], str] = {}  # a change retried is counted once

    def __call__(self, event: ApplyEvent) -> None:
        if event.status == "started" or self.quiet or event.message == DONE_BEFORE:
            return
        change = event.change
        key = (event.organization, change.address, change.action)
        previous = self._last.get(key)
        self._last[key] = event.status
        self.finished += previous is None
        self.failed += (event.status == "failed") - (previous == "failed")
        where = f" {change.source}" if change.source else ""
        line = f"{event.status} {change.address} ({change.action}){where}"
        if event.status != "applied" and event.message:
            line += f": {event.message}"
        line = visible(line)  # live names and API messages may hold control characters
        if not self.tty:
            click.echo(line)
            return
        click.echo("\r\033[K" + line)  # above the bar, which is drawn again below it
        bar = "#" * (30 * self.finished // max(1, self.total))
        click.echo(
            f"\r\033[KApplying [{bar:<30}] {self.finished}/{self.total}"
            + (f" ({self.failed} failed)" if self.failed else ""),
            nl=self.finished == self.total,
        )


def _summary(result: ApplyResult) -> str:
    line = (
        f"Apply complete: {result.count('applied')} applied, {result.count('failed')} failed, "
        f"{result.count('skipped')} skipped."
    )
    before = result.done_before()
    if before:
        line += (
            f" {before} more {'was' if before == 1 else 'were'} applied before the "
            "interruption (from the journal)."
        )
    return line


def _can_ask() -> bool:
    return sys.stdin.isatty()


def confirmation(plan: Plan) -> str:
    """What apply asks before it sends anything: per organization, the counts and the API host."""
    from urllib.parse import urlsplit

    from reconciler.render import Counts

    lines = ["Do you want to apply these changes?"]
    for org in plan.orgs:
        if not org.changes:
            continue
        n = Counts.of(org.changes)
        host = urlsplit(org.api_url or "").netloc or "the configured API"
        lines.append(
            f"  {org.organization} at {host}: {n.add} to add, {n.change} to change, "
            f"{n.remove} to remove"
        )
    lines.append("  Only 'yes' will be accepted to approve.")
    return "\n".join(lines)


def _confirm(plan: Plan, yes: bool, *, shown: bool) -> None:
    """Terraform's prompt: the organizations, API hosts and counts, and `yes` typed out."""
    if yes:
        return
    if not _can_ask():
        review = "review the plan above" if shown else "review the plan (`accessctl plan`)"
        raise UsageError(
            "refusing to apply without confirmation: there is no terminal to ask on",
            hint=f"{review}, then pass --yes (in CI: apply a reviewed saved plan)",
        )
    click.echo("\n" + confirmation(plan) + "\n", err=True)
    try:
        answer = click.prompt(
            "  Enter a value", default="", show_default=False, err=True, prompt_suffix=": "
        )
    except click.Abort:  # Ctrl-C or end of input at the prompt: an interruption, exit 130
        click.echo(err=True)
        raise KeyboardInterrupt from None
    if answer.strip() != "yes":
        raise AccessctlError("Apply cancelled (only 'yes' approves); nothing was sent.")


def _only(plan: Plan, name: str) -> Plan:
    """The saved plan's part for one organization (its signature was checked on the whole)."""
    kept = [org for org in plan.orgs if org.organization == name]
    if not kept:
        known = ", ".join(org.organization for org in plan.orgs)
        raise UsageError(f"--org {name}: the saved plan has no such organization (it has: {known})")
    return plan.model_copy(update={"orgs": kept})


def _same_api(plan: Plan, environ: Mapping[str, str], api_url: str | None) -> None:
    """A saved plan goes to the API it was made against (its signed `api_url`): an `--api-url`
    or `$ACCESSCTL_API_URL` naming another is refused, never followed with the token."""
    from reconciler.pipeline import API_URL_ENV, resolve_url

    given = api_url or environ.get(API_URL_ENV)
    if not given:
        return
    where = "--api-url" if api_url else f"${API_URL_ENV}"
    wanted = resolve_url(None, {}, given).rstrip("/")
    for org in plan.orgs:
        if (org.api_url or "").rstrip("/") != wanted:
            raise UsageError(
                f"{where} names another access API than the one the saved plan for "
                f"{org.organization} was made against; a saved plan is applied only there; "
                "nothing was sent",
                hint=f"leave out {where}, or make the plan again against that API",
            )


def _refuse_token_args(plan: Plan, environ: Mapping[str, str], args: Sequence[str]) -> None:
    """A token of the plan's organizations given as an argument (`--annotate note=$TOKEN`) is
    refused before the plan or any annotation is shown or sent, whatever its variable's name."""
    from reconciler.cli import secret_arg_message
    from reconciler.redact import secret_in_args

    names = [org.token_env for org in plan.orgs if org.token_env]
    found = secret_in_args(args, environ, names)
    if found is not None:
        message, hint = secret_arg_message(found)
        raise UsageError(message, hint=hint)


def run(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str],
    today: datetime.date,
    yes: bool,
    dry: bool,
    parallelism: int,
    pairs: Sequence[str],
    output_format: str,
    api_url: str | None,
    force: bool,
    only_org: str | None = None,
) -> int:
    from reconciler.pipeline import open_plan_client, plan_paths, refetch

    annotations = AnnotationContext.from_environ(environ, pairs)
    saved = _saved_plan(paths)
    if saved is not None:
        if force:
            raise UsageError(
                "--force acts when the plan is made, not on a saved plan",
                hint="make the plan again with `accessctl plan PATHS --force -o plan.json`",
            )
        check_signed(saved, environ)
        _same_api(saved, environ, api_url)
        if only_org is not None:
            saved = _only(saved, only_org)
    with closing(FetchProgress()) as progress:
        plan = saved or plan_paths(
            paths,
            today=today,
            environ=environ,
            api_url=api_url,
            force=force,
            progress=progress,
            only_org=only_org,
        )
    _refuse_token_args(plan, environ, [*pairs, api_url or ""])
    as_json = output_format == "json"
    if not as_json:
        shown = io.StringIO()
        render_text(plan, shown, color=use_color(sys.stdout))
        click.echo(shown.getvalue(), nl=False)
    check_safe(plan, saved=saved is not None)

    journal_file = journal_path(paths[0]) if saved else None
    runs = [OrgRun(org) for org in plan.orgs]
    if saved is not None and journal_file is not None:
        journal = read_journal(journal_file, saved.plan_id)
        if journal is None:
            journal_file.unlink(missing_ok=True)  # left by another plan
        with closing(FetchProgress()) as progress:
            runs = check_saved(saved, lambda org: refetch(org, environ, api_url, progress), journal)

    if not plan.has_changes and not dry:
        if journal_file is not None:
            journal_file.unlink(missing_ok=True)
        _finish(ApplyResult(), as_json)
        return EXIT_OK

    def key_for(org: OrgPlan) -> str:
        return signing_key(environ, org.token_env).secret

    if dry:
        requests = dry_run(runs, plan_id=plan.plan_id, annotations=annotations, key_for=key_for)
        if as_json:
            click.echo(json.dumps({"dry_run": True, "requests": [r.as_dict() for r in requests]}))
        else:
            if not requests:
                click.echo("\nDry run: nothing to send.")
                return EXIT_OK
            urls = {org.organization: org.api_url or "" for org in plan.orgs}
            click.echo(f"\nDry run: the requests apply would send ({len(requests)}):\n")
            for request in requests:
                click.echo(request.render(urls.get(request.organization, "")) + "\n")
            click.echo(f"Dry run: {len(requests)} requests not sent.")
        return EXIT_OK

    _confirm(plan, yes, shown=not as_json)

    def client(org: OrgPlan) -> ApplyClient:
        return open_plan_client(org, environ, api_url)

    todo = sum(len(r.org.changes) - len(r.done) for r in runs)
    reporter = Reporter(todo, tty=sys.stdout.isatty(), quiet=as_json)
    writer = JournalWriter(journal_file, plan.plan_id) if journal_file is not None else None
    try:
        result = apply_runs(
            runs,
            client,
            plan_id=plan.plan_id,
            annotations=annotations,
            parallelism=parallelism,
            on_event=reporter,
            journal=writer,
            key_for=key_for,
        )
    except KeyboardInterrupt:
        click.echo("", err=True)
        if journal_file is not None:
            click.echo(
                f"Apply interrupted: progress is kept in {journal_file}; run "
                f"`accessctl apply {paths[0]}` again to resume.",
                err=True,
            )
        else:
            click.echo(
                "Apply interrupted: some changes may have been sent; run `accessctl plan` on "
                "the same paths to see what is left.",
                err=True,
            )
        raise
    finally:
        if writer is not None:
            writer.close(remove=False)
    if writer is not None and result.ok and journal_file is not None:
        journal_file.unlink(missing_ok=True)
    _finish(result, as_json)
    if not result.ok and writer is not None and not as_json:
        click.echo(f"Progress was recorded in {journal_file}.", err=True)
    return EXIT_OK if result.ok else EXIT_ERROR


def _finish(result: ApplyResult, as_json: bool) -> None:
    if as_json:
        data = {
            "ok": result.ok,
            "applied": result.count("applied"),
            "applied_before": result.done_before(),
            "failed": result.count("failed"),
            "skipped": result.count("skipped"),
            "changes": [r.as_dict() for r in result.results],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(_summary(result))


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
@click.pass_context
def apply(
    ctx: click.Context,
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
) -> None:
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
    try:
        code = run(
            paths,
            environ=dict(os.environ),
            today=today,
            yes=yes,
            dry=dry,
            parallelism=parallelism,
            pairs=pairs,
            output_format=output_format,
            api_url=api_url,
            force=force,
            only_org=only_org,
        )
    except AccessctlError as exc:
        if output_format == "json":  # a tool reading stdout learns why, not only the exit code
            error = {"ok": False, "error": redact(exc.message), "hint": redact(exc.hint or "")}
            click.echo(json.dumps(error, indent=2))
        raise
    ctx.exit(code)
