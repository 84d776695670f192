"""Users: reading them, and the platform's rules on inviting, changing and removing them."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from reconciler.emulator.auth import Caller
from reconciler.emulator.mutations import etag_of
from reconciler.emulator.problems import Problem, invalid
from reconciler.roles import Role

SEP = "\x1f"
USER_SELECT = (
    "SELECT u.*, (SELECT group_concat(store_id, char(31)) FROM user_stores"
    " WHERE user_n = u.n) AS store_ids FROM users u"
)
SA = Role.SUPER_ADMIN.value
EXTERNAL = Role.EXTERNAL_USER.value
TERMINATED = Role.TERMINATED.value


def user_view(row: sqlite3.Row, today: date) -> dict[str, Any]:
    expires = row["expires_at"]
    if row["type"] == "external" and expires is not None and date.fromisoformat(expires) <= today:
        status = "expired"
    else:
        status = "active" if row["accepted"] else "invited"
    ids = row["store_ids"]
    return {
        "id": f"usr_{row['n']}",
        "email": row["email"],
        "type": row["type"],
        "role": row["role"],
        "stores": sorted(ids.split(SEP)) if ids else [],
        "expires_at": expires,
        "status": status,
        "etag": etag_of("user", row["n"], row["version"]),
    }


def parse_id(prefix: str, value: str) -> int:
    """`usr_12` -> 12; anything else is a 404."""
    digits = value.removeprefix(prefix)
    if digits == value or not digits.isdigit() or len(digits) > 18:
        raise Problem("not_found", f"no such object: {value}")
    return int(digits)


def load_user(conn: sqlite3.Connection, org_n: int, user_id: str) -> sqlite3.Row:
    row = conn.execute(
        USER_SELECT + " WHERE u.org_n = ? AND u.n = ?", (org_n, parse_id("usr_", user_id))
    ).fetchone()
    if not isinstance(row, sqlite3.Row):
        raise Problem("not_found", f"no user {user_id} in this organization")
    return row


def check_type_rules(
    user_type: str, role: str, expires_at: date | None, today: date, *, changing: bool
) -> None:
    """External users are `External User` with a future expiry; internal users never expire."""
    if role == TERMINATED:
        what = "assigned" if changing else "invited"
        raise invalid("role", f"the Terminated role is set by the platform and cannot be {what}")
    if user_type == "external":
        if role != EXTERNAL:
            raise invalid("role", f"external users have the role {EXTERNAL!r}, not {role!r}")
        if expires_at is None:
            raise invalid("expires_at", "external users need an expiry date (expires_at)")
        if expires_at <= today:
            raise invalid(
                "expires_at", f"expires_at must be in the future (after {today.isoformat()})"
            )
    else:
        if role == EXTERNAL:
            raise invalid(
                "role", f"{EXTERNAL!r} is the role of external users: invite with type external"
            )
        if expires_at is not None:
            raise invalid("expires_at", "internal users do not expire: leave expires_at out")


def check_stores(conn: sqlite3.Connection, org_n: int, stores: list[str]) -> None:
    known = {r[0] for r in conn.execute("SELECT id FROM stores WHERE org_n = ?", (org_n,))}
    unknown = sorted(set(stores) - known)
    if unknown:
        raise invalid("stores", f"unknown stores: {', '.join(unknown)}")


def check_super_admin_change(caller: Caller, old_role: str | None, new_role: str | None) -> None:
    """Only a Super Admin grants or revokes Super Admin."""
    touches = SA in (old_role, new_role) and old_role != new_role
    if touches and not caller.is_super_admin:
        verb = "grant" if new_role == SA else "revoke"
        raise Problem("forbidden", f"only a Super Admin may {verb} the Super Admin role")


def check_last_super_admin(conn: sqlite3.Connection, org_n: int, email: str) -> None:
    count = conn.execute(
        "SELECT count(*) FROM users WHERE org_n = ? AND role = ?", (org_n, SA)
    ).fetchone()[0]
    if count <= 1:
        raise Problem(
            "last_super_admin",
            f"{email} is the last Super Admin of this organization: promote another user first",
        )


def check_role_conflict(conn: sqlite3.Connection, org_n: int, email: str, role: str) -> None:
    """One role per email across every store of every organization."""
    row = conn.execute(
        "SELECT u.role, o.name FROM users u JOIN organizations o ON o.n = u.org_n"
        " WHERE u.email = ? AND u.org_n != ? AND u.role != ? LIMIT 1",
        (email, org_n, role),
    ).fetchone()
    if row is not None:
        raise Problem(
            "role_conflict",
            f"{email} already holds the role {row['role']!r} in organization {row['name']}; "
            f"an email has one role everywhere: use {row['role']!r}, or remove it there first",
        )
