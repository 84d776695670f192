"""Formatting files on disk: which files would change, and writing them (the core of `fmt`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config.diagnostics import Diagnostic
from reconciler.config.document import syntax_diagnostic
from reconciler.config.files import discover
from reconciler.config.fmt import format_text


@dataclass
class FormatResult:
    changed: list[str] = field(default_factory=list)  # files reformatted (or that would be)
    unchanged: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # files that cannot be read


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
        result.changed.append(shown)
        if write:
            path.write_text(new, encoding="utf-8")
    return result


def _format_file(path: Path, shown: str, diags: list[Diagnostic]) -> tuple[str, str] | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        diags.append(
            Diagnostic(shown, 1, 1, "error", "file_unreadable", "cannot read file as UTF-8 text")
        )
        return None
    try:
        return text, format_text(text)
    except Exception as exc:  # the round-trip loader rejects the input: report, never raise
        diags.append(syntax_diagnostic(exc, shown, text))
        return None
