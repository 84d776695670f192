"""A call that failed, as the `ApiError` a person reads: an error answer (its problem+json, with
a hint), or a transport failure (what went wrong on the way, and where to look). Every text
that came from the server or the transport is passed through `redact`."""

from __future__ import annotations

from collections.abc import Callable

import requests
from urllib3.exceptions import MaxRetryError

from reconciler.api.problems import describe, hint_for, problem_from_response
from reconciler.api.retry import connection_refused
from reconciler.errors import ApiError, ApiProblem


def http_error(
    method: str,
    path: str,
    response: requests.Response,
    *,
    attempts: int,
    gave_up: bool,
    redact: Callable[[str], str],
    display_url: str,
    token_env: str | None,
) -> ApiError:
    raw = problem_from_response(response)
    problem = ApiProblem(
        status=raw.status,
        code=raw.code,
        title=redact(raw.title),
        detail=redact(raw.detail),
        errors=tuple((redact(f), redact(m)) for f, m in raw.errors),
    )
    message = describe(method, path, problem)
    if gave_up and attempts > 1:
        message += f" (gave up after {attempts} attempts)"
    return ApiError(
        message,
        status=problem.status,
        code=problem.code,
        problem=problem,
        hint=hint_for(problem, base_url=display_url, token_env=token_env),
        attempts=attempts,
    )


def transport_error(
    method: str,
    path: str,
    failure: requests.RequestException,
    *,
    attempts: int,
    replay_blocked: bool,
    timeout: float,
    redact: Callable[[str], str],
    display_url: str,
) -> ApiError:
    reason = redact(transport_reason(failure, timeout))
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(failure, requests.exceptions.SSLError):
        hint = "The TLS handshake failed: check the URL's scheme and the server certificate."
    elif isinstance(failure, requests.ConnectionError | requests.Timeout):
        hint = (
            f"Check that the access API at {display_url} is up and reachable from "
            "here (api.url in the config, or --api-url / ACCESSCTL_API_URL)."
        )
    else:
        hint = None
    if replay_blocked:
        reason += " (not retried: the request may have taken effect; no idempotency key)"
    if connection_refused(failure):
        reason = f"connection refused by {display_url}"
    return ApiError(
        f"{method} {path}: could not reach the access API{tries}: {reason}",
        code="connection_error",
        hint=hint,
        attempts=attempts,
    )


def transport_reason(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"connecting timed out after {timeout:g}s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g}s"
    reason: object = exc.args[0] if exc.args else exc
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason)
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1]
    text = " ".join(text.split())
    return text[:200] if text else type(exc).__name__
