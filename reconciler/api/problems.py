"""problem+json answers -> `ApiProblem` values, and the hints that tell a person what to do."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import requests

from reconciler.errors import ApiProblem

_IP_CANDIDATE = re.compile(r"[0-9A-Fa-f.:]*[.:][0-9A-Fa-f.:]+")
_MAX_DETAIL = 300

# The codes a non-problem answer gets, so callers can still branch on `code`.
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def problem_from_response(response: requests.Response) -> ApiProblem:
    """Read an error answer. Tolerates implementations that send plain JSON or text."""
    status = response.status_code
    body = _body(response)
    fallback_code = _STATUS_CODES.get(status, f"http_{status}")
    if not isinstance(body, dict):
        text = "" if body is not None else response.text if response.content else ""
        return ApiProblem(
            status=status,
            code=fallback_code,
            title=response.reason or "",
            detail=_short(text) if text else (response.reason or ""),
        )
    errors: list[tuple[str, str]] = []
    raw_errors = body.get("errors")
    if isinstance(raw_errors, list):
        for item in raw_errors:
            if isinstance(item, dict):
                errors.append((str(item.get("field", "")), str(item.get("message", ""))))
    code = body.get("code")
    title = body.get("title")
    detail = body.get("detail")
    return ApiProblem(
        status=status,
        code=str(code) if isinstance(code, str) and code else fallback_code,
        title=str(title) if title is not None else (response.reason or ""),
        detail=_short(str(detail)) if detail is not None else "",
        errors=tuple(errors),
    )


def caller_ip_from(detail: str) -> str | None:
    """The first IP address written in a problem's detail (`ip_not_allowed` shows the caller's)."""
    for candidate in _IP_CANDIDATE.findall(detail):
        try:
            return str(ipaddress.ip_address(candidate.strip(".:")))
        except ValueError:
            continue
    return None


def describe(method: str, path: str, problem: ApiProblem) -> str:
    """`POST /users: 409 role_conflict — <detail>`, with field errors appended."""
    text = problem.detail or problem.title
    message = f"{method} {path}: {problem.status} {problem.code}"
    if text:
        message += f" — {text}"
    # Field errors the detail does not already say (servers often repeat the first one).
    errors = [(f, m) for f, m in problem.errors if m not in text]
    if errors:
        fields = "; ".join(f"{f}: {m}" if f else m for f, m in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        message += f" [{fields}{more}]"
    return message


def hint_for(problem: ApiProblem, *, base_url: str, token_env: str | None) -> str | None:
    """What a person can do about this answer, when we know."""
    where = f"the environment variable {token_env}" if token_env else "the token's variable"
    if problem.status == 401:
        return (
            f"The API token was rejected: it is invalid or expired, or {where} holds the token "
            f"of another environment or organization than {base_url}. Create a new token for "
            "an Admin or Super Admin and store it in that variable (in CI, as a secret)."
        )
    if problem.code == "ip_not_allowed":
        found = caller_ip_from(problem.detail)
        ip = found or "this machine's address"
        cidr = "<ip>/32" if found is None else f"{found}/{32 if ':' not in found else 128}"
        return (
            f"The caller IP {ip} is outside the organization's allowed IP ranges. Run "
            "accessctl from a runner with a fixed egress IP (a self-hosted runner or a NAT "
            f"gateway) and add that address as a range, e.g. `{cidr}`, from a network that "
            "is already allowed."
        )
    if problem.code == "plan_required":
        return (
            "Allowed IP ranges need the ultimate plan. Remove `ip_ranges` from the config for "
            "this organization, or upgrade its plan."
        )
    if problem.status == 403:
        return (
            "The token's principal may not do this: only Super Admin and Admin tokens can "
            "change access, and only a Super Admin can grant or revoke Super Admin."
        )
    if problem.code == "precondition_failed":
        return "The object changed since it was read: run `accessctl plan` again and review."
    if problem.status == 404 and problem.code == "not_found":
        return f"Check the API URL ({base_url}): it should end with the API version, e.g. /api/v1."
    if problem.status == 429:
        return "The API is rate limiting this client: retry later or lower --parallelism."
    if problem.status >= 500:
        return "The access API failed; retry later. If it persists, contact the platform."
    return None
