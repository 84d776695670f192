"""Secrets never reach output: every token the process holds is registered here, and every log
record passes through `SecretFilter` before it is written. A second line of defence behind the
client's rule of never logging headers."""

from __future__ import annotations

import logging
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember `value` so that `redact` masks it (short values would mask ordinary words)."""
    if len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """Formats the record's message once, masked, so no handler can show a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True
