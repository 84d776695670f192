"""The executor: carry out one organization's plan, phase by phase (`Phase`), the changes of a
phase concurrently on a bounded pool; a failure stops every later phase.

Retry safety lives here and in the client: POSTs carry a deterministic `Idempotency-Key`, PATCH
and DELETE carry the plan-time etag as `If-Match`. A 412 means someone changed the object since
the plan: it is reported, never overwritten. One exception: when the client had to retry (or we
resume an interrupted apply), the first attempt may have landed before the connection dropped,
so a 412/404 is checked by re-reading the object: if it already is what the plan wanted, the
change is applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Literal

from reconciler.annotations import AnnotationContext
from reconciler.apply.calls import ApiCall, ApplyClient, calls_for, send
from reconciler.errors import ApiError
from reconciler.model import normalise_email
from reconciler.plan import Change, OrgPlan

Status = Literal["started", "applied", "failed", "skipped"]
Outcome = Literal["applied", "failed", "skipped"]

CHANGED_SINCE_PLAN = "changed since plan"
OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True)
class ApplyEvent:
    """Progress of one change. `response` is the API's last answer for an applied change."""

    organization: str
    change: Change
    status: Status
    code: str | None = None
    message: str | None = None
    response: Any = None


# The message of a change an interrupted run already applied (read from the journal, not sent).
DONE_BEFORE = "applied before the interruption (journal)"


@dataclass(frozen=True)
class ChangeResult:
    organization: str
    change: Change
    status: Outcome
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "address": self.change.address,
            "action": self.change.action,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "source": None if self.change.source is None else str(self.change.source),
        }


@dataclass
class ApplyResult:
    results: list[ChangeResult] = field(default_factory=list)

    def count(self, status: Outcome) -> int:
        """Changes with `status` in this run (applied: sent now, not those done before)."""
        return sum(1 for r in self.results if r.status == status and r.message != DONE_BEFORE)

    def done_before(self) -> int:
        """Changes an interrupted run of the same saved plan applied (from its journal)."""
        return sum(1 for r in self.results if r.message == DONE_BEFORE)

    @property
    def ok(self) -> bool:
        return all(r.status == "applied" for r in self.results)

    def extend(self, other: ApplyResult) -> None:
        self.results.extend(other.results)


class _Conflict(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _same(field_name: str, want: Any, have: Any) -> bool:
    """Whether the API's `have` is the value sent, as the same JSON type: a switch sent as
    `false` and answered `"False"` (or `0`) is not shown to have landed."""
    if field_name == "stores":
        return (
            isinstance(have, list)
            and all(isinstance(store, str) for store in have)
            and sorted(want or []) == sorted(have)
        )
    return type(want) is type(have) and want == have


def _landed(client: ApplyClient, call: ApiCall) -> bool:
    """Whether an ambiguous PATCH/DELETE already took effect, by reading the object back."""
    try:
        current = client.get(call.path)
    except ApiError as exc:
        return call.method == "DELETE" and exc.status == 404
    if call.method == "DELETE" or not isinstance(current, dict):
        return False
    return all(_same(k, v, current.get(k)) for k, v in (call.body or {}).items())


def _describe_conflict(change: Change, exc: ApiError) -> _Conflict:
    where = f" ({change.source})" if change.source else ""
    if exc.status == 412:
        return _Conflict(
            "precondition_failed",
            f"{CHANGED_SINCE_PLAN}: {change.address}{where} was modified by someone else after "
            "the plan was made; not overwritten. Run plan again, review, apply.",
        )
    return _Conflict(
        "not_found",
        f"{CHANGED_SINCE_PLAN}: {change.address}{where} no longer exists. Run plan again.",
    )


def _unknown(change: Change, call: ApiCall, why: str) -> _Conflict:
    where = f" ({change.source})" if change.source else ""
    return _Conflict(
        OUTCOME_UNKNOWN,
        f"outcome unknown: {change.address}{where}: {call.method} {call.path} {why}. It may or "
        "may not have taken effect: run plan again to see what is left (nothing is sent twice "
        "by a new apply of a new plan).",
    )


def _answer_problem(call: ApiCall, answer: Any) -> str | None:
    """Why `answer` is not the object the contract promises for `call` (None when it is): a
    POST answers the created object, a PATCH the changed one, with the fields that were sent."""
    if call.method == "DELETE":
        return None
    if not isinstance(answer, dict) or not answer:
        return "answered success without the object it changed"
    sent = call.body or {}
    keys: list[str] = list(sent)
    if call.method == "POST":
        keys = [k for k in ("email", "name", "cidr") if k in sent]
    for key in keys:
        want, have = sent[key], answer.get(key)
        if key == "email":
            same = isinstance(have, str) and normalise_email(have) == normalise_email(str(want))
        else:
            same = _same(key, want, have)
        if not same:
            return f"answered success with an object whose `{key}` is not the one sent"
    return None


@dataclass
class _Runner:
    org: OrgPlan
    client: ApplyClient
    plan_id: str
    annotations: AnnotationContext
    on_event: Callable[[ApplyEvent], None]
    resume: bool
    round: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, event: ApplyEvent) -> None:
        with self.lock:
            self.on_event(event)

    def call(self, change: Change, call: ApiCall) -> Any:
        """Send `call`; its answer when that is the promised object. A 412/404 on a request
        that certainly had no earlier effect means someone else changed the object; after an
        attempt that may have landed (a dropped answer, a 5xx, an interrupted run) the object is
        read back, and what cannot be confirmed is "outcome unknown", never "changed"."""
        annotation = self.annotations.header_for(self.plan_id, change, call.step)
        try:
            answer = send(self.client, call, annotation)
        except ApiError as exc:
            ambiguous = self.resume or exc.maybe_applied
            if call.method != "POST" and exc.status in (404, 412):
                if ambiguous and _landed(self.client, call):
                    return None
                if ambiguous:
                    raise _unknown(
                        change,
                        call,
                        f"may have taken effect on an attempt whose answer was lost, and then "
                        f"answered {exc.status} {exc.code}",
                    ) from None
                raise _describe_conflict(change, exc) from None
            if exc.maybe_applied:
                raise _unknown(change, call, f"got no clear answer: {exc.message}") from None
            raise
        problem = _answer_problem(call, answer)
        if problem is not None:
            raise _unknown(change, call, problem)
        return answer

    def run_one(self, change: Change) -> ChangeResult:
        name = self.org.organization
        self.emit(ApplyEvent(name, change, "started"))
        response: Any = None
        sent: list[str] = []
        try:
            for call in calls_for(change, self.plan_id, name, self.round):
                response = self.call(change, call)
                sent.append(call.step)
        except (_Conflict, ApiError) as exc:
            code = exc.code if isinstance(exc, _Conflict) else exc.code or "api_error"
            message = exc.message
            if "delete" in sent:  # a replace whose second half failed: say what did happen
                message = (
                    f"removed, but not invited again: {message}. The user has no access until "
                    "the cause is fixed and apply runs again"
                )
            return self._finish(change, "failed", code, message)
        return self._finish(change, "applied", response=response)

    def _finish(
        self,
        change: Change,
        status: Outcome,
        code: str | None = None,
        message: str | None = None,
        response: Any = None,
    ) -> ChangeResult:
        self.emit(ApplyEvent(self.org.organization, change, status, code, message, response))
        return ChangeResult(self.org.organization, change, status, code, message)


def execute(
    plan_org: OrgPlan,
    client: ApplyClient,
    *,
    plan_id: str,
    annotations: AnnotationContext,
    parallelism: int = 8,
    on_event: Callable[[ApplyEvent], None] = lambda event: None,
    done: frozenset[tuple[str, str]] = frozenset(),
    resume: bool = False,
    round: int = 0,
) -> ApplyResult:
    """Apply `plan_org` through `client`. `done` holds (address, action) pairs already applied by
    an interrupted run (skipped silently, reported as applied); `resume` makes every 412/404
    ambiguous, since the interrupted run may have sent the request. `round` 1 sends new
    idempotency keys (the retry after the other organizations ran)."""
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    runner = _Runner(plan_org, client, plan_id, annotations, on_event, resume, round)
    result = ApplyResult()
    failed: ChangeResult | None = None
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
        for phase, group in groupby(plan_org.ordered_changes(), key=plan_org.phase):
            changes = list(group)
            if failed is not None:
                reason = (
                    f"skipped: phase {phase.name.lower()} runs after {failed.change.address} failed"
                )
                for change in changes:
                    result.results.append(runner._finish(change, "skipped", "skipped", reason))
                continue
            todo = [c for c in changes if (c.address, c.action) not in done]
            for change in changes:
                if (change.address, change.action) in done:
                    result.results.append(runner._finish(change, "applied", message=DONE_BEFORE))
            outcomes = list(pool.map(runner.run_one, todo))
            result.results.extend(outcomes)
            failed = next((r for r in outcomes if r.status == "failed"), None)
    return result
