"""`/me`, `/organization` and `/stores`."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from reconciler.emulator import audit, schemas
from reconciler.emulator.auth import CallerDep, StateDep, WriterDep
from reconciler.emulator.mutations import (
    Result,
    check_if_match,
    etag_of,
    json_response,
    run_change,
)
from reconciler.emulator.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor
from reconciler.emulator.pagination import page as make_page
from reconciler.emulator.problems import error_responses
from reconciler.emulator.routes.common import IdempotencyKey, IfMatch

router = APIRouter()


def organization_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": f"org_{row['n']}",
        "name": row["name"],
        "plan": row["plan"],
        "technical_support_access": bool(row["technical_support_access"]),
        "etag": etag_of("organization", row["n"], row["version"]),
    }


@router.get("/me", response_model=schemas.Me, responses=error_responses())
def get_me(caller: CallerDep) -> dict[str, Any]:
    return {
        "email": caller.email,
        "role": caller.role,
        "organization_id": caller.org_id,
        "ip": caller.ip,
    }


@router.get("/organization", response_model=schemas.Organization, responses=error_responses())
def get_organization(caller: CallerDep, state: StateDep) -> Response:
    with state.db.read() as conn:
        row = conn.execute("SELECT * FROM organizations WHERE n = ?", (caller.org_n,)).fetchone()
    view = organization_view(row)
    return json_response(200, view, view["etag"])


@router.patch(
    "/organization", response_model=schemas.Organization, responses=error_responses([409, 412])
)
def patch_organization(
    body: schemas.OrganizationPatch,
    writer: WriterDep,
    state: StateDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    org_n = writer.caller.org_n

    def change(conn: sqlite3.Connection) -> Result:
        row = conn.execute("SELECT * FROM organizations WHERE n = ?", (org_n,)).fetchone()
        before = organization_view(row)
        check_if_match(if_match, before["etag"])
        if bool(row["technical_support_access"]) == body.technical_support_access:
            return Result(200, before, before["etag"])
        conn.execute(
            "UPDATE organizations SET technical_support_access = ?, version = version + 1"
            " WHERE n = ?",
            (int(body.technical_support_access), org_n),
        )
        row = conn.execute("SELECT * FROM organizations WHERE n = ?", (org_n,)).fetchone()
        after = organization_view(row)
        audit.record(
            conn,
            org_n=org_n,
            actor=writer.caller.email,
            ip=writer.caller.ip,
            action="organization.updated",
            target={"type": "organization", "id": after["id"], "name": after["name"]},
            before={"technical_support_access": before["technical_support_access"]},
            after={"technical_support_access": after["technical_support_access"]},
            annotation=writer.annotation,
        )
        return Result(200, after, after["etag"])

    return run_change(
        state,
        writer,
        method="PATCH",
        path="/organization",
        payload=body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        change=change,
    )


@router.get("/stores", response_model=schemas.StorePage, responses=error_responses())
def list_stores(
    caller: CallerDep,
    state: StateDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    after = decode_cursor("stores", cursor)
    with state.db.read() as conn:
        rows = conn.execute(
            "SELECT n, id, name FROM stores WHERE org_n = ? AND n > ? ORDER BY n LIMIT ?",
            (caller.org_n, after, limit + 1),
        ).fetchall()
    items = [{"id": r["id"], "name": r["name"], "etag": etag_of("store", r["n"], 1)} for r in rows]
    return json_response(200, make_page("stores", rows, limit, items))
