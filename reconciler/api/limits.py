"""How long and how much the access API client may take: a deadline per call, a budget for the
whole run, a cap on each answer's size and on a list's length.

The defaults suit a real platform; each can be lowered (or raised) through the environment, so
tests against a hostile server finish in seconds, and an operator can tune a slow proxy:

| variable | default | what it bounds |
|---|---|---|
| `ACCESSCTL_API_DEADLINE` | 60 s | one API call, connect + every read, retries not included |
| `ACCESSCTL_RUN_DEADLINE` | 1800 s | every API call of one run, retries and waits included |
| `ACCESSCTL_MAX_RESPONSE_BYTES` | 64 MiB | one answer's body, refused while it streams |
| `ACCESSCTL_MAX_LIST_ITEMS` | 1,000,000 | one list's items; its pages are capped from it |
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import UsageError

CALL_DEADLINE_ENV = "ACCESSCTL_API_DEADLINE"
RUN_DEADLINE_ENV = "ACCESSCTL_RUN_DEADLINE"
MAX_RESPONSE_ENV = "ACCESSCTL_MAX_RESPONSE_BYTES"
MAX_ITEMS_ENV = "ACCESSCTL_MAX_LIST_ITEMS"

# A page may hold fewer items than asked for (a server with a lower maximum); one holding less
# than a tenth of the page size on average, page after page, is not a list that ends.
SHORT_PAGE_FACTOR = 10

_run_started: float | None = None


def start_run() -> None:
    """Start the run budget's clock (the command line calls this once per command)."""
    global _run_started
    _run_started = time.monotonic()


def run_started() -> float:
    """When the run began (the first call of this, when `start_run` was never called)."""
    global _run_started
    if _run_started is None:
        _run_started = time.monotonic()
    return _run_started


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 60.0
    run_seconds: float = 1800.0
    max_body_bytes: int = 64 * 1024 * 1024
    max_list_items: int = 1_000_000

    def max_pages(self, page_size: int) -> int:
        """The most pages a list of at most `max_list_items` can honestly take."""
        return math.ceil(self.max_list_items / max(1, page_size)) * SHORT_PAGE_FACTOR

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        """The defaults, overridden by the environment; a value that is not a positive number
        is an error naming the variable."""
        defaults = cls()
        return cls(
            call_seconds=_number(environ, CALL_DEADLINE_ENV, defaults.call_seconds),
            run_seconds=_number(environ, RUN_DEADLINE_ENV, defaults.run_seconds),
            max_body_bytes=int(_number(environ, MAX_RESPONSE_ENV, defaults.max_body_bytes)),
            max_list_items=int(_number(environ, MAX_ITEMS_ENV, defaults.max_list_items)),
        )


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"${name} must be a positive number, not {raw[:40]!r}",
            hint=f"unset it to use the default ({default:g})",
        )
    return value
