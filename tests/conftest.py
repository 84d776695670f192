"""Fixtures shared by every test module.

`emulators` is the session's pool of running emulators: a module asks for its seed with
`emulators.get(SEED)` in a function-scoped fixture and gets a process that is already running
and reset to that seed (see `support/emulators.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from support.emulators import EmulatorPool


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-xdist tells tests apart by node id: two items with one id would run only once."""
    twice = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if twice:
        raise pytest.UsageError(f"tests with the same node id (xdist runs one): {twice}")


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorPool]:
    pool = EmulatorPool()
    try:
        yield pool
    finally:
        pool.close()
