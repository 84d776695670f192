"""Allowed IP ranges: strict CIDR, unique names, at most 50, and no change that locks you out."""

from __future__ import annotations

import ipaddress
import re
import sqlite3
from typing import Any

from reconciler.emulator.auth import Caller, ip_in_any
from reconciler.emulator.mutations import etag_of
from reconciler.emulator.problems import Problem, invalid
from reconciler.emulator.users import parse_id
from reconciler.model import MAX_IP_RANGES


def range_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": f"rng_{row['n']}",
        "name": row["name"],
        "cidr": row["cidr"],
        "etag": etag_of("ip_range", row["n"], row["version"]),
    }


def require_plan(caller: Caller) -> None:
    if caller.plan != "ultimate":
        raise Problem(
            "plan_required",
            f"allowed IP ranges need the ultimate plan; {caller.org_name} is on {caller.plan}",
        )


_NOTATION = re.compile(r"^[0-9A-Fa-f:.]+/(?:0|[1-9][0-9]{0,2})$")


def strict_cidr(value: str) -> str:
    """The canonical network, or 422 naming the network to use when host bits are set."""
    text = value.strip()
    if not _NOTATION.match(text):  # `10.1.2.3` or `/08` would parse, and be stored changed
        raise invalid("cidr", f"{value!r} is not CIDR notation: write it like 203.0.113.0/24")
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise invalid(
            "cidr", f"{value!r} is not CIDR notation: write it like 203.0.113.0/24"
        ) from None
    raise invalid("cidr", f"host bits are set in {text}: use {network}")


def load_range(conn: sqlite3.Connection, org_n: int, range_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM ip_ranges WHERE org_n = ? AND n = ?", (org_n, parse_id("rng_", range_id))
    ).fetchone()
    if not isinstance(row, sqlite3.Row):
        raise Problem("not_found", f"no IP range {range_id} in this organization")
    return row


def check_unique_name(conn: sqlite3.Connection, org_n: int, name: str, own_n: int = 0) -> None:
    if conn.execute(
        "SELECT 1 FROM ip_ranges WHERE org_n = ? AND name = ? AND n != ?", (org_n, name, own_n)
    ).fetchone():
        raise invalid("name", f"an IP range named {name!r} already exists: pick another name")


def check_limit(conn: sqlite3.Connection, org_n: int) -> None:
    count = conn.execute("SELECT count(*) FROM ip_ranges WHERE org_n = ?", (org_n,)).fetchone()[0]
    if count >= MAX_IP_RANGES:
        raise Problem(
            "limit_exceeded",
            f"an organization has at most {MAX_IP_RANGES} IP ranges; remove one first",
        )


def check_lockout(caller: Caller, cidrs: list[str], what: str, held: str | None = None) -> None:
    """The ranges after the change must still hold the caller's IP when any are left, and when
    the changed range `held` (its CIDR before the change) holds it, even if none are left (the
    seed: "To delete a range that includes your current IP address, your IP address must be
    included in at least one other existing allowed range")."""
    holds_caller = held is not None and ip_in_any(caller.ip, [held])
    if (cidrs or holds_caller) and not ip_in_any(caller.ip, cidrs):
        raise Problem(
            "lockout",
            f"{what} would leave your IP address {caller.ip} outside every allowed range; "
            "add a range that holds it first"
            + ("" if cidrs else ": an allow list that holds your IP cannot be emptied"),
        )


def other_cidrs(conn: sqlite3.Connection, org_n: int, except_n: int = 0) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT cidr FROM ip_ranges WHERE org_n = ? AND n != ?", (org_n, except_n)
        )
    ]
