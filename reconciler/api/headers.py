"""The headers of a request: the client's own on every request (User-Agent, Accept, no
compression), and those of a write (`If-Match`, `Idempotency-Key`, `X-Audit-Annotation`), which
the client sends and `--dry-run` prints (`reconciler.apply.dryrun`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler import __version__
from reconciler.errors import AccessctlError

USER_AGENT = f"accessctl/{__version__}"


def request_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every header of a request but the auth: the client's own, then `extra`."""
    return {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": "identity",  # the size cap counts the bytes that arrive
        **(extra or {}),
    }


def _ascii_annotation(annotation: str) -> str:
    """Header values travel as Latin-1; keep JSON annotations pure ASCII (same meaning)."""
    if annotation.isascii():
        return annotation
    try:
        return json.dumps(json.loads(annotation), separators=(",", ":"), ensure_ascii=True)
    except ValueError:
        raise AccessctlError("The audit annotation is not ASCII and not JSON.") from None


def write_headers(
    *,
    annotation: str | None,
    if_match: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, str]:
    """The headers of a write request beyond the client's own (User-Agent, Accept, auth): the
    client sends them, and `--dry-run` prints them (`reconciler.apply.dryrun`)."""
    headers: dict[str, str] = {}
    if if_match is not None:
        headers["If-Match"] = if_match
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if annotation is not None:
        headers["X-Audit-Annotation"] = _ascii_annotation(annotation)
    return headers
