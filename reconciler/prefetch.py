"""A large configuration's live state, read while the configuration itself is read and checked.

Reading and checking a file of 10,000 users takes about as long as fetching their live state
over a fast link (benchmarks/plan_bench.py --whole-process), so for a file of
`EARLY_FETCH_BYTES` or more the fetch starts first, from the API and token variable the top of
the file names (`config/peek.py`), on a daemon thread. `pipeline.plan_paths` takes a fetch only
for an organization whose validated configuration names the same API and token variable, and
drops every fetch when the configuration has errors. For smaller files, nothing is sent until
the whole configuration is valid.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from reconciler.errors import AccessctlError

if TYPE_CHECKING:
    from reconciler.api import AccessApiClient
    from reconciler.config.peek import Head
    from reconciler.live import LiveState

EARLY_FETCH_BYTES = 256 * 1024
# While a fetch runs beside the parse, the interpreter switches threads every millisecond
# instead of every 5: each page the fetch reads otherwise waits up to 5 ms for the parse to let
# go of the interpreter (a third of the gain, measured).
SWITCH_SECONDS = 0.001
# At most as many as a plan fetches at once (`api.fetch_many`): many organizations in large
# files do not mean more load on their APIs than a plan puts on them anyway.
MAX_EARLY_FETCHES = 4
# How long a dropped fetch's request in flight is waited for, so that none lands after the plan.
STOP_WAIT_SECONDS = 0.5

Target = tuple[str, str, str]  # organization, API URL, token variable
Progress = Callable[[str, str, int], None]
# Opens the client for a file's head: its target, and a client telling progress to `on_page`.
Opener = Callable[["Head", Progress], tuple[Target, "AccessApiClient"]]


_THREAD = "fetch-early"
_API_LOG = logging.getLogger("accessctl.api")


class _HeldLog(logging.Filter):
    """The early fetches' log lines (a retry, with -v each request), held until the plan takes
    the fetch (then shown) or drops it (never shown: a retry of a dropped fetch is noise)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.shown: set[str] = set()  # threads whose fetch was taken
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.threadName or ""
        if not name.startswith(_THREAD) or name in self.shown:
            return True
        with self._lock:
            self.records.append(record)
        return False

    def show(self, thread: str) -> None:
        with self._lock:
            self.shown.add(thread)
            mine = [r for r in self.records if r.threadName == thread]
        for record in mine:
            _API_LOG.handle(record)


class EarlyFetches:
    """Live-state fetches begun before the configuration is read; a context manager that keeps
    the quicker thread switching while they run, and drops the ones not taken on exit."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.started: dict[Target, tuple[AccessApiClient, Future[LiveState]]] = {}
        self._threads: dict[Target, str] = {}
        self._log = _HeldLog()
        self._quiet = threading.Event()
        self._progress = progress
        self._switching = sys.getswitchinterval()

    def take(self, target: Target) -> tuple[AccessApiClient, Future[LiveState]] | None:
        """The fetch begun for `target`, now the caller's (its client closes with theirs, what
        it logged is shown)."""
        taken = self.started.pop(target, None)
        if taken is not None:
            self._log.show(self._threads[target])
        return taken

    def begin(self, target: Target, client: AccessApiClient) -> None:
        """Fetch `client`'s live state for `target`, on a daemon thread."""
        if not self.started:
            _API_LOG.addFilter(self._log)
        thread = self._threads[target] = f"{_THREAD}-{len(self._threads) + 1}"
        self.started[target] = client, _in_background(client, thread)

    def progress(self, organization: str, path: str, count: int) -> None:
        if self._progress is not None and not self._quiet.is_set():
            self._progress(organization, path, count)

    def __enter__(self) -> EarlyFetches:
        if self.started:
            sys.setswitchinterval(SWITCH_SECONDS)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sys.setswitchinterval(self._switching)
        self.stop()

    def stop(self) -> None:
        """Drop the fetches not taken: nothing more is shown of them, their clients close (a
        closed client sends nothing more), and the request in flight, if any, is waited for a
        moment."""
        self._quiet.set()
        for client, _ in self.started.values():
            client.close()
        wait([result for _, result in self.started.values()], timeout=STOP_WAIT_SECONDS)
        self.started.clear()
        _API_LOG.removeFilter(self._log)


def fetch_early(
    paths: Sequence[str | Path],
    only_org: str | None,
    opener: Opener,
    progress: Progress | None = None,
) -> EarlyFetches:
    """Fetches begun for the large files at `paths` (each `EARLY_FETCH_BYTES` or more: its read
    is what a fetch runs beside), one per target their tops name, `only_org`'s alone when given,
    at most `MAX_EARLY_FETCHES`; none for small files or tops that name nothing plainly."""
    from reconciler.config.files import discover
    from reconciler.config.peek import read_head

    early = EarlyFetches(progress)
    for path, _ in discover(list(paths), []):
        if len(early.started) == MAX_EARLY_FETCHES or not _large(path):
            continue
        head = read_head(path)
        if head is None or only_org not in (None, head.organization):
            continue
        try:
            target, client = opener(head, early.progress)
        except AccessctlError:  # said again, in its turn, once the configuration is valid
            continue
        if target in early.started:
            client.close()
            continue
        early.begin(target, client)
    return early


def _large(path: Path) -> bool:
    try:
        return path.stat().st_size >= EARLY_FETCH_BYTES
    except OSError:
        return False


def _in_background(client: AccessApiClient, name: str) -> Future[LiveState]:
    """`client`'s live state, read on a daemon thread (one list at a time: nothing is left
    running that would hold the process open when the plan stops early)."""
    from reconciler.api import fetch_live_state

    result: Future[LiveState] = Future()

    def run() -> None:
        try:
            result.set_result(fetch_live_state(client, concurrent=False))
        except BaseException as exc:  # handed to whoever asks for the result
            result.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return result
