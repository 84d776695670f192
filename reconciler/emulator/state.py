"""Everything one running emulator holds besides its database: faults, clock, counters, seed."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from reconciler.emulator.db import Database
from reconciler.emulator.faults import FaultInjector, FaultSettings
from reconciler.emulator.seed import Seed, apply_seed


@dataclass
class Clock:
    """Today's date for expiry rules; tests may pin it through `/_emulator/time`."""

    today_override: date | None = None

    def today(self) -> date:
        return self.today_override or datetime.now(UTC).date()


@dataclass
class RequestCounter:
    """How many API requests arrived, by `METHOD /path/{pattern}`."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: Counter[str] = field(default_factory=Counter)

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class EmulatorState:
    db: Database
    seed: Seed
    trust_forwarded_for: bool = False
    startup_faults: FaultSettings = field(default_factory=FaultSettings)
    faults: FaultInjector = field(default_factory=FaultInjector)
    clock: Clock = field(default_factory=Clock)
    requests: RequestCounter = field(default_factory=RequestCounter)

    def __post_init__(self) -> None:
        self.faults.configure(self.startup_faults)

    def reset(self) -> None:
        """Back to how the emulator started: the seed's data (ids from 1 again), the faults given
        on the command line, the real date, no request counts."""
        self.load_seed(reset=True)
        self.faults.configure(self.startup_faults)
        self.clock.today_override = None
        self.requests.reset()

    def load_seed(self, *, reset: bool = False) -> None:
        """Apply the seed to an empty database (or wipe the database first when `reset`)."""
        with self.db.transaction() as conn:
            if reset:
                self.db.clear(conn)
            elif conn.execute("SELECT 1 FROM organizations LIMIT 1").fetchone():
                return
            apply_seed(conn, self.seed)
