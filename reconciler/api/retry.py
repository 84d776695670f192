"""Retry policy for the access API client: what is worth retrying (`judge_status`,
`judge_failure`), how long to wait, and the rate-limit gate that every thread using one client
waits at.

Waits use "full jitter" (a uniform draw between 0 and an exponentially growing cap), so that
many workers retrying at once spread out instead of hammering the server in step.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0

# A refused connection is an API that is down or a wrong URL, not a blip: two quick retries (a
# server restarting), then the error, instead of the full backoff of a flaky network.
REFUSED_RETRIES = 2
REFUSED_DELAY_SECONDS = 0.2

_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_PERMANENT = (requests.exceptions.SSLError, requests.exceptions.InvalidURL)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = _utcnow) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None
    when the header is absent or unreadable. Dates in the past mean "now" (0.0)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(
    retry: int,
    rng: random.Random,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Full-jitter wait before retry number `retry` (1-based)."""
    return rng.uniform(0.0, min(cap, base * 2 ** (retry - 1)))


class RateGate:
    """A thread-safe "not before" time shared by every request of one client.

    One 429 holds the gate; every thread waits at it before sending, so the whole concurrent
    apply slows down instead of each worker discovering the limit on its own.
    """

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before = -math.inf

    def hold(self, seconds: float) -> None:
        """Let no request through for `seconds` from now (never shortens an existing hold)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    def wait(self) -> float:
        """Sleep until the gate opens; returns the seconds slept (0.0 when open)."""
        remaining = self.remaining()
        if remaining > 0:
            self._sleep(remaining)
        return remaining


@dataclass(frozen=True)
class Verdict:
    """What one failed attempt means for its call."""

    outcome: str  # for the log: the status, "connection refused", or the failure's type
    retryable: bool
    maybe_applied: bool  # the server may have acted on the request
    retry_after: float | None = None  # the wait the server asked for
    rate_limited: bool = False  # a 429: every thread of the client waits
    replay_blocked: bool = False  # transient, but a replay could act twice
    refused: bool = False  # nothing listens at the address: few and quick retries


def judge_status(response: requests.Response, *, replay_safe: bool) -> Verdict:
    """An error answer: a 429 is always retried (the server did nothing), the other retry
    statuses only when a replay is safe; a 5xx may have had its effect."""
    status = response.status_code
    retry_after = None
    if status in RETRY_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return Verdict(
        outcome=str(status),
        retryable=status in RETRY_STATUSES and (replay_safe or status == 429),
        maybe_applied=status >= 500,
        retry_after=retry_after,
        rate_limited=status == 429,
    )


def judge_failure(failure: requests.RequestException, *, replay_safe: bool) -> Verdict:
    """A transport failure: a transient one is retried unless the request may have reached
    the server and a replay is not safe."""
    transient = isinstance(failure, _TRANSIENT) and not isinstance(failure, _PERMANENT)
    sent = sent_before_failure(failure)
    replay_blocked = transient and not replay_safe and sent
    refused = connection_refused(failure)
    return Verdict(
        outcome="connection refused" if refused else type(failure).__name__,
        retryable=transient and not replay_blocked,
        maybe_applied=sent,
        replay_blocked=replay_blocked,
        refused=refused,
    )


def sent_before_failure(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached the server (connect failed)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


def connection_refused(exc: BaseException) -> bool:
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
