"""Reading an answer's body within a deadline and a size cap.

`requests`' read timeout bounds each socket read, not the answer: a server that drips one byte
every few seconds never trips it, and one that never stops sending fills memory. Here the body
is read with `read1` (whatever has arrived, never waiting to fill a buffer), and before each read
the socket's timeout is cut to the time left, so the deadline holds however the bytes arrive;
the running size is checked after each chunk, so an endless body costs at most the cap.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

CHUNK_BYTES = 64 * 1024


class Refused(Exception):
    """An answer refused by a limit (`code`: response_too_large, deadline, redirect, ...)."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _set_socket_timeout(raw: Any, seconds: float) -> None:
    """Cut the next socket read's wait to `seconds` (no-op for a body that is no socket)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))


def read_body(
    response: requests.Response, *, deadline: float, read_timeout: float, max_bytes: int
) -> bytes:
    """The whole body of a streamed `response`, or `Refused` once it passes `deadline`
    (monotonic seconds) or `max_bytes`. Transport failures surface as requests' exceptions."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise Refused(
            "response_too_large",
            f"the answer announces {_mib(int(declared))}, over the {_mib(max_bytes)} cap; not read",
        )
    started = time.monotonic()
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _late(size, time.monotonic() - started)
        _set_socket_timeout(raw, min(read_timeout, left))
        try:
            chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        except ReadTimeoutError as exc:
            if time.monotonic() >= deadline - 0.001:
                raise _late(size, time.monotonic() - started) from None
            raise requests.exceptions.ReadTimeout(exc) from None
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise Refused(
                "response_too_large",
                f"the answer passed the {_mib(max_bytes)} cap while it was read; stopped",
            )
        chunks.append(chunk)


def _late(size: int, reading: float) -> Refused:
    return Refused(
        "deadline",
        f"no complete answer ({size} bytes of body had arrived after {reading:.1f}s of reading it)",
    )
