"""`fmt` on files: which files would change, and writing them (the text itself is reformatted
by `reconciler.config.reformat`, in the key order of `reconciler.config.canonical`).

A file is formatted only when it loads cleanly with `validate`'s loader (so fmt reports the same
problems, with the same codes and lines), and a formatted file replaces the old one atomically:
the new text goes to a temporary file in the same folder, which is then renamed over the old
one. A failed write (full disk, no permission) leaves the file as it was and is reported; the
other files are still formatted. Formatting a large file takes seconds: if the file changed on disk
meanwhile (someone saved an edit), it is left as it is and reported, never overwritten.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.error import YAMLError

from reconciler.atomic import ChangedOnDisk, write_text
from reconciler.config.diagnostics import config_problem
from reconciler.config.document import parse_text
from reconciler.config.files import Unreadable, discover, read_config_bytes
from reconciler.config.reformat import Unformattable, format_text
from reconciler.findings import Finding


@dataclass
class FormatResult:
    changed: list[str] = field(default_factory=list)  # files reformatted (or that would be)
    unchanged: list[str] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)  # files fmt could not format


def format_paths(paths: Sequence[str | os.PathLike[str]], *, write: bool) -> FormatResult:
    """Format every config file at `paths`; with `write` false, only report what would change."""
    result = FormatResult()
    for path, shown in discover(paths, result.diagnostics):
        formatted = _format_file(path, shown, result.diagnostics)
        if formatted is None:
            continue
        read, original, new = formatted
        if new == original:
            result.unchanged.append(shown)
            continue
        if write:
            problem = None
            try:
                bom = "\ufeff" if read.startswith(codecs.BOM_UTF8) else ""  # kept, as editors do
                replace_text(path, bom + new, expected=read)
            except ChangedOnDisk:
                problem = "the file changed while formatting; it was left as it is: run fmt again"
            except OSError as exc:
                reason = exc.strerror or str(exc)
                problem = f"cannot write the formatted file: {reason}; the file was left as it was"
            if problem is not None:
                result.diagnostics.append(config_problem(shown, 1, 1, "file_unwritable", problem))
                continue
        result.changed.append(shown)
    return result


def _format_file(path: Path, shown: str, diags: list[Finding]) -> tuple[bytes, str, str] | None:
    """The file's bytes, its text and its canonical form; None (with diagnostics) when it
    cannot be formatted."""
    try:
        read = read_config_bytes(path)
        text = read.decode("utf-8-sig")
    except Unreadable as exc:
        diags.append(config_problem(shown, 1, 1, "file_unreadable", exc.reason))
        return None
    except UnicodeDecodeError:
        diags.append(
            config_problem(shown, 1, 1, "file_unreadable", "cannot read file as UTF-8 text")
        )
        return None
    problems: list[Finding] = []
    document = parse_text(text, shown, problems, nodes=True)
    if [problem.code for problem in problems] == ["empty_file"]:
        return read, text, text  # no YAML, nothing to format (`validate` reports the empty file)
    if problems:  # what `validate`'s loader reports: fmt works only on files that load
        diags += problems
        return None
    try:
        return read, text, format_text(text, document)
    except Unformattable as exc:
        diags.append(config_problem(shown, exc.line, exc.column, exc.code, exc.message, exc.hint))
    except YAMLError as exc:  # ruamel's own parser refuses what validate's loader read cleanly
        diags.append(_unreadable_to_fmt(exc, shown))
    except RecursionError:  # fmt walks the nesting one call a level; `validate` goes deeper
        message = "nested too deeply for fmt to rewrite; the file was left as it is"
        diags.append(config_problem(shown, 1, 1, "fmt_unsafe", message, "format it by hand"))
    return None


def _unreadable_to_fmt(exc: YAMLError, shown: str) -> Finding:
    """The file is valid YAML (validate's loader read it), so this is no syntax error: fmt's
    round-trip parser is stricter (about tabs, for one) and fmt cannot rewrite the file."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    return config_problem(
        shown,
        line,
        column,
        "fmt_unsafe",
        f"fmt's round-trip YAML parser cannot read line {line} ({problem}), though the file "
        "is valid YAML; the file was left as it is",
        "rewrite this line by hand (a tab often reads as a space to validate, not to fmt)",
    )


def replace_text(path: Path, text: str, *, expected: bytes | None = None) -> None:
    """Replace the file's contents atomically, keeping its permissions (see `atomic`)."""
    write_text(path, text, expected=expected)
