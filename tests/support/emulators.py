"""One emulator process per seed for a whole test session (per xdist worker), reset between tests.

Starting the emulator costs about a second; resetting it (`POST /_emulator/reset`: back to the
seed's data, no faults, the real date, no request counts) costs milliseconds. Tests that need a
process of their own (a database file, the process's lifecycle, killing it) start an
`EmulatorProcess` themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.emulator.testing import EmulatorProcess

Key = tuple[str, str, tuple[str, ...]]


def _seed_key(seed: dict[str, Any] | str | Path) -> str:
    if isinstance(seed, str | Path):
        return "file:" + str(Path(seed).resolve())
    return "json:" + json.dumps(seed, sort_keys=True, default=str)


class EmulatorPool:
    """`get(seed)` answers a running emulator for `seed`, freshly reset."""

    def __init__(self, accessctl: Sequence[str] | None = None) -> None:
        self._running: dict[Key, EmulatorProcess] = {}
        self._accessctl = accessctl  # how to run `accessctl emulator serve`

    def get(
        self,
        seed: dict[str, Any] | str | Path,
        *,
        db: str = ":memory:",
        extra_args: Sequence[str] = (),
    ) -> EmulatorProcess:
        if db != ":memory:":
            raise ValueError("a database file is per test: start an EmulatorProcess yourself")
        key = (_seed_key(seed), db, tuple(extra_args))
        emulator = self._running.get(key)
        if emulator is None:
            launcher = {} if self._accessctl is None else {"accessctl": self._accessctl}
            emulator = EmulatorProcess(seed, db=db, extra_args=extra_args, **launcher).start()
            self._running[key] = emulator
        else:
            emulator.reset()
        return emulator

    def close(self) -> None:
        """Kill them all: their state is in memory and nobody needs it any more. A graceful stop
        costs each a shutdown and an interpreter exit, some 25 at once at the end of a worker
        (10 s under load)."""
        running, self._running = self._running, {}
        for emulator in running.values():
            emulator.kill()
