"""Fault injection: latency, 500/503 answers, 429 bursts, dropped connections.

Every fault is decided from one seeded random source before the request reaches the app, so a
faulted answer (5xx, 429, drop) has had no effect on stored state. The one exception is on
purpose: `drop_after_commit_rate` lets the request commit, then drops the connection instead of
answering, which is how a client's idempotency handling is tested.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["pass", "error500", "error503", "rate_limited", "drop", "drop_after_commit"]


class FaultSettings(BaseModel):
    """What `/_emulator/faults` accepts and answers. Rates are probabilities per API request."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0, ge=0, le=1, description="Share of 500/503 answers.")
    rate_limit_rate: float = Field(default=0, ge=0, le=1, description="Share of 429 answers.")
    rate_limit_burst: int = Field(
        default=0, ge=0, description="The next N API requests are answered 429 (counts down)."
    )
    retry_after: int = Field(default=1, ge=0, le=3600, description="Retry-After on 429.")
    drop_rate: float = Field(default=0, ge=0, le=1, description="Share of dropped connections.")
    drop_after_commit_rate: float = Field(
        default=0, ge=0, le=1, description="Share of requests handled, then dropped unanswered."
    )
    methods: list[str] | None = Field(
        default=None, description="Only fault these HTTP methods (latency applies to all)."
    )
    seed: int = 0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    latency_s: float
    retry_after: int


class FaultInjector:
    """Holds the settings and the seeded random source; `decide` is called once per request."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._random = random.Random(0)
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._random = random.Random(settings.seed)

    def decide(self, method: str) -> Decision:
        with self._lock:
            s = self.settings
            latency = s.latency_ms / 1000
            if s.methods is not None and method.upper() not in {m.upper() for m in s.methods}:
                return Decision("pass", latency, s.retry_after)
            if s.rate_limit_burst > 0:
                self.settings = s.model_copy(update={"rate_limit_burst": s.rate_limit_burst - 1})
                return Decision("rate_limited", latency, s.retry_after)
            roll = self._random.random()
            outcome: Outcome = "pass"
            for name, rate in (
                ("error", s.error_rate),
                ("rate_limited", s.rate_limit_rate),
                ("drop", s.drop_rate),
                ("drop_after_commit", s.drop_after_commit_rate),
            ):
                if roll < rate:
                    outcome = name if name != "error" else self._error()  # type: ignore[assignment]
                    break
                roll -= rate
            return Decision(outcome, latency, s.retry_after)

    def _error(self) -> Outcome:
        return "error500" if self._random.random() < 0.5 else "error503"


async def sleep(seconds: float) -> None:
    """Latency never blocks a worker: it is awaited on the event loop."""
    if seconds > 0:
        await asyncio.sleep(seconds)
