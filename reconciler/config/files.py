"""Which files a list of paths means: a file is itself; a folder is every `.yaml`/`.yml` file
under it (hidden ones skipped), in a stable order. And how one is read: only a regular file, and
only up to a size cap, so a FIFO never hangs a run and `/dev/zero` never fills the memory."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from reconciler.config.diagnostics import config_problem
from reconciler.findings import Finding

SUFFIXES = (".yaml", ".yml")
# The largest configuration file read: 10,000 users take about 1 MiB, so 16 MiB is room for
# any real organization and a bound on what one file may cost. Tests lower it.
MAX_FILE_BYTES = 16 * 1024 * 1024
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class Unreadable(Exception):
    """A configuration file that is not read: why, in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_config_bytes(
    path: Path,
    limit: int | None = None,
    *,
    too_large: str = "the limit for a configuration file (split it into several files of one "
    "organization)",
) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` (default `MAX_FILE_BYTES`).

    Opened without blocking (opening a FIFO would wait for a writer), checked to be a regular
    file on the open descriptor (no race with a swap), and read no further than the cap even if
    the file grows meanwhile."""
    cap = MAX_FILE_BYTES if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Unreadable(f"cannot read file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise Unreadable(f"cannot read file: it is {kind}, not a regular file")
        try:
            data = handle.read(cap + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise Unreadable(f"cannot read file: it is larger than {_size(cap)}, {too_large}")
    return data


def _size(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    return f"{count:,} bytes"


def discover(
    paths: Sequence[str | os.PathLike[str]], diags: list[Finding]
) -> list[tuple[Path, str]]:
    """(path, name shown in diagnostics) for every config file, each file once."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        shown = os.fspath(raw)
        if path.is_dir():
            visible = [
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            files = sorted(p for p in visible if p.is_file())
            for broken in sorted(p for p in visible if p.is_symlink() and not p.exists()):
                name = os.path.join(shown, *broken.relative_to(path).parts)
                diags.append(
                    config_problem(name, 1, 1, "path_not_found", "a symbolic link to nothing")
                )
            if not files:
                diags.append(
                    config_problem(
                        shown, 1, 1, "no_config_files", "the folder holds no .yaml or .yml files"
                    )
                )
            candidates = [(p, os.path.join(shown, *p.relative_to(path).parts)) for p in files]
        elif path.exists():
            candidates = [(path, shown)]
        else:
            diags.append(config_problem(shown, 1, 1, "path_not_found", "no such file or folder"))
            continue
        for candidate, name in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append((candidate, name))
    return found
