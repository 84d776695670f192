"""Header parameters shared by the mutating routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="A retried request with the same key returns the first answer, no 2nd effect.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(description="The etag you read: 412 precondition_failed when the object changed."),
]
