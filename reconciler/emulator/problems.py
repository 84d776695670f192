"""`application/problem+json` errors: one exception type, one renderer, one OpenAPI schema."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://accessctl.example/problems/"

# code -> (status, title)
CODES: dict[str, tuple[int, str]] = {
    "invalid_annotation": (400, "Invalid audit annotation"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "ip_not_allowed": (403, "IP address not allowed"),
    "plan_required": (403, "Plan upgrade required"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "user_exists": (409, "User exists"),
    "role_conflict": (409, "Role conflict"),
    "last_super_admin": (409, "Last Super Admin"),
    "self_removal": (409, "Self removal"),
    "lockout": (409, "Lockout"),
    "idempotency_key_reused": (409, "Idempotency key reused"),
    "precondition_failed": (412, "Precondition failed"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "invalid": (422, "Invalid request"),
    "limit_exceeded": (422, "Limit exceeded"),
    "rate_limited": (429, "Too many requests"),
    "server_error": (500, "Internal server error"),
    "unavailable": (503, "Service unavailable"),
}


class Problem(Exception):
    """An error answer. Raise it anywhere in a request; the app renders it as problem+json."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title = CODES[code]
        self.code = code
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = [{"field": f, "message": m} for f, m in self.errors]
        return body

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()).encode(),
            status_code=self.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=self.headers,
        )


def invalid(field: str, message: str) -> Problem:
    """A 422 `invalid` naming one field."""
    return Problem("invalid", message, errors=[(field, message)])


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": sorted(CODES)},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# Answers any API endpoint may give: auth, allow list, faults, bad input.
COMMON_STATUSES = (400, 401, 403, 404, 422, 429, 500, 503)


def error_responses(extra: Iterable[int] = ()) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses of one operation."""
    statuses = sorted({*COMMON_STATUSES, *extra})
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        codes = sorted(c for c, (s, _) in CODES.items() if s == status)
        entry: dict[str, Any] = {
            "description": "Problem: " + ", ".join(f"`{c}`" for c in codes),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer"},
                }
            }
        out[status] = entry
    return out
