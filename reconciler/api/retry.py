"""Retry policy for the access API client: what is worth retrying, how long to wait, and the
rate-limit gate that every thread using one client waits at.

Waits use "full jitter" (a uniform draw between 0 and an exponentially growing cap), so that
many workers retrying at once spread out instead of hammering the server in step.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


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
