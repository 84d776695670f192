"""A diagnostic is one problem found in the YAML: a `Finding` pinned to `file:line:column`, and
the three ways of showing a list of them: text for people, JSON for tools, workflow commands for
GitHub. Its warnings are carried into the plan as they are (with their column and hint)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Literal, TextIO

from reconciler.display import plural, visible, workflow_data, workflow_property
from reconciler.findings import Finding, Location

Severity = Literal["error", "warning"]


class Diagnostic(Finding):
    """A problem in the config: a `Finding` that is always located, built as
    `Diagnostic(file, line, column, severity, code, message, hint)`. `line` and `column` are
    1-based."""

    source: Location

    def __init__(
        self,
        file: str,
        line: int,
        column: int,
        severity: Severity,
        code: str,
        message: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            severity=severity,
            code=code,
            message=message,
            source=Location(file, line, column),
            hint=hint,
        )

    @property
    def file(self) -> str:
        return self.source.file

    @property
    def line(self) -> int:
        return self.source.line

    @property
    def column(self) -> int:
        return self.source.column

    def location(self) -> str:
        """`file:line:column`."""
        return self.source.exact

    def to_dict(self) -> dict[str, object]:
        """`{"file", "line", "column", "severity", "code", "message", "hint"}`."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


def count(diags: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for diag in diags:
        if diag.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def summary(diags: Sequence[Diagnostic], files_checked: int | None = None) -> str:
    errors, warnings = count(diags)
    where = "" if files_checked is None else f" in {plural(files_checked, 'file')}"
    if not errors and not warnings:
        return f"no problems found{where}"
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}{where}"


def render_text(
    diags: Sequence[Diagnostic], stream: TextIO, *, files_checked: int | None = None
) -> None:
    """`file:line:col: error[code]: message`, an indented hint line, then a summary line."""
    for diag in diags:  # messages quote the YAML, which may hold control characters
        where = visible(diag.location())
        stream.write(f"{where}: {diag.severity}[{diag.code}]: {visible(diag.message)}\n")
        if diag.hint:
            stream.write(f"    hint: {visible(diag.hint)}\n")
    stream.write(summary(diags, files_checked) + "\n")


def render_json(diags: Sequence[Diagnostic], stream: TextIO) -> None:
    """`{"diagnostics": [{"file", "line", "column", "severity", "code", "message", "hint"}]}`."""
    json.dump({"diagnostics": [d.to_dict() for d in diags]}, stream, indent=2)
    stream.write("\n")


def render_github(diags: Sequence[Diagnostic], stream: TextIO) -> None:
    """GitHub Actions workflow commands, so each problem is pinned to its line in the PR."""
    for diag in diags:
        props = ",".join(
            f"{key}={workflow_property(value)}"
            for key, value in (
                ("file", diag.file),
                ("line", str(diag.line)),
                ("col", str(diag.column)),
                ("title", diag.code),
            )
        )
        message = diag.message if not diag.hint else f"{diag.message}\nhint: {diag.hint}"
        stream.write(f"::{diag.severity} {props}::{workflow_data(message)}\n")
