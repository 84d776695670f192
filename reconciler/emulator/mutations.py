"""How every change runs: one transaction, Idempotency-Key replay, If-Match, the JSON answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from reconciler.emulator.auth import Writer
from reconciler.emulator.problems import Problem
from reconciler.emulator.state import EmulatorState


@dataclass(frozen=True)
class Result:
    status: int
    body: dict[str, Any] | None = None
    etag: str | None = None


def etag_of(kind: str, n: int, version: int) -> str:
    return hashlib.sha256(f"{kind}:{n}:{version}".encode()).hexdigest()[:20]


def json_response(status: int, body: Any, etag: str | None = None) -> Response:
    headers = {"ETag": f'"{etag}"'} if etag else None
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    media = None if body is None else "application/json"
    return Response(content, status_code=status, media_type=media, headers=headers)


def check_if_match(if_match: str | None, current: str) -> None:
    """`If-Match: <etag>` (quoted or not, weak or not, `*`, or a list): 412 when none matches."""
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" in tags or current in tags:
        return
    raise Problem(
        "precondition_failed",
        f"the object changed since you read it (its etag is now {current}); read it again",
    )


def run_change(
    state: EmulatorState,
    writer: Writer,
    *,
    method: str,
    path: str,
    payload: Any,
    idempotency_key: str | None,
    change: Callable[[sqlite3.Connection], Result],
) -> Response:
    """Run `change` in one transaction; with an Idempotency-Key, a replay returns the stored
    first answer and changes nothing (a key reused for a different request is refused)."""
    org_n = writer.caller.org_n
    fingerprint = hashlib.sha256(
        json.dumps([method, path, payload], sort_keys=True, default=str).encode()
    ).hexdigest()
    with state.db.transaction() as conn:
        if idempotency_key is not None:
            row = conn.execute(
                "SELECT fingerprint, status, body, etag FROM idempotency"
                " WHERE org_n = ? AND key = ?",
                (org_n, idempotency_key),
            ).fetchone()
            if row is not None:
                if row["fingerprint"] != fingerprint:
                    raise Problem(
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different request; use a new key",
                    )
                body = None if row["body"] is None else json.loads(row["body"])
                return json_response(row["status"], body, row["etag"])
        result = change(conn)
        if idempotency_key is not None:
            conn.execute(
                "INSERT INTO idempotency (org_n, key, fingerprint, status, body, etag)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    org_n,
                    idempotency_key,
                    fingerprint,
                    result.status,
                    None if result.body is None else json.dumps(result.body),
                    result.etag,
                ),
            )
    return json_response(result.status, result.body, result.etag)
