"""Fixtures shared by every test module.

`emulators` is the session's pool of running emulators: a module asks for its seed with
`emulators.get(SEED)` in a function-scoped fixture and gets a process that is already running
and reset to that seed (see `support/emulators.py`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.emulators import EmulatorPool
from support.warm_cli import WarmCli


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-xdist tells tests apart by node id: two items with one id would run only once."""
    twice = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if twice:
        raise pytest.UsageError(f"tests with the same node id (xdist runs one): {twice}")


@pytest.fixture(scope="session")
def emulators(warm_cli: WarmCli) -> Iterator[EmulatorPool]:
    # Started through the warm command line: each a process of its own, without the imports.
    pool = EmulatorPool([str(warm_cli.bin / "accessctl")])
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def warm_cli() -> Iterator[WarmCli]:
    """A folder to put first on PATH: its `accessctl` runs without paying for imports."""
    folder = Path(tempfile.mkdtemp(prefix="accessctl-warm-"))  # short: an AF_UNIX path
    cli = WarmCli(folder).start()
    try:
        yield cli
    finally:
        cli.stop()
        shutil.rmtree(folder, ignore_errors=True)
