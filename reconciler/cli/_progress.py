"""Progress while the live state is read: a large organization is dozens of list pages, and
against a real API that is seconds of silence otherwise."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

_LISTS = {"/users": "users", "/stores": "stores", "/ip-ranges": "ranges"}


class FetchProgress:
    """`Reading live state: acme-eu 4,200 users, 200 stores` on one line of a terminal, redrawn
    at most every `interval` seconds, erased by `close()` (`with closing(FetchProgress()) as p`).

    Silent unless the stream is a terminal: CI logs and pipes get no control characters, and
    `-v` already logs every request there. Called from the fetch threads, hence the lock."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._drawn_at: float | None = None

    def __call__(self, organization: str, path: str, count: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._counts.setdefault(organization, {})[_LISTS.get(path, path.strip("/"))] = count
            now = self._clock()
            if self._drawn_at is not None and now - self._drawn_at < self.interval:
                return
            self._drawn_at = now
            self._write("\r\033[K" + self.line())

    def line(self) -> str:
        """The text shown, cut to the terminal's width."""
        orgs = "; ".join(
            (f"{org} " if org else "")
            + ", ".join(f"{count:,} {name}" for name, count in lists.items())
            for org, lists in self._counts.items()
        )
        text = f"Reading live state: {orgs}"
        width = shutil.get_terminal_size((80, 24)).columns - 1
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def close(self) -> None:
        with self._lock:
            if self._drawn_at is not None:
                self._write("\r\033[K")
                self._drawn_at = None

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken terminal: progress is not worth failing
            self.enabled = False


def is_terminal(stream: TextIO) -> bool:
    """False for anything that is not a terminal, or cannot say (closed, or no isatty)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
