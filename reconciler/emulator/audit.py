"""Audit events and the `X-Audit-Annotation` header that travels onto them."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.problems import Problem

MAX_ANNOTATION_BYTES = 4096


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_annotation(header: str | None) -> str | None:
    """Validate the header: a compact JSON object of at most 4096 bytes. Returns it verbatim."""
    if header is None:
        return None
    try:  # HTTP headers arrive as latin-1; clients may send UTF-8 bytes
        raw = header.encode("latin-1")
        text = raw.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raw, text = header.encode("utf-8"), header
    if len(raw) > MAX_ANNOTATION_BYTES:
        raise Problem(
            "invalid_annotation",
            f"X-Audit-Annotation is {len(raw)} bytes; at most {MAX_ANNOTATION_BYTES} are allowed",
        )
    try:
        value = json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        raise Problem("invalid_annotation", f"X-Audit-Annotation is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Problem("invalid_annotation", "X-Audit-Annotation must be a JSON object")
    if not _is_compact(text):
        raise Problem(
            "invalid_annotation",
            "X-Audit-Annotation must be compact JSON (no whitespace outside strings)",
        )
    return text


def _is_compact(text: str) -> bool:
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in " \t\r\n":
            return False
    return True


def record(
    conn: sqlite3.Connection,
    *,
    org_n: int,
    actor: str,
    ip: str,
    action: str,
    target: dict[str, str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    annotation: str | None,
) -> None:
    conn.execute(
        "INSERT INTO audit_events (org_n, at, actor, action, target, before, after, annotation, ip)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            org_n,
            now_iso(),
            actor,
            action,
            json.dumps(target),
            None if before is None else json.dumps(before),
            None if after is None else json.dumps(after),
            annotation,
            ip,
        ),
    )


def event_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": f"evt_{row['n']}",
        "at": row["at"],
        "actor": row["actor"],
        "action": row["action"],
        "target": json.loads(row["target"]),
        "before": None if row["before"] is None else json.loads(row["before"]),
        "after": None if row["after"] is None else json.loads(row["after"]),
        "annotation": None if row["annotation"] is None else json.loads(row["annotation"]),
        "ip": row["ip"],
    }


def _not_json(name: str) -> Any:
    """Python's reader takes NaN and Infinity; JSON has neither (the audit log must stay JSON)."""
    raise ValueError(f"{name} is not a JSON value")
