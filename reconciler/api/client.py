"""A thin client for the access API (SPEC §2) around one `requests.Session`.

It knows the transport, not the domain: base URL, bearer auth, User-Agent, timeouts, retries
with backoff that honour `Retry-After`, cursor pagination that fails closed, and problem+json
answers turned into `ApiError`s with a code and a hint. Business rules live elsewhere.

The token never leaves this module except in the `Authorization` header: it is kept in a
`_Secret` (repr `***`), never logged (log lines carry method, path, status, time and attempt
only), and masked in every message built from server or transport text.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import requests.auth
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from reconciler import __version__
from reconciler.api.body import Refused as _Refused
from reconciler.api.body import read_body
from reconciler.api.limits import (
    CALL_DEADLINE_ENV,
    MAX_ITEMS_ENV,
    MAX_RESPONSE_ENV,
    RUN_DEADLINE_ENV,
    SHORT_PAGE_FACTOR,
    Limits,
)
from reconciler.api.problems import describe, hint_for, problem_from_response
from reconciler.api.retry import RETRY_STATUSES, RateGate, backoff_delay, parse_retry_after
from reconciler.api.watchdog import Watchdog, WatchedAdapter
from reconciler.errors import AccessctlError, ApiError, ApiProblem
from reconciler.redact import register_secret

log = logging.getLogger("accessctl.api")

USER_AGENT = f"accessctl/{__version__}"
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_PERMANENT = (requests.exceptions.SSLError, requests.exceptions.InvalidURL)
REDACTED = "***"


class _Secret:
    """Holds the token so that no repr, str or log formatting can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<secret {REDACTED}>"

    __str__ = __repr__


class _BearerAuth(requests.auth.AuthBase):
    """Passing auth explicitly also stops requests from reading ~/.netrc over our header."""

    def __init__(self, token: _Secret) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"<bearer {REDACTED}>"


@dataclass
class ListResult:
    """Every item of a paginated list; `extra` holds the first page's other top-level keys."""

    items: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    pages: int = 0


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    url: str
    params: Mapping[str, str | int] | None
    body: Mapping[str, Any] | None
    headers: dict[str, str]


@dataclass
class _Answer:
    """One attempt's result: an answer, a transport failure, or a refusal (limit, redirect)."""

    response: requests.Response | None = None
    failure: requests.RequestException | None = None
    refused: ApiError | None = None


def _safe_url(url: str) -> str:
    """The URL without user-info (`user:password@`), query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _check_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise AccessctlError("The API token is empty.")
    if not all(33 <= ord(ch) <= 126 for ch in token):
        # requests would reject the header and quote its value in the error: refuse first.
        raise AccessctlError(
            "The API token contains spaces, line breaks or non-ASCII characters.",
            hint="Store the bare token in the variable, without quotes or the `Bearer ` prefix.",
        )
    return token


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


def _sent_before_failure(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached the server (connect failed)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


# A refused connection is an API that is down or a wrong URL, not a blip: two quick retries (a
# server restarting), then the error, instead of the full backoff of a flaky network.
REFUSED_RETRIES = 2
REFUSED_DELAY_SECONDS = 0.2


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (nothing listens at the address)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError):
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


def _transport_reason(exc: requests.RequestException, timeout: float) -> str:
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
                f"The API URL {_safe_url(base_url)!r} must start with http:// or https://."
            )
        self.base_url = base_url.rstrip("/")
        self._display_url = _safe_url(self.base_url)
        self._token = _Secret(_check_token(token))
        register_secret(self._token.reveal())
        self._auth = _BearerAuth(self._token)
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_retry_seconds = max_retry_seconds
        self.limits = limits or Limits()
        self.run_deadline = run_deadline
        self.token_env = token_env  # the variable the token came from; named in hints
        # Told `(path, items so far)` after each list page: how a command shows progress.
        self.on_page = on_page
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._gate = RateGate(clock, sleep)
        self._count_lock = threading.Lock()
        self._request_count = 0
        self._retried = False  # a retry has been reported
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = WatchedAdapter(
                pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self._session = session

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
        if self._owns_session:
            self._session.close()

    @property
    def request_count(self) -> int:
        """HTTP requests actually attempted, retries included."""
        with self._count_lock:
            return self._request_count

    def redact(self, text: str) -> str:
        """`text` with the token masked: for any message built from foreign text."""
        return text.replace(self._token.reveal(), REDACTED)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- the public verbs -----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return self._json_object("GET", path, self._send("GET", path, params=params))

    def list_all(self, path: str, *, page_size: int = 200) -> ListResult:
        """Every item of a list, following `next_cursor` until null. Fails closed: a page
        that fails after its retries raises, never a partial list."""
        items: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        seen: set[str] = set()
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            page = self.get(path, params)
            pages += 1
            page_items = page.get("items")
            next_cursor = page.get("next_cursor")
            if not isinstance(page_items, list) or not all(isinstance(i, dict) for i in page_items):
                raise self._invalid(path, f"page {pages} has no `items` list of objects")
            if "next_cursor" not in page:
                # The last page says `null`; a missing key is no proof that nothing follows.
                raise self._invalid(path, f"page {pages} has no `next_cursor` (null on the last)")
            if next_cursor is not None and not (isinstance(next_cursor, str) and next_cursor):
                raise self._invalid(path, f"page {pages} has a `next_cursor` that is not a string")
            if pages == 1:
                extra = {k: v for k, v in page.items() if k not in ("items", "next_cursor")}
            items.extend(page_items)
            self._check_list_size(path, pages, len(items), page_size, next_cursor is None)
            if self.on_page is not None:
                self.on_page(path, len(items))
            if next_cursor is None:
                return ListResult(items=items, extra=extra, pages=pages)
            if next_cursor in seen:
                raise ApiError(
                    f"GET {path}: the API returned a cursor it had already returned "
                    f"(page {pages + 1} would repeat an earlier page); stopping instead of "
                    "looping",
                    code="cursor_loop",
                    hint="The API implementation's pagination is broken; report it.",
                )
            seen.add(next_cursor)
            cursor = next_cursor

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
        return self._json_object("POST", path, response)

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
        return self._json_object("PATCH", path, response)

    def delete(
        self, path: str, *, if_match: str | None = None, annotation: str | None = None
    ) -> None:
        self._send("DELETE", path, headers=write_headers(annotation=annotation, if_match=if_match))

    # -- internals ------------------------------------------------------------------------------

    def _check_list_size(
        self, path: str, pages: int, items: int, page_size: int, last: bool
    ) -> None:
        """A list longer than any organization holds, or one whose pages never end, is refused
        before it fills memory or loops: the server's pagination is broken or hostile."""
        max_items = self.limits.max_list_items
        max_pages = self.limits.max_pages(page_size)
        if items > max_items:
            what = f"more than {max_items:,} items"
        elif pages >= max_pages and not last:
            what = f"{pages:,} pages and still a `next_cursor` ({items:,} items so far)"
        else:
            return
        raise ApiError(
            f"GET {path}: the list does not end: {what}; stopped instead of reading on",
            code="list_too_long",
            hint=f"The API's pagination is broken, or the list really is this long: then raise "
            f"${MAX_ITEMS_ENV} (pages are capped at {SHORT_PAGE_FACTOR} per {page_size} items "
            "allowed).",
        )

    def _invalid(self, path: str, what: str, method: str = "GET") -> ApiError:
        return ApiError(
            f"{method} {path}: the API answered with something accessctl cannot read: {what}",
            code="invalid_response",
            hint="The server does not follow the access API contract (v1); check the API URL.",
        )

    def _json_object(self, method: str, path: str, response: requests.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = json.loads(response.content)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
            data = None
        if not isinstance(data, dict):
            raise self._invalid(path, "the body is not a JSON object", method)
        return data

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        all_headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "identity",  # the size cap counts the bytes that arrive
            **(headers or {}),
        }
        # A POST without an idempotency key may have had its effect even when the answer was
        # lost, so it is retried only when the server certainly did not act on it.
        replay_safe = method != "POST" or "Idempotency-Key" in all_headers
        request = _Request(method, path, self._url(path), params, body, all_headers)
        started = self._clock()
        slept = 0.0
        attempt = 0
        maybe_applied = False  # a write that may have taken effect without a clear answer
        while True:
            attempt += 1
            slept += self._gate.wait()
            answer = self._attempt(request, attempt)
            response, failure = answer.response, answer.failure
            if answer.refused is not None:
                answer.refused.maybe_applied = method != "GET"
                del response, failure
                raise answer.refused
            retry_after: float | None = None
            replay_blocked = False
            refused = False
            if response is not None:
                status = response.status_code
                if response.ok:
                    return response
                retryable = status in RETRY_STATUSES and (replay_safe or status == 429)
                if status in RETRY_STATUSES:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                maybe_applied |= status >= 500
                outcome = str(status)
            else:
                assert failure is not None
                transient = isinstance(failure, _TRANSIENT) and not isinstance(failure, _PERMANENT)
                sent = _sent_before_failure(failure)
                maybe_applied |= sent
                replay_blocked = transient and not replay_safe and sent
                retryable = transient and not replay_blocked
                refused = _refused(failure)
                outcome = "connection refused" if refused else type(failure).__name__

            retries = min(self.max_retries, REFUSED_RETRIES) if refused else self.max_retries
            budget_spent = False  # a retry was due, but its wait would pass the run's budget
            if retryable and attempt <= retries:
                delay = (
                    retry_after if retry_after is not None else backoff_delay(attempt, self._rng)
                )
                if refused:
                    delay = min(delay, REFUSED_DELAY_SECONDS)
                spent = max(self._clock() - started, slept)
                budget_spent = not self._within_run(delay)
                if spent + delay <= self.max_retry_seconds and not budget_spent:
                    self._announce_retry(request, outcome, delay, attempt, retries)
                    if response is not None and response.status_code == 429:
                        self._gate.hold(delay)  # every thread of this client waits
                    else:
                        self._sleep(delay)
                        slept += delay
                    continue
            if response is not None:
                error = self._http_error(method, path, response, attempt, retryable)
            else:
                assert failure is not None
                error = self._transport_error(method, path, failure, attempt, replay_blocked)
            error.maybe_applied = maybe_applied and method != "GET"
            if budget_spent:
                self._not_retried_for_budget(error)
            # Raised outside any `except` block, with the requests objects (which hold the
            # prepared request, Authorization header included) dropped from this frame: neither
            # exception chaining nor a debugger's or error tracker's locals can show the token.
            del response, failure
            raise error

    def _announce_retry(
        self, request: _Request, outcome: str, delay: float, attempt: int, retries: int
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
        error.hint = self._run_hint()

    def _within_run(self, delay: float) -> bool:
        """Whether waiting `delay` seconds still leaves the run budget some time."""
        return self.run_deadline is None or time.monotonic() + delay < self.run_deadline

    def _call_deadline(self, request: _Request) -> float:
        """When this attempt must be over: its own deadline, or the run's, whichever is first.
        An attempt that cannot start before the run's deadline is refused."""
        now = time.monotonic()
        deadline = now + self.limits.call_seconds
        if self.run_deadline is not None:
            if self.run_deadline <= now:
                raise _Refused(
                    "run_deadline",
                    f"{request.method} {request.path}: not sent: the run used up its budget "
                    f"of {self.limits.run_seconds:g}s for API calls",
                    self._run_hint(),
                )
            deadline = min(deadline, self.run_deadline)
        return deadline

    def _attempt(self, request: _Request, attempt: int) -> _Answer:
        """One HTTP exchange, its body read whole within the deadline and the size cap."""
        try:
            deadline = self._call_deadline(request)
        except _Refused as refused:
            return _Answer(refused=self._refused_error(refused))
        with self._count_lock:
            self._request_count += 1
        t0 = time.perf_counter()
        answer = _Answer()
        try:
            answer.response = self._exchange(request, deadline)
        except requests.RequestException as exc:
            answer.failure = exc
        except _Refused as refused:
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

    def _exchange(self, request: _Request, deadline: float) -> requests.Response:
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

    def _open(self, request: _Request, deadline: float) -> requests.Response:
        """The answer's status line and headers; a redirect is refused, never followed."""
        wait = max(0.001, min(self.timeout, deadline - time.monotonic()))
        response = self._session.request(
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

    def _read(self, request: _Request, response: requests.Response, deadline: float) -> bytes:
        try:
            return read_body(
                response,
                deadline=deadline,
                read_timeout=self.timeout,
                max_bytes=self.limits.max_body_bytes,
            )
        except _Refused as refused:
            if refused.code == "deadline":
                raise self._late(request, deadline, refused.message) from None
            raise _Refused(
                refused.code,
                f"{request.method} {request.path}: {refused.message}",
                self._limit_hint(refused.code),
            ) from None

    def _late(self, request: _Request, deadline: float, what: str) -> _Refused:
        """The refusal of an exchange cut at `deadline`: the call's own, or the run's."""
        call = f"{request.method} {request.path}"
        if self.run_deadline is not None and deadline >= self.run_deadline:
            return _Refused(
                "run_deadline",
                f"{call}: {what}; stopped: the run used up its budget of "
                f"{self.limits.run_seconds:g}s for API calls",
                self._run_hint(),
            )
        return _Refused(
            "deadline",
            f"{call}: {what} within the call's deadline; stopped waiting (deadline "
            f"{self.limits.call_seconds:g}s per call)",
            self._limit_hint("deadline"),
        )

    def _redirect(self, request: _Request, response: requests.Response) -> _Refused:
        location = response.headers.get("Location", "")
        target = self.redact(_safe_url(urljoin(request.url, location))) if location else ""
        where = f" to {target[:200]}" if target else " (without a Location)"
        unknown = (
            "; the outcome is unknown: run `accessctl plan` again to see whether it took effect"
            if request.method != "GET"
            else ""
        )
        return _Refused(
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

    def _run_hint(self) -> str:
        return (
            f"The access API at {self._display_url} is slow or keeps failing; check it, or "
            f"raise ${RUN_DEADLINE_ENV}."
        )

    def _refused_error(self, refused: _Refused) -> ApiError:
        return ApiError(self.redact(refused.message), code=refused.code, hint=refused.hint)

    def _http_error(
        self,
        method: str,
        path: str,
        response: requests.Response,
        attempts: int,
        gave_up: bool,
    ) -> ApiError:
        raw = problem_from_response(response)
        problem = ApiProblem(
            status=raw.status,
            code=raw.code,
            title=self.redact(raw.title),
            detail=self.redact(raw.detail),
            errors=tuple((self.redact(f), self.redact(m)) for f, m in raw.errors),
        )
        message = describe(method, path, problem)
        if gave_up and attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        return ApiError(
            message,
            status=problem.status,
            code=problem.code,
            problem=problem,
            hint=hint_for(problem, base_url=self._display_url, token_env=self.token_env),
            attempts=attempts,
        )

    def _transport_error(
        self,
        method: str,
        path: str,
        failure: requests.RequestException,
        attempts: int,
        replay_blocked: bool,
    ) -> ApiError:
        reason = self.redact(_transport_reason(failure, self.timeout))
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(failure, requests.exceptions.SSLError):
            hint = "The TLS handshake failed: check the URL's scheme and the server certificate."
        elif isinstance(failure, requests.ConnectionError | requests.Timeout):
            hint = (
                f"Check that the access API at {self._display_url} is up and reachable from "
                "here (api.url in the config, or --api-url / ACCESSCTL_API_URL)."
            )
        else:
            hint = None
        if replay_blocked:
            reason += " (not retried: the request may have taken effect; no idempotency key)"
        if _refused(failure):
            reason = f"connection refused by {self._display_url}"
        return ApiError(
            f"{method} {path}: could not reach the access API{tries}: {reason}",
            code="connection_error",
            hint=hint,
            attempts=attempts,
        )
