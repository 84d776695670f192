"""The runs of an apply, one per organization (`apply_runs`, and `dry_run` that records instead
of sending), and the checks before them: a plan must be safe and signed, and a saved plan must
still describe the live state (or, after an interrupted apply, the live state its journal
explains)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from reconciler.annotations import AnnotationContext
from reconciler.apply.calls import ApplyClient
from reconciler.apply.dryrun import RecordedRequest, RecordingClient
from reconciler.apply.executor import ApplyEvent, ApplyResult, execute
from reconciler.apply.journal import Journal, JournalWriter
from reconciler.errors import StalePlanError, UnsafePlanError
from reconciler.live import LiveState
from reconciler.plan import Caller, OrgPlan, Plan, SignedWith, live_fingerprint, signature_holds
from reconciler.safety import CALLER_RULES, caller_checks
from reconciler.signing import PLAN_KEY_ENV, plan_key


@dataclass(frozen=True)
class OrgRun:
    """One organization's part of an apply: what is already done, and whether it resumes."""

    org: OrgPlan
    live: LiveState | None = None
    done: frozenset[tuple[str, str]] = frozenset()
    resume: bool = False


# Warnings in a plan that still stop `apply`: the plan is fine to review, not to carry out.
APPLY_BLOCKERS = frozenset({"insufficient_role"})
# Findings about the token, not the configuration: the fix is another token.
TOKEN_FINDINGS = frozenset({"insufficient_role", "super_admin_required"})


def check_safe(plan: Plan, *, saved: bool = False) -> None:
    """Refuse a plan with safety violations (or apply blockers), listing every one. In a saved
    plan, the rules that depend on who calls were checked for the principal that planned: they
    are left to `check_saved`, which checks them for the principal that applies."""
    blocking = [
        (org, f)
        for org in plan.orgs
        for f in org.findings
        if not (saved and f.code in CALLER_RULES)
        and (f.severity == "error" or (f.code in APPLY_BLOCKERS and org.changes))
    ]
    if not blocking:
        return
    lines = []
    for org, finding in blocking:
        where = f" ({finding.source})" if finding.source else ""
        lines.append(f"  {org.organization}: {finding.code}: {finding.message}{where}")
    codes = {finding.code for _, finding in blocking}
    if codes <= TOKEN_FINDINGS:
        tokens = ", ".join(sorted({f"${org.token_env}" for org, _ in blocking if org.token_env}))
        hint = (
            f"use an Admin token (a Super Admin's to grant or revoke Super Admin) in "
            f"{tokens or 'the token variable'}, then plan and apply again; the configuration "
            "is fine"
        )
    else:
        hint = "fix the configuration (or use --force where the rule allows it) and plan again"
        if codes & TOKEN_FINDINGS:
            hint += "; and use an Admin token (a Super Admin's for Super Admin changes)"
    raise UnsafePlanError("the plan is unsafe; nothing was sent:\n" + "\n".join(lines), hint=hint)


def check_signed(plan: Plan, environ: Mapping[str, str]) -> None:
    """Refuse a saved plan that is not what `accessctl plan` wrote, signed with the key at hand:
    `$ACCESSCTL_PLAN_KEY` when set, else each organization's token. Runs before any request: an
    edited plan could name another API, another token variable, or changes no safety check has
    seen."""
    from reconciler.api import read_token

    shared = plan_key(environ)
    wanted: SignedWith = "ACCESSCTL_PLAN_KEY" if shared is not None else "token"
    if plan.signed_with != wanted:
        if shared is None:
            raise UnsafePlanError(
                f"the saved plan was signed with ${PLAN_KEY_ENV}, which is not set here; "
                "nothing was sent",
                hint=f"set {PLAN_KEY_ENV} to the key the plan was made with",
            )
        raise UnsafePlanError(
            f"the saved plan was signed with each organization's token, not with "
            f"${PLAN_KEY_ENV}, which is set here; nothing was sent",
            hint=f"plan again with {PLAN_KEY_ENV} set, or apply without it",
        )
    for org in plan.orgs:
        if shared is not None:
            key, what = shared.secret, f"${PLAN_KEY_ENV}"
        else:
            key = read_token(org.token_env, environ) if org.token_env else ""
            what = f"the token in {org.token_env or '(no variable)'}"
        if not org.signature or not key or not signature_holds(plan, org, key):
            made_with = "another key" if shared is not None else "another token"
            raise UnsafePlanError(
                f"the saved plan for {org.organization} is not the one `accessctl plan` wrote "
                f"for {what}: it was edited since, or made with {made_with}; nothing was sent",
                hint=(
                    "plan again with the key that will apply: accessctl plan PATHS -o plan.json "
                    f"(runs that plan and apply with different tokens share ${PLAN_KEY_ENV})"
                ),
            )


def stale_error(organization: str) -> StalePlanError:
    return StalePlanError(
        f"saved plan is stale: the live state of {organization} changed since the plan was "
        "made; nothing was sent; run plan again",
        hint="a saved plan is applied only to the exact state it was computed on",
    )


def check_saved(
    plan: Plan, fetch: Callable[[OrgPlan], LiveState], journal: Journal | None
) -> list[OrgRun]:
    """Re-fetch every organization of a saved plan; raise StalePlanError for the first whose live
    state differs from the plan's (and is not explained by an interrupted apply of this plan)."""
    runs = []
    for org in plan.orgs:
        live = fetch(org)
        org = _check_caller(org, live)
        done = journal.done(org.organization) if journal else frozenset()
        if live_fingerprint(live) == org.live_fingerprint:
            runs.append(OrgRun(org, live, done, resume=bool(done)))
        elif journal is not None and journal.started(org.organization):
            journal.check_resume(org, live)
            runs.append(OrgRun(org, live, done, resume=True))
        else:
            raise stale_error(org.organization)
    return runs


def _check_caller(org: OrgPlan, live: LiveState) -> OrgPlan:
    """The rules that depend on who calls (lockout on the caller's IP, self-removal, Super Admin
    rules, a role that may change anything), checked again for the principal and address that
    apply, against the live state just read. Returns `org` with that caller: the order of range
    changes depends on the caller's IP."""
    caller = Caller(email=live.me.email, role=live.me.role, ip=live.ip)
    broken = [f for f in caller_checks(live, org.changes) if f.severity == "error"]
    if broken:
        lines = []
        for finding in broken:
            where = f" ({finding.source})" if finding.source else ""
            lines.append(f"  {finding.code}: {finding.message}{where}")
        planned = org.caller
        raise UnsafePlanError(
            f"the saved plan for {org.organization} (made as {planned.email} from {planned.ip}) "
            f"is unsafe for {live.me.email} ({live.me.role}) applying from {live.ip}; nothing "
            "was sent:\n" + "\n".join(lines),
            hint="apply with a token and from an address these rules allow, or plan again",
        )
    return org if caller == org.caller else org.model_copy(update={"caller": caller})


def apply_runs(
    runs: list[OrgRun],
    client_for: Callable[[OrgPlan], ApplyClient],
    *,
    plan_id: str,
    annotations: AnnotationContext,
    parallelism: int,
    on_event: Callable[[ApplyEvent], None],
    journal: JournalWriter | None = None,
    key_for: Callable[[OrgPlan], str] | None = None,
) -> ApplyResult:
    """Apply each organization in turn (organizations are independent: one failing does not stop
    the next). With a journal, every completed change is recorded before it is reported.

    One email holds one role across organizations, so an invitation or role change refused with
    `role_conflict` may succeed once another organization of the same apply has removed or
    changed that user: when some organization made progress, each such organization is run
    once more for its refused and skipped changes.

    With `key_for`, every annotation is sealed with the organization's key for the principal
    that sends it (`audit` checks the seal)."""
    result = ApplyResult()

    def report(event: ApplyEvent) -> None:
        if journal is not None:
            journal.record(event)
        on_event(event)

    def report_again(event: ApplyEvent) -> None:
        if event.status in ("failed", "skipped") and event.message:
            event = replace(
                event, message=f"tried again after the other organizations: {event.message}"
            )
        report(event)

    def run_org(run: OrgRun, *, again: bool = False) -> ApplyResult:
        client = client_for(run.org)
        try:
            if journal is not None and run.live is not None and not run.done and not run.resume:
                journal.start(run.org.organization, run.live)
            return execute(
                run.org,
                client,
                plan_id=plan_id,
                annotations=_sealed(annotations, run, key_for),
                parallelism=parallelism,
                on_event=report_again if again else report,
                done=run.done,
                resume=run.resume,
                round=1 if again else 0,  # a new request: a new idempotency key
            )
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    outcomes = [(run, run_org(run)) for run in runs if run.org.changes]
    for outcome in outcomes:
        result.extend(outcome[1])
    blocked = [(run, done) for run, done in outcomes if _role_conflicts(done)]
    if blocked and any(r.status == "applied" for _, done in outcomes for r in done.results):
        for run, done in blocked:
            again = [r.change for r in done.results if r.status in ("failed", "skipped")]
            retry = OrgRun(run.org.model_copy(update={"changes": again}), run.live, resume=True)
            second = run_org(retry, again=True)
            retried = {id(r.change) for r in done.results if r.status != "applied"}
            result.results = [r for r in result.results if id(r.change) not in retried]
            result.extend(second)
    return result


def _sealed(
    annotations: AnnotationContext, run: OrgRun, key_for: Callable[[OrgPlan], str] | None
) -> AnnotationContext:
    """`annotations` sealed for the principal that sends `run`'s requests: the one the live state
    was just read as (a saved plan), else the one the plan was made as (the same token)."""
    if key_for is None:
        return annotations
    actor = run.live.me.email if run.live is not None else run.org.caller.email
    return annotations.sealed(run.org.organization, actor, key_for(run.org))


def _role_conflicts(result: ApplyResult) -> bool:
    return any(r.status == "failed" and r.code == "role_conflict" for r in result.results)


def dry_run(
    runs: list[OrgRun],
    *,
    plan_id: str,
    annotations: AnnotationContext,
    key_for: Callable[[OrgPlan], str] | None = None,
) -> list[RecordedRequest]:
    """The requests an apply would send, in order; nothing is sent."""
    recorded: list[RecordedRequest] = []
    for run in runs:
        recorder = RecordingClient(run.org.organization)
        execute(
            run.org,
            recorder,
            plan_id=plan_id,
            annotations=_sealed(annotations, run, key_for),
            parallelism=1,
            done=run.done,
        )
        recorded.extend(recorder.requests)
    return recorded
