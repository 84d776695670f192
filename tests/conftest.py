"""Fixtures shared by every test module.

`emulators` is the session's pool of running emulators: a module asks for its seed with
`emulators.get(SEED)` in a function-scoped fixture and gets a process that is already running
and reset to that seed (see `support/emulators.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.emulators import EmulatorPool


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorPool]:
    pool = EmulatorPool()
    try:
        yield pool
    finally:
        pool.close()
