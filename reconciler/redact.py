"""Secrets never reach output: every token the process holds is registered here, and every log
record passes through `SecretFilter` before it is written. A second line of defence behind the
client's rule of never logging headers."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence

MASK = "***"
# Environment variables taken to hold a credential before any config names its `token_env`.
# (`ACCESSCTL_TOKEN_ENV` or `*_TOKEN_FILE` hold a name or a path, not a secret.)
SECRET_NAME = re.compile(
    r"^(?!.*_(?:ENV|FILE|PATH|NAME|URL|DIR)$).*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL)",
    re.IGNORECASE,
)
# Shorter values would match ordinary words in an argument.
MIN_SECRET_CHARS = 8
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


def secret_in_args(
    args: Sequence[str], environ: Mapping[str, str], names: Iterable[str] | None = None
) -> str | None:
    """The name of an environment variable whose value appears in one of `args` (a token pasted
    into `--annotate note=...`), or None. `names`: the variables to look at; by default every
    one whose name says it holds a credential (`*TOKEN*`, `*SECRET*`, ...)."""
    wanted = [n for n in environ if SECRET_NAME.search(n)] if names is None else list(names)
    for name in wanted:
        value = environ.get(name, "").strip()
        if len(value) >= MIN_SECRET_CHARS and any(value in arg for arg in args):
            return name
    return None


def secret_arg_message(name: str) -> tuple[str, str]:
    """(message, hint) for the value of `$name`, a token, found on the command line."""
    return (
        f"an argument holds the value of ${name}, a token; nothing was run or sent",
        "never put a token on the command line (it would be shown, stored in the audit log and "
        "kept in the shell history); accessctl reads it from the variable api.token_env names",
    )
