"""Opaque keyset cursors: a page costs O(page), never O(everything before it)."""

from __future__ import annotations

import base64
import binascii
import json
import random
from typing import Annotated, Any

from fastapi import Query

from reconciler.emulator.problems import invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 200

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 100, at most 200).")
]
CursorQuery = Annotated[
    str | None, Query(description="`next_cursor` from the previous page; opaque.")
]

_shuffle = random.Random()


def encode_cursor(kind: str, after: int) -> str:
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The last internal id seen (0 for the first page); 422 for anything not ours."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        after = data["a"]
        if data["k"] != kind or type(after) is not int or not 0 <= after < 2**63:
            raise ValueError(kind)  # not ours: a bool, a negative, or past SQLite's integers
        return int(data["a"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("cursor", "unknown cursor: pass `next_cursor` from a previous page") from None


def page(kind: str, rows: list[Any], limit: int, items: list[Any]) -> dict[str, Any]:
    """`rows` were fetched with LIMIT limit+1 ordered by `n`; `items` are their views."""
    more = len(rows) > limit
    items = items[:limit]
    next_cursor = encode_cursor(kind, int(rows[limit - 1]["n"])) if more else None
    _shuffle.shuffle(items)  # order is not part of the contract: keep clients honest
    return {"items": items, "next_cursor": next_cursor}
