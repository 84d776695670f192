"""`/ip-ranges`: list (with the caller's IP), create, change, delete."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from reconciler.emulator import audit, schemas
from reconciler.emulator import ranges as rules
from reconciler.emulator.auth import CallerDep, StateDep, Writer, WriterDep
from reconciler.emulator.mutations import Result, check_if_match, json_response, run_change
from reconciler.emulator.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor
from reconciler.emulator.pagination import page as make_page
from reconciler.emulator.problems import error_responses
from reconciler.emulator.routes.common import IdempotencyKey, IfMatch

router = APIRouter()


def _record(
    conn: sqlite3.Connection,
    writer: Writer,
    action: str,
    view: dict[str, Any],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    c = writer.caller
    audit.record(
        conn,
        org_n=c.org_n,
        actor=c.email,
        ip=c.ip,
        annotation=writer.annotation,
        action=action,
        target={"type": "ip_range", "id": view["id"], "name": view["name"]},
        before=before,
        after=after,
    )


def _fields(view: dict[str, Any]) -> dict[str, Any]:
    return {"name": view["name"], "cidr": view["cidr"]}


@router.get("/ip-ranges", response_model=schemas.IpRangePage, responses=error_responses())
def list_ranges(
    caller: CallerDep,
    state: StateDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    rules.require_plan(caller)
    after = decode_cursor("ip-ranges", cursor)
    with state.db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM ip_ranges WHERE org_n = ? AND n > ? ORDER BY n LIMIT ?",
            (caller.org_n, after, limit + 1),
        ).fetchall()
    body = make_page("ip-ranges", rows, limit, [rules.range_view(r) for r in rows[:limit]])
    body["caller_ip"] = caller.ip
    return json_response(200, body)


@router.post(
    "/ip-ranges", status_code=201, response_model=schemas.IpRange, responses=error_responses([409])
)
def create_range(
    body: schemas.IpRangeCreate,
    writer: WriterDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    rules.require_plan(caller)
    name = body.name.strip()

    def change(conn: sqlite3.Connection) -> Result:
        cidr = rules.strict_cidr(body.cidr)
        rules.check_unique_name(conn, caller.org_n, name)
        rules.check_limit(conn, caller.org_n)
        rules.check_lockout(caller, [*rules.other_cidrs(conn, caller.org_n), cidr], "this range")
        n = conn.execute(
            "INSERT INTO ip_ranges (org_n, name, cidr) VALUES (?, ?, ?)", (caller.org_n, name, cidr)
        ).lastrowid
        row = conn.execute("SELECT * FROM ip_ranges WHERE n = ?", (n,)).fetchone()
        view = rules.range_view(row)
        _record(conn, writer, "ip_range.created", view, None, _fields(view))
        return Result(201, view, view["etag"])

    return run_change(
        state,
        writer,
        method="POST",
        path="/ip-ranges",
        payload=body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        change=change,
    )


@router.get("/ip-ranges/{range_id}", response_model=schemas.IpRange, responses=error_responses())
def get_range(range_id: str, caller: CallerDep, state: StateDep) -> Response:
    rules.require_plan(caller)
    with state.db.read() as conn:
        view = rules.range_view(rules.load_range(conn, caller.org_n, range_id))
    return json_response(200, view, view["etag"])


@router.patch(
    "/ip-ranges/{range_id}",
    response_model=schemas.IpRange,
    responses=error_responses([409, 412]),
)
def patch_range(
    range_id: str,
    body: schemas.IpRangePatch,
    writer: WriterDep,
    state: StateDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    rules.require_plan(caller)

    def change(conn: sqlite3.Connection) -> Result:
        row = rules.load_range(conn, caller.org_n, range_id)
        before = rules.range_view(row)
        check_if_match(if_match, before["etag"])
        name = body.name.strip() if body.name is not None else row["name"]
        cidr = rules.strict_cidr(body.cidr) if body.cidr is not None else row["cidr"]
        if name == row["name"] and cidr == row["cidr"]:
            return Result(200, before, before["etag"])
        rules.check_unique_name(conn, caller.org_n, name, row["n"])
        others = rules.other_cidrs(conn, caller.org_n, row["n"])
        rules.check_lockout(caller, [*others, cidr], "this change", row["cidr"])
        conn.execute(
            "UPDATE ip_ranges SET name = ?, cidr = ?, version = version + 1 WHERE n = ?",
            (name, cidr, row["n"]),
        )
        after = rules.range_view(rules.load_range(conn, caller.org_n, range_id))
        keys = [k for k in ("name", "cidr") if before[k] != after[k]]
        _record(
            conn,
            writer,
            "ip_range.updated",
            after,
            {k: before[k] for k in keys},
            {k: after[k] for k in keys},
        )
        return Result(200, after, after["etag"])

    return run_change(
        state,
        writer,
        method="PATCH",
        path=f"/ip-ranges/{range_id}",
        payload=body.model_dump(mode="json", exclude_unset=True),
        idempotency_key=idempotency_key,
        change=change,
    )


@router.delete(
    "/ip-ranges/{range_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses([409, 412]),
)
def delete_range(
    range_id: str,
    writer: WriterDep,
    state: StateDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    rules.require_plan(caller)

    def change(conn: sqlite3.Connection) -> Result:
        row = rules.load_range(conn, caller.org_n, range_id)
        before = rules.range_view(row)
        check_if_match(if_match, before["etag"])
        others = rules.other_cidrs(conn, caller.org_n, row["n"])
        rules.check_lockout(caller, others, "deleting it", row["cidr"])
        conn.execute("DELETE FROM ip_ranges WHERE n = ?", (row["n"],))
        _record(conn, writer, "ip_range.deleted", before, _fields(before), None)
        return Result(204)

    return run_change(
        state,
        writer,
        method="DELETE",
        path=f"/ip-ranges/{range_id}",
        payload=None,
        idempotency_key=idempotency_key,
        change=change,
    )
