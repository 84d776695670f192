"""One attempt of an API call on the wire, within a deadline and a size cap.

`Transport.attempt` sends one request through the client's `requests.Session`, refuses a
redirect (never following it, so no token goes elsewhere), and reads the body whole before the
call's deadline (or the run's, whichever is first) and under the size cap. A `Watchdog` cuts the
connection at the deadline however slowly the status line, headers or body arrive. The result
is an `Answer`: a response, a transport failure to judge for a retry, or a refusal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests.auth

from reconciler.api.body import Refused, read_body
from reconciler.api.limits import CALL_DEADLINE_ENV, MAX_RESPONSE_ENV, RUN_DEADLINE_ENV, Limits
from reconciler.api.watchdog import Watchdog
from reconciler.errors import ApiError

log = logging.getLogger("accessctl.api")


def safe_url(url: str) -> str:
    """The URL without user-info (`user:password@`), query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    url: str
    params: Mapping[str, str | int] | None
    body: Mapping[str, Any] | None
    headers: dict[str, str]


@dataclass
class Answer:
    """One attempt's result: an answer, a transport failure, or a refusal (limit, redirect)."""

    response: requests.Response | None = None
    failure: requests.RequestException | None = None
    refused: ApiError | None = None


class Transport:
    """Sends attempts through `session` with `auth`; `timeout` bounds each socket wait, `limits`
    each attempt and the run, `run_deadline` (monotonic seconds) ends every attempt of the run.
    `redact` masks the token in any text it builds from foreign text. Thread-safe."""

    def __init__(
        self,
        session: requests.Session,
        auth: requests.auth.AuthBase,
        *,
        display_url: str,
        redact: Callable[[str], str],
        timeout: float,
        limits: Limits,
        run_deadline: float | None,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.limits = limits
        self.run_deadline = run_deadline
        self._auth = auth
        self._display_url = display_url
        self._redact = redact
        self._count_lock = threading.Lock()
        self._request_count = 0

    @property
    def request_count(self) -> int:
        """HTTP requests actually attempted, retries included."""
        with self._count_lock:
            return self._request_count

    def attempt(self, request: Request, attempt: int) -> Answer:
        """One HTTP exchange, its body read whole within the deadline and the size cap."""
        try:
            deadline = self._call_deadline(request)
        except Refused as refused:
            return Answer(refused=self._refused_error(refused))
        with self._count_lock:
            self._request_count += 1
        t0 = time.perf_counter()
        answer = Answer()
        try:
            answer.response = self._exchange(request, deadline)
        except requests.RequestException as exc:
            answer.failure = exc
        except Refused as refused:
            answer.refused = self._refused_error(refused)
        elapsed = time.perf_counter() - t0
        if answer.response is not None:
            outcome = str(answer.response.status_code)
        else:
            outcome = type(answer.failure or answer.refused).__name__
        log.debug(
            "%s %s -> %s in %.3fs (attempt %d)",
            request.method,
            request.path,
            outcome,
            elapsed,
            attempt,
        )
        return answer

    def run_hint(self) -> str:
        return (
            f"The access API at {self._display_url} is slow or keeps failing; check it, or "
            f"raise ${RUN_DEADLINE_ENV}."
        )

    def _call_deadline(self, request: Request) -> float:
        """When this attempt must be over: its own deadline, or the run's, whichever is first.
        An attempt that cannot start before the run's deadline is refused."""
        now = time.monotonic()
        deadline = now + self.limits.call_seconds
        if self.run_deadline is not None:
            if self.run_deadline <= now:
                raise Refused(
                    "run_deadline",
                    f"{request.method} {request.path}: not sent: the run used up its budget "
                    f"of {self.limits.run_seconds:g}s for API calls",
                    self.run_hint(),
                )
            deadline = min(deadline, self.run_deadline)
        return deadline

    def _exchange(self, request: Request, deadline: float) -> requests.Response:
        """Send, refuse a redirect, and read the body within the deadline and the size cap.
        A watchdog cuts the connection at the deadline, however slowly the status line, the
        headers or the body arrive (a socket timeout alone restarts with every byte)."""
        with Watchdog(deadline) as watch:
            try:
                response = self._open(request, deadline)
                with closing(response):
                    content = self._read(request, response, deadline)
            except requests.RequestException:
                if not watch.fired:
                    raise
                content = None
            if watch.fired:  # a cut body may have looked complete (a close-delimited answer)
                raise self._late(request, deadline, "no complete answer") from None
        response._content = content  # what `.content`, `.text` and `.json()` read
        return response

    def _open(self, request: Request, deadline: float) -> requests.Response:
        """The answer's status line and headers; a redirect is refused, never followed."""
        wait = max(0.001, min(self.timeout, deadline - time.monotonic()))
        response = self.session.request(
            request.method,
            request.url,
            params=request.params,
            json=request.body,
            headers=request.headers,
            auth=self._auth,
            timeout=(wait, wait),
            stream=True,
            allow_redirects=False,
        )
        if 300 <= response.status_code < 400:
            with closing(response):
                raise self._redirect(request, response)
        return response

    def _read(self, request: Request, response: requests.Response, deadline: float) -> bytes:
        try:
            return read_body(
                response,
                deadline=deadline,
                read_timeout=self.timeout,
                max_bytes=self.limits.max_body_bytes,
            )
        except Refused as refused:
            if refused.code == "deadline":
                raise self._late(request, deadline, refused.message) from None
            raise Refused(
                refused.code,
                f"{request.method} {request.path}: {refused.message}",
                self._limit_hint(refused.code),
            ) from None

    def _late(self, request: Request, deadline: float, what: str) -> Refused:
        """The refusal of an exchange cut at `deadline`: the call's own, or the run's."""
        call = f"{request.method} {request.path}"
        if self.run_deadline is not None and deadline >= self.run_deadline:
            return Refused(
                "run_deadline",
                f"{call}: {what}; stopped: the run used up its budget of "
                f"{self.limits.run_seconds:g}s for API calls",
                self.run_hint(),
            )
        return Refused(
            "deadline",
            f"{call}: {what} within the call's deadline; stopped waiting (deadline "
            f"{self.limits.call_seconds:g}s per call)",
            self._limit_hint("deadline"),
        )

    def _redirect(self, request: Request, response: requests.Response) -> Refused:
        location = response.headers.get("Location", "")
        target = self._redact(safe_url(urljoin(request.url, location))) if location else ""
        where = f" to {target[:200]}" if target else " (without a Location)"
        unknown = (
            "; the outcome is unknown: run `accessctl plan` again to see whether it took effect"
            if request.method != "GET"
            else ""
        )
        return Refused(
            "redirect",
            f"{request.method} {request.path}: the API answered {response.status_code}, a "
            f"redirect{where}; accessctl never follows redirects, so nothing (and no token) was "
            f"sent there{unknown}",
            "Check the API URL (api.url, --api-url or $ACCESSCTL_API_URL): give the address "
            "the API answers at itself, e.g. https:// rather than http://, with the exact path.",
        )

    def _limit_hint(self, code: str) -> str:
        if code == "response_too_large":
            return (
                f"Check that {self._display_url} is the access API; if its answers really are "
                f"this large, raise ${MAX_RESPONSE_ENV}."
            )
        return (
            f"Check that the access API at {self._display_url} answers promptly (a proxy that "
            f"holds answers, or an overloaded server); if it is merely slow, raise "
            f"${CALL_DEADLINE_ENV}."
        )

    def _refused_error(self, refused: Refused) -> ApiError:
        return ApiError(self._redact(refused.message), code=refused.code, hint=refused.hint)
