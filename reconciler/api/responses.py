"""What accessctl accepts as an answer's body: a JSON object (or nothing). Anything else is an
`invalid_response` error: the server does not follow the access API contract."""

from __future__ import annotations

import json
from typing import Any

import requests

from reconciler.errors import ApiError


def invalid_response(path: str, what: str, method: str = "GET") -> ApiError:
    return ApiError(
        f"{method} {path}: the API answered with something accessctl cannot read: {what}",
        code="invalid_response",
        hint="The server does not follow the access API contract (v1); check the API URL.",
    )


def json_object(method: str, path: str, response: requests.Response) -> dict[str, Any]:
    """The answer's body as a JSON object; `{}` for an empty body."""
    if not response.content:
        return {}
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        data = None
    if not isinstance(data, dict):
        raise invalid_response(path, "the body is not a JSON object", method)
    return data
