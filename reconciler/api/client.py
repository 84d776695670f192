"""A thin client for the access API (SPEC §2) around one `requests.Session`.

It knows the transport, not the domain: base URL, bearer auth, User-Agent, timeouts, retries
with backoff that honour `Retry-After`, cursor pagination that fails closed, and problem+json
answers turned into `ApiError`s with a code and a hint. Business rules live elsewhere.

Here are the verbs and the retry loop; one attempt on the wire is `reconciler.api.exchange`,
what is worth retrying `reconciler.api.retry`, the errors a person reads
`reconciler.api.failures`, list pages `reconciler.api.pagination`, the headers
`reconciler.api.headers`.

The token never leaves the client except in the `Authorization` header: it is kept in a
`Secret` (repr `***`, `reconciler.api.auth`), never logged (log lines carry method, path,
status, time and attempt only), and masked in every message built from server or transport text.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import requests

from reconciler.api.auth import REDACTED, BearerAuth, Secret, check_token
from reconciler.api.exchange import Answer, Request, Transport, safe_url
from reconciler.api.failures import http_error, transport_error
from reconciler.api.headers import request_headers, write_headers
from reconciler.api.limits import Limits
from reconciler.api.pagination import ListResult, read_list
from reconciler.api.responses import json_object
from reconciler.api.retry import (
    REFUSED_DELAY_SECONDS,
    REFUSED_RETRIES,
    RateGate,
    Verdict,
    backoff_delay,
    judge_failure,
    judge_status,
)
from reconciler.api.watchdog import WatchedAdapter
from reconciler.errors import AccessctlError, ApiError
from reconciler.redact import register_secret

__all__ = ["AccessApiClient", "ListResult", "write_headers"]

log = logging.getLogger("accessctl.api")


class AccessApiClient:
    """One organization's access API, through one pooled `requests.Session`.

    Safe to share between threads (the apply runs up to 8 workers on one client). A 429's
    `Retry-After` holds every thread of this client, not only the one that saw it.

    `max_retries` counts retries (attempts = retries + 1); `max_retry_seconds` bounds the time
    spent on one call's retries, waits included. `limits` bound each attempt (a total deadline,
    a body size cap) and lists (items, pages); `run_deadline` (monotonic seconds) ends every
    call of the run. `timeout` bounds each socket wait within the deadline. `sleep`, `clock`
    (monotonic seconds) and `rng` (the jitter's source) are injectable so tests run without
    real waiting.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_retry_seconds: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 16,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        limits: Limits | None = None,
        run_deadline: float | None = None,
        token_env: str | None = None,
        on_page: Callable[[str, int], None] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise AccessctlError(
                f"The API URL {safe_url(base_url)!r} must start with http:// or https://."
            )
        self.base_url = base_url.rstrip("/")
        self._display_url = safe_url(self.base_url)
        self._token = Secret(check_token(token))
        register_secret(self._token.reveal())
        self.max_retries = max(0, max_retries)
        self.max_retry_seconds = max_retry_seconds
        self.token_env = token_env  # the variable the token came from; named in hints
        # Told `(path, items so far)` after each list page: how a command shows progress.
        self.on_page = on_page
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._gate = RateGate(clock, sleep)
        self._retried = False  # a retry has been reported
        self._owns_session = session is None
        self._closed = False
        if session is None:
            session = requests.Session()
            adapter = WatchedAdapter(
                pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self._session = session
        self._transport = Transport(
            session,
            BearerAuth(self._token),
            display_url=self._display_url,
            redact=self.redact,
            timeout=timeout,
            limits=limits or Limits(),
            run_deadline=run_deadline,
        )

    # -- plumbing -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"AccessApiClient(base_url={self._display_url!r}, token={REDACTED!r})"

    def __enter__(self) -> AccessApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections; a call made after this (from another thread, say a fetch
        that is no longer wanted) is refused before anything is sent."""
        self._closed = True
        if self._owns_session:
            self._session.close()

    @property
    def timeout(self) -> float:
        """Each socket wait's bound, within the call's deadline."""
        return self._transport.timeout

    @property
    def limits(self) -> Limits:
        return self._transport.limits

    @property
    def run_deadline(self) -> float | None:
        """When every call of the run ends (monotonic seconds), if ever."""
        return self._transport.run_deadline

    @property
    def request_count(self) -> int:
        """HTTP requests actually attempted, retries included."""
        return self._transport.request_count

    def redact(self, text: str) -> str:
        """`text` with the token masked: for any message built from foreign text."""
        return text.replace(self._token.reveal(), REDACTED)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- the public verbs -----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return json_object("GET", path, self._send("GET", path, params=params))

    def list_all(self, path: str, *, page_size: int = 200) -> ListResult:
        """Every item of a list, following `next_cursor` until null. Fails closed: a page
        that fails after its retries raises, never a partial list."""
        return read_list(
            self.get, path, page_size=page_size, limits=self.limits, on_page=self.on_page
        )

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        annotation: str | None = None,
    ) -> dict[str, Any]:
        headers = write_headers(annotation=annotation, idempotency_key=idempotency_key)
        response = self._send("POST", path, body=body, headers=headers)
        return json_object("POST", path, response)

    def patch(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        if_match: str | None = None,
        annotation: str | None = None,
    ) -> dict[str, Any]:
        headers = write_headers(annotation=annotation, if_match=if_match)
        response = self._send("PATCH", path, body=body, headers=headers)
        return json_object("PATCH", path, response)

    def delete(
        self, path: str, *, if_match: str | None = None, annotation: str | None = None
    ) -> None:
        self._send("DELETE", path, headers=write_headers(annotation=annotation, if_match=if_match))

    # -- the retry loop -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        request = Request(method, path, self._url(path), params, body, request_headers(headers))
        # A POST without an idempotency key may have had its effect even when the answer was
        # lost, so it is retried only when the server certainly did not act on it.
        replay_safe = method != "POST" or "Idempotency-Key" in request.headers
        started = self._clock()
        slept = 0.0
        attempt = 0
        maybe_applied = False  # a write that may have taken effect without a clear answer
        while True:
            attempt += 1
            slept += self._gate.wait()
            if self._closed:
                raise AccessctlError(f"{method} {path}: not sent, the client was closed")
            answer = self._transport.attempt(request, attempt)
            if answer.refused is not None:
                answer.refused.maybe_applied = method != "GET"
                raise answer.refused
            if answer.response is not None and answer.response.ok:
                return answer.response
            verdict = _judge(answer, replay_safe)
            maybe_applied |= verdict.maybe_applied
            retries = (
                min(self.max_retries, REFUSED_RETRIES) if verdict.refused else self.max_retries
            )
            budget_spent = False  # a retry was due, but its wait would pass the run's budget
            if verdict.retryable and attempt <= retries:
                delay = self._retry_delay(verdict, attempt)
                spent = max(self._clock() - started, slept)
                budget_spent = not self._within_run(delay)
                if spent + delay <= self.max_retry_seconds and not budget_spent:
                    self._announce_retry(request, verdict.outcome, delay, attempt, retries)
                    if verdict.rate_limited:
                        self._gate.hold(delay)  # every thread of this client waits
                    else:
                        self._sleep(delay)
                        slept += delay
                    continue
            error = self._error(request, answer, attempt, verdict)
            error.maybe_applied = maybe_applied and method != "GET"
            if budget_spent:
                self._not_retried_for_budget(error)
            # Raised outside any `except` block, with the requests objects (which hold the
            # prepared request, Authorization header included) dropped from this frame: neither
            # exception chaining nor a debugger's or error tracker's locals can show the token.
            del answer
            raise error

    def _retry_delay(self, verdict: Verdict, attempt: int) -> float:
        """The server's `Retry-After`, or a backoff; a refused connection waits little."""
        if verdict.retry_after is not None:
            delay = verdict.retry_after
        else:
            delay = backoff_delay(attempt, self._rng)
        return min(delay, REFUSED_DELAY_SECONDS) if verdict.refused else delay

    def _announce_retry(
        self, request: Request, outcome: str, delay: float, attempt: int, retries: int
    ) -> None:
        # The first retry is a warning, shown without -v: a run that waits on an API that does
        # not answer should say so, not hang in silence.
        level = logging.INFO if self._retried else logging.WARNING
        self._retried = True
        log.log(
            level,
            "%s %s: %s, retrying in %.2fs (attempt %d of %d)",
            request.method,
            request.path,
            outcome,
            delay,
            attempt + 1,
            retries + 1,
        )

    def _not_retried_for_budget(self, error: ApiError) -> None:
        error.message += (
            f" (not retried: the wait would pass the run's budget of "
            f"{self.limits.run_seconds:g}s for API calls)"
        )
        error.hint = self._transport.run_hint()

    def _within_run(self, delay: float) -> bool:
        """Whether waiting `delay` seconds still leaves the run budget some time."""
        return self.run_deadline is None or time.monotonic() + delay < self.run_deadline

    def _error(self, request: Request, answer: Answer, attempts: int, verdict: Verdict) -> ApiError:
        """The error of a call that failed for good after `attempts`."""
        method, path = request.method, request.path
        if answer.response is not None:
            return http_error(
                method,
                path,
                answer.response,
                attempts=attempts,
                gave_up=verdict.retryable,
                redact=self.redact,
                display_url=self._display_url,
                token_env=self.token_env,
            )
        assert answer.failure is not None
        return transport_error(
            method,
            path,
            answer.failure,
            attempts=attempts,
            replay_blocked=verdict.replay_blocked,
            timeout=self.timeout,
            redact=self.redact,
            display_url=self._display_url,
        )


def _judge(answer: Answer, replay_safe: bool) -> Verdict:
    """What a failed attempt (an error answer or a transport failure) means for its call."""
    if answer.response is not None:
        return judge_status(answer.response, replay_safe=replay_safe)
    assert answer.failure is not None
    return judge_failure(answer.failure, replay_safe=replay_safe)
