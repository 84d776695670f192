"""Writing a file atomically: the new text goes to a hidden temporary file in the same folder,
is flushed to disk, then renamed over the target, so a reader sees the old file or the new one,
never half of either. A failed write (full disk, no permission) leaves the target as it was and
no temporary file behind. Used by `fmt`, `export -o`, `adopt` and `plan -o`."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


class ChangedOnDisk(Exception):
    """The file is no longer what was read: replacing it would lose an edit."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    expected: bytes | None = None,
    follow_symlinks: bool = True,
) -> None:
    """Write `text` (UTF-8, newlines as given) to `path` atomically; raises OSError, or
    ChangedOnDisk when `expected` is given and the file no longer holds exactly those bytes.

    An existing file keeps its permissions and owner; a file without write permission is
    refused, not replaced: renaming over it would work in a writable folder, but the owner made
    it read-only for a reason. A new file gets the usual mode (0666 less the umask). The
    contents are compared last, just before the rename, to leave the shortest window for an
    edit to slip in. A symbolic link at `path` is followed (the file it names is replaced, the
    link kept), or with `follow_symlinks` false replaced itself, never written through."""
    target = Path(path).resolve() if follow_symlinks else Path(os.path.abspath(path))
    try:
        info: os.stat_result | None = target.stat(follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        info = None  # a link is replaced by a new file
    if info is not None and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    folder, hidden = target.parent, f".{target.name}."  # hidden: `fmt dir/` never picks it up
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=hidden, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if info is None:
            os.chmod(temporary, 0o666 & ~_umask())
        else:
            os.chmod(temporary, stat.S_IMODE(info.st_mode))
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temporary, info.st_uid, info.st_gid)
        if expected is not None and target.read_bytes() != expected:
            raise ChangedOnDisk(str(path))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
