"""One apply, start to end: the plan (a saved one, checked against its signature and API, or one
made from the config), its safety, a saved plan's staleness and journal, then the dry run or the
confirmed apply. The caller gives plain options and callbacks (confirm, show the plan, report
events, show fetch progress) and renders the outcome; nothing here prints or reads the
environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from reconciler.annotations import AnnotationContext
from reconciler.apply.calls import ApplyClient
from reconciler.apply.dryrun import RecordedRequest
from reconciler.apply.executor import ApplyEvent, ApplyResult
from reconciler.apply.journal import (
    JournalWriter,
    journal_path,
    one_apply_at_a_time,
    read_journal,
)
from reconciler.apply.runs import OrgRun, apply_runs, check_safe, check_saved, check_signed, dry_run
from reconciler.errors import AccessctlError, UsageError
from reconciler.pipeline import (
    API_URL_ENV,
    Progress,
    open_plan_client,
    plan_paths,
    refetch,
    resolve_url,
)
from reconciler.plan import OrgPlan, Plan, load_plan
from reconciler.redact import secret_arg_message, secret_in_args
from reconciler.signing import signing_key

# Progress for one fetch of live state: entered before it, left (the line erased) after it.
ProgressScope = Callable[[], AbstractContextManager[Progress | None]]
# Told how many changes are about to be sent; returns what is told of each one's events.
Reporter = Callable[[int], Callable[[ApplyEvent], None]]


@dataclass(frozen=True)
class ApplyOptions:
    """What `accessctl apply` was asked: PATHS (the config, or one saved plan.json) and flags."""

    paths: Sequence[str]
    environ: Mapping[str, str]
    today: date
    dry: bool = False
    parallelism: int = 8
    pairs: Sequence[str] = ()  # `--annotate KEY=VALUE`
    api_url: str | None = None
    force: bool = False
    only_org: str | None = None


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did. `requests` is set for a dry run (the requests not sent); `result` holds
    each change applied, failed or skipped (none when there was nothing to do); `journal` is the
    file this apply recorded its progress in (a saved plan), kept when a change failed."""

    plan: Plan
    result: ApplyResult = field(default_factory=ApplyResult)
    requests: list[RecordedRequest] | None = None
    journal: Path | None = None

    @property
    def ok(self) -> bool:
        """Exit 0: every change applied (a dry run and an empty plan are ok)."""
        return self.result.ok


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C while changes were being sent: `message` says what is left and how to go on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _ignore(_event: ApplyEvent) -> None:
    return None


def _no_progress() -> AbstractContextManager[Progress | None]:
    return nullcontext(None)


def apply_session(
    options: ApplyOptions,
    *,
    confirm: Callable[[Plan], bool],
    show: Callable[[Plan], None] | None = None,
    reporter: Reporter | None = None,
    progress: ProgressScope = _no_progress,
) -> ApplyOutcome:
    """Apply the plan of `options.paths`. `show` sees the plan before its safety is checked;
    `confirm` is asked before anything is sent (not for a dry run or an empty plan), and False
    cancels. Raises AccessctlError (nothing sent) for a plan that is unsafe, stale, unsigned or
    cancelled, and ApplyInterrupted when interrupted while sending."""
    environ = options.environ
    annotations = AnnotationContext.from_environ(environ, options.pairs)
    saved = saved_plan(options)
    if saved is not None:
        plan = saved
    else:
        with progress() as fetched:
            plan = plan_paths(
                options.paths,
                today=options.today,
                environ=environ,
                api_url=options.api_url,
                force=options.force,
                progress=fetched,
                only_org=options.only_org,
            )
    refuse_token_args(plan, environ, [*options.pairs, options.api_url or ""])
    if show is not None:
        show(plan)
    check_safe(plan, saved=saved is not None)
    journal_file = None
    runs = [OrgRun(org) for org in plan.orgs]
    held = nullcontext() if saved is None or options.dry else one_apply_at_a_time(options.paths[0])
    with held:
        if saved is not None:  # read again: stale unless unchanged, or changed by its own journal
            journal_file = journal_path(options.paths[0])
            runs = _fresh_runs(saved, journal_file, options, progress)
        if not plan.has_changes and not options.dry:
            if journal_file is not None:
                journal_file.unlink(missing_ok=True)
            return ApplyOutcome(plan)

        def key_for(org: OrgPlan) -> str:
            return signing_key(environ, org.token_env).secret

        if options.dry:
            requests = dry_run(runs, plan_id=plan.plan_id, annotations=annotations, key_for=key_for)
            return ApplyOutcome(plan, requests=requests)
        if not confirm(plan):
            raise AccessctlError("Apply cancelled (only 'yes' approves); nothing was sent.")
        todo = sum(len(r.org.changes) - len(r.done) for r in runs)
        on_event = reporter(todo) if reporter is not None else _ignore
        result = _send(plan, runs, options, annotations, key_for, journal_file, on_event)
        return ApplyOutcome(plan, result, journal=journal_file)


def saved_plan(options: ApplyOptions) -> Plan | None:
    """The saved plan when PATHS is one `.json` file (configs are YAML), checked: signed with the
    key at hand, for the API it was made against, narrowed to `--org`. None for a config."""
    paths = options.paths
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    if not Path(paths[0]).exists():  # a FIFO or device: load_plan says what it is
        raise AccessctlError(
            f"no such plan file: {paths[0]}",
            hint="save one with `accessctl plan PATHS -o plan.json`, or pass the YAML config",
        )
    saved = load_plan(paths[0])
    if options.force:
        raise UsageError(
            "--force acts when the plan is made, not on a saved plan",
            hint="make the plan again with `accessctl plan PATHS --force -o plan.json`",
        )
    check_signed(saved, options.environ)
    same_api(saved, options.environ, options.api_url)
    return saved if options.only_org is None else only(saved, options.only_org)


def only(plan: Plan, name: str) -> Plan:
    """The saved plan's part for one organization (its signature was checked on the whole)."""
    kept = [org for org in plan.orgs if org.organization == name]
    if not kept:
        known = ", ".join(org.organization for org in plan.orgs)
        raise UsageError(f"--org {name}: the saved plan has no such organization (it has: {known})")
    return plan.model_copy(update={"orgs": kept})


def same_api(plan: Plan, environ: Mapping[str, str], api_url: str | None) -> None:
    """A saved plan goes to the API it was made against (its signed `api_url`): an `--api-url`
    or `$ACCESSCTL_API_URL` naming another is refused, never followed with the token."""
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


def refuse_token_args(plan: Plan, environ: Mapping[str, str], args: Sequence[str]) -> None:
    """A token of the plan's organizations given as an argument (`--annotate note=$TOKEN`) is
    refused before the plan or any annotation is shown or sent, whatever its variable's name."""
    names = [org.token_env for org in plan.orgs if org.token_env]
    found = secret_in_args(args, environ, names)
    if found is not None:
        message, hint = secret_arg_message(found)
        raise UsageError(message, hint=hint)


def _fresh_runs(
    saved: Plan, journal_file: Path, options: ApplyOptions, progress: ProgressScope
) -> list[OrgRun]:
    """The saved plan's runs, its live state read again: stale unless unchanged, or changed only
    by an interrupted apply of this plan (its journal). A journal of another plan is removed."""
    journal = read_journal(journal_file, saved.plan_id)
    if journal is None:
        journal_file.unlink(missing_ok=True)  # left by another plan
    with progress() as fetched:
        return check_saved(
            saved, lambda org: refetch(org, options.environ, options.api_url, fetched), journal
        )


def _send(
    plan: Plan,
    runs: list[OrgRun],
    options: ApplyOptions,
    annotations: AnnotationContext,
    key_for: Callable[[OrgPlan], str],
    journal_file: Path | None,
    on_event: Callable[[ApplyEvent], None],
) -> ApplyResult:
    """Send the changes, recording progress in the journal of a saved plan (removed once every
    change applied, kept otherwise so a re-run resumes)."""

    def client(org: OrgPlan) -> ApplyClient:
        return open_plan_client(org, options.environ, options.api_url)

    writer = JournalWriter(journal_file, plan.plan_id) if journal_file is not None else None
    try:
        result = apply_runs(
            runs,
            client,
            plan_id=plan.plan_id,
            annotations=annotations,
            parallelism=options.parallelism,
            on_event=on_event,
            journal=writer,
            key_for=key_for,
        )
    except KeyboardInterrupt:
        raise ApplyInterrupted(_interrupted(journal_file, options.paths[0])) from None
    finally:
        if writer is not None:
            writer.close(remove=False)
    if journal_file is not None and result.ok:
        journal_file.unlink(missing_ok=True)
    return result


def _interrupted(journal_file: Path | None, path: str) -> str:
    if journal_file is not None:
        return (
            f"Apply interrupted: progress is kept in {journal_file}; run "
            f"`accessctl apply {path}` again to resume."
        )
    return (
        "Apply interrupted: some changes may have been sent; run `accessctl plan` on the same "
        "paths to see what is left."
    )
