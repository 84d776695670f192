"""Formatting files on disk: which files would change, and writing them (the core of `fmt`).

A file is formatted only when it loads cleanly with `validate`'s loader (so fmt reports the same
problems, with the same codes and lines), and a formatted file replaces the old one atomically:
the new text goes to a temporary file in the same folder, which is then renamed over the old
one. A failed write (full disk, no permission) leaves the file as it was and is reported; the
other files are still formatted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.error import YAMLError

from reconciler.config.diagnostics import Diagnostic
from reconciler.config.document import parse_text, syntax_diagnostic
from reconciler.config.files import discover
from reconciler.config.fmt import Unformattable, format_text


@dataclass
class FormatResult:
    changed: list[str] = field(default_factory=list)  # files reformatted (or that would be)
    unchanged: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # files fmt could not format


def format_paths(paths: Sequence[str | os.PathLike[str]], *, write: bool) -> FormatResult:
    """Format every config file at `paths`; with `write` false, only report what would change."""
    result = FormatResult()
    for path, shown in discover(paths, result.diagnostics):
        formatted = _format_file(path, shown, result.diagnostics)
        if formatted is None:
            continue
        original, new = formatted
        if new == original:
            result.unchanged.append(shown)
            continue
        if write:
            try:
                replace_text(path, new)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                result.diagnostics.append(
                    Diagnostic(
                        shown,
                        1,
                        1,
                        "error",
                        "file_unwritable",
                        f"cannot write the formatted file: {reason}; the file was left as it was",
                    )
                )
                continue
        result.changed.append(shown)
    return result


def _format_file(path: Path, shown: str, diags: list[Diagnostic]) -> tuple[str, str] | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        diags.append(
            Diagnostic(shown, 1, 1, "error", "file_unreadable", "cannot read file as UTF-8 text")
        )
        return None
    problems: list[Diagnostic] = []
    parse_text(text, shown, problems)
    if [problem.code for problem in problems] == ["empty_file"]:
        return text, text  # no YAML, nothing to format (`validate` reports the empty file)
    if problems:  # what `validate`'s loader reports: fmt works only on files that load
        diags += problems
        return None
    try:
        return text, format_text(text)
    except Unformattable as exc:
        diags.append(
            Diagnostic(shown, exc.line, exc.column, "error", exc.code, exc.message, exc.hint)
        )
    except YAMLError as exc:  # ruamel's own parser refuses what libyaml accepted
        diags.append(syntax_diagnostic(exc, shown, text))
    return None


def replace_text(path: Path, text: str) -> None:
    """Replace the file's contents atomically, keeping its permissions; raises OSError.

    A file without write permission is refused, not replaced: renaming over it would work in a
    writable folder, but the owner made it read-only for a reason."""
    target = path.resolve()  # through a symlink: replace the file, keep the link
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    info = target.stat()
    folder, hidden = target.parent, f".{target.name}."  # hidden: `fmt dir/` never picks it up
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=hidden, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(OSError):  # only root may give a file away; others own theirs
            os.chown(temporary, info.st_uid, info.st_gid)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
