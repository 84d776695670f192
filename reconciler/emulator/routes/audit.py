"""`/audit-events`: every change, with before/after, actor, IP and the caller's annotation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Query
from starlette.responses import Response

from reconciler.emulator import schemas
from reconciler.emulator.audit import event_view
from reconciler.emulator.auth import CallerDep, StateDep
from reconciler.emulator.mutations import json_response
from reconciler.emulator.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor
from reconciler.emulator.pagination import page as make_page
from reconciler.emulator.problems import error_responses, invalid

router = APIRouter()

SinceQuery = Annotated[
    str | None,
    Query(description="Only events at or after this ISO 8601 time (or date), e.g. 2026-01-31."),
]


ACTIONS: tuple[str, ...] = get_args(schemas.AuditAction)
ActionQuery = Annotated[
    list[str] | None,
    Query(description="Only events with this action (repeatable: any of them), e.g. login."),
]


def _actions(values: list[str] | None) -> list[str]:
    for value in values or []:
        if value not in ACTIONS:
            raise invalid("action", f"action={value!r} is not one of {', '.join(ACTIONS)}")
    return list(dict.fromkeys(values or []))


def _since(value: str | None) -> str:
    if value is None:
        return ""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid("since", f"since={value!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@router.get("/audit-events", response_model=schemas.AuditEventPage, responses=error_responses())
def list_events(
    caller: CallerDep,
    state: StateDep,
    since: SinceQuery = None,
    action: ActionQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    after = decode_cursor("audit-events", cursor)
    start = _since(since)
    actions = _actions(action)
    only = f" AND action IN ({', '.join('?' * len(actions))})" if actions else ""
    with state.db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM audit_events WHERE org_n = ? AND n > ? AND at >= ?"
            + only
            + " ORDER BY n LIMIT ?",
            (caller.org_n, after, start, *actions, limit + 1),
        ).fetchall()
    return json_response(
        200, make_page("audit-events", rows, limit, [event_view(r) for r in rows[:limit]])
    )
