"""A hard deadline for one HTTP exchange: connect, status line, headers and body.

requests' timeouts bound each socket wait, so a server that drips its status line or headers one
byte at a time restarts the timer with every byte. A `Watchdog` is a thread that shuts the
exchange's socket down when the deadline passes: the blocked read ends at once, and the caller,
seeing that the watchdog fired, reports the deadline rather than a dropped connection.

The socket is found through the connection pool: the pools that `WatchedAdapter` mounts tell the
current thread's watchdog which connection carries its exchange.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from types import TracebackType
from typing import Any

import requests.adapters
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager

_current = threading.local()

# How often a fired watchdog looks again for a socket that is still being connected.
_POLL_SECONDS = 0.05


class Watchdog:
    """Shuts down the current thread's exchange at `deadline` (monotonic seconds).

    Use as a context manager around one exchange; `fired` tells whether it cut the exchange.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._conn: Any = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-deadline", daemon=True)

    def __enter__(self) -> Watchdog:
        _current.watch = self
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.watch = None
        self._done.set()

    def attach(self, conn: Any) -> None:
        self._conn = conn

    def _run(self) -> None:
        if self._done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        self.fired = True
        while not self._done.is_set():  # a connection still connecting has no socket yet
            sock = getattr(self._conn, "sock", None)
            if isinstance(sock, socket.socket):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
            self._done.wait(_POLL_SECONDS)


def _attach(conn: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(conn)


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An `HTTPAdapter` whose connections a `Watchdog` can cut (directly or through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # a SOCKS manager keeps its own pools
            manager.pool_classes_by_scheme = _POOLS
        return manager
