"""`/users`: list, read, invite, change, remove."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from reconciler.emulator import audit, schemas
from reconciler.emulator import users as rules
from reconciler.emulator.auth import CallerDep, StateDep, Writer, WriterDep
from reconciler.emulator.mutations import Result, check_if_match, json_response, run_change
from reconciler.emulator.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, decode_cursor
from reconciler.emulator.pagination import page as make_page
from reconciler.emulator.problems import Problem, error_responses, invalid
from reconciler.emulator.routes.common import IdempotencyKey, IfMatch
from reconciler.model import normalise_email

router = APIRouter()
_FIELDS = ("email", "type", "role", "stores", "expires_at", "status")


def _snapshot(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in _FIELDS}


def _target(view: dict[str, Any]) -> dict[str, str]:
    return {"type": "user", "id": view["id"], "name": view["email"]}


def _record(conn: sqlite3.Connection, writer: Writer, action: str, **kw: Any) -> None:
    c = writer.caller
    audit.record(
        conn,
        org_n=c.org_n,
        actor=c.email,
        ip=c.ip,
        annotation=writer.annotation,
        action=action,
        **kw,
    )


@router.get("/users", response_model=schemas.UserPage, responses=error_responses())
def list_users(
    caller: CallerDep,
    state: StateDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    after = decode_cursor("users", cursor)
    today = state.clock.today()
    with state.db.read() as conn:
        rows = conn.execute(
            rules.USER_SELECT + " WHERE u.org_n = ? AND u.n > ? ORDER BY u.n LIMIT ?",
            (caller.org_n, after, limit + 1),
        ).fetchall()
    items = [rules.user_view(r, today) for r in rows[:limit]]
    return json_response(200, make_page("users", rows, limit, items))


@router.get("/users/{user_id}", response_model=schemas.User, responses=error_responses())
def get_user(user_id: str, caller: CallerDep, state: StateDep) -> Response:
    with state.db.read() as conn:
        view = rules.user_view(rules.load_user(conn, caller.org_n, user_id), state.clock.today())
    return json_response(200, view, view["etag"])


@router.post(
    "/users",
    status_code=201,
    response_model=schemas.User,
    responses=error_responses([409]),
)
def invite_user(
    body: schemas.UserCreate,
    writer: WriterDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    today = state.clock.today()
    email = normalise_email(body.email)
    role = body.role.value if body.role else None
    if role is None:
        if body.type == "internal":
            raise invalid("role", "internal users need a role")
        role = rules.EXTERNAL
    stores = list(dict.fromkeys(body.stores))

    def change(conn: sqlite3.Connection) -> Result:
        rules.check_type_rules(body.type, role, body.expires_at, today, changing=False)
        rules.check_stores(conn, caller.org_n, stores)
        rules.check_super_admin_change(caller, None, role)
        if conn.execute(
            "SELECT 1 FROM users WHERE org_n = ? AND email = ?", (caller.org_n, email)
        ).fetchone():
            raise Problem("user_exists", f"{email} is already a user of this organization")
        rules.check_role_conflict(conn, caller.org_n, email, role)
        expires = body.expires_at.isoformat() if body.expires_at else None
        n = conn.execute(
            "INSERT INTO users (org_n, email, type, role, expires_at) VALUES (?, ?, ?, ?, ?)",
            (caller.org_n, email, body.type, role, expires),
        ).lastrowid
        assert n is not None
        conn.executemany(
            "INSERT INTO user_stores (user_n, store_id) VALUES (?, ?)", [(n, s) for s in stores]
        )
        conn.execute(
            "INSERT INTO outbox (org_n, email, user_id, role, sent_at) VALUES (?, ?, ?, ?, ?)",
            (caller.org_n, email, f"usr_{n}", role, audit.now_iso()),
        )
        view = rules.user_view(rules.load_user(conn, caller.org_n, f"usr_{n}"), today)
        _record(
            conn, writer, "user.invited", target=_target(view), before=None, after=_snapshot(view)
        )
        return Result(201, view, view["etag"])

    return run_change(
        state,
        writer,
        method="POST",
        path="/users",
        payload=body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        change=change,
    )


@router.patch(
    "/users/{user_id}", response_model=schemas.User, responses=error_responses([409, 412])
)
def patch_user(
    user_id: str,
    body: schemas.UserPatch,
    writer: WriterDep,
    state: StateDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    today = state.clock.today()
    fields = body.model_fields_set

    def change(conn: sqlite3.Connection) -> Result:
        row = rules.load_user(conn, caller.org_n, user_id)
        before = rules.user_view(row, today)
        check_if_match(if_match, before["etag"])
        if row["role"] == rules.TERMINATED:
            raise invalid("role", "Terminated users are managed by the platform: no changes")
        if "type" in fields and body.type is not None and body.type != row["type"]:
            raise invalid("type", "a user's type cannot change: remove the user and invite again")
        role = body.role.value if "role" in fields and body.role is not None else row["role"]
        expires = body.expires_at if "expires_at" in fields else _date(row["expires_at"])
        if "role" in fields or "expires_at" in fields:
            rules.check_type_rules(row["type"], role, expires, today, changing=True)
        stores = before["stores"]
        if "stores" in fields and body.stores is not None:
            stores = list(dict.fromkeys(body.stores))
            rules.check_stores(conn, caller.org_n, stores)
        if role != row["role"]:
            rules.check_super_admin_change(caller, row["role"], role)  # 403 before 409
            if row["role"] == rules.SA:
                rules.check_last_super_admin(conn, caller.org_n, row["email"])
            rules.check_role_conflict(conn, caller.org_n, row["email"], role)
        new_expires = expires.isoformat() if expires else None
        changed_stores = sorted(stores) != before["stores"]
        if role == row["role"] and new_expires == row["expires_at"] and not changed_stores:
            return Result(200, before, before["etag"])
        conn.execute(
            "UPDATE users SET role = ?, expires_at = ?, version = version + 1 WHERE n = ?",
            (role, new_expires, row["n"]),
        )
        if changed_stores:
            conn.execute("DELETE FROM user_stores WHERE user_n = ?", (row["n"],))
            conn.executemany(
                "INSERT INTO user_stores (user_n, store_id) VALUES (?, ?)",
                [(row["n"], s) for s in stores],
            )
        after = rules.user_view(rules.load_user(conn, caller.org_n, user_id), today)
        keys = [k for k in ("role", "stores", "expires_at", "status") if before[k] != after[k]]
        _record(
            conn,
            writer,
            "user.updated",
            target=_target(after),
            before={k: before[k] for k in keys},
            after={k: after[k] for k in keys},
        )
        return Result(200, after, after["etag"])

    return run_change(
        state,
        writer,
        method="PATCH",
        path=f"/users/{user_id}",
        payload=body.model_dump(mode="json", exclude_unset=True),
        idempotency_key=idempotency_key,
        change=change,
    )


@router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses([409, 412]),
)
def delete_user(
    user_id: str,
    writer: WriterDep,
    state: StateDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    caller = writer.caller
    today = state.clock.today()

    def change(conn: sqlite3.Connection) -> Result:
        row = rules.load_user(conn, caller.org_n, user_id)
        before = rules.user_view(row, today)
        check_if_match(if_match, before["etag"])
        if row["n"] == caller.user_n:
            raise Problem("self_removal", "you cannot remove yourself: ask another administrator")
        if row["role"] == rules.SA:
            rules.check_super_admin_change(caller, rules.SA, None)  # 403 before 409
            rules.check_last_super_admin(conn, caller.org_n, row["email"])
        conn.execute("DELETE FROM user_stores WHERE user_n = ?", (row["n"],))
        conn.execute("DELETE FROM users WHERE n = ?", (row["n"],))
        _record(
            conn,
            writer,
            "user.removed",
            target=_target(before),
            before=_snapshot(before),
            after=None,
        )
        return Result(204)

    return run_change(
        state,
        writer,
        method="DELETE",
        path=f"/users/{user_id}",
        payload=None,
        idempotency_key=idempotency_key,
        change=change,
    )


def _date(value: str | None) -> Any:
    from datetime import date

    return date.fromisoformat(value) if value else None
