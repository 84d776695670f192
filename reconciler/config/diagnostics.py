"""A diagnostic is one problem found in the YAML: a `Finding` pinned to a `Location`
(`file:line:column`, see `config_problem`), and the three ways of showing a list of them: text
for people, JSON for tools, workflow commands for GitHub. Its warnings are carried into the
plan as they are (with their column and hint)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Literal, TextIO

from reconciler.display import plural, visible, workflow_data, workflow_property
from reconciler.findings import Finding, Location

Severity = Literal["error", "warning"]


def config_problem(
    file: str,
    line: int,
    column: int,
    code: str,
    message: str,
    hint: str | None = None,
    severity: Severity = "error",
) -> Finding:
    """A problem in the config, pinned to `file:line:column` (1-based)."""
    return Finding(
        severity=severity,
        code=code,
        message=message,
        source=Location(file, line, column),
        hint=hint,
    )


def located(diag: Finding) -> Location:
    """Where a config problem is written: every one is (see `config_problem`)."""
    assert diag.source is not None, f"a config problem without a location: {diag.code}"
    return diag.source


def count(diags: Iterable[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for diag in diags:
        if diag.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def summary(diags: Sequence[Finding], files_checked: int | None = None) -> str:
    errors, warnings = count(diags)
    where = "" if files_checked is None else f" in {plural(files_checked, 'file')}"
    if not errors and not warnings:
        return f"no problems found{where}"
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}{where}"


def render_text(
    diags: Sequence[Finding], stream: TextIO, *, files_checked: int | None = None
) -> None:
    """`file:line:col: error[code]: message`, an indented hint line, then a summary line."""
    for diag in diags:  # messages quote the YAML, which may hold control characters
        where = visible(located(diag).exact)
        stream.write(f"{where}: {diag.severity}[{diag.code}]: {visible(diag.message)}\n")
        if diag.hint:
            stream.write(f"    hint: {visible(diag.hint)}\n")
    stream.write(summary(diags, files_checked) + "\n")


def render_json(diags: Sequence[Finding], stream: TextIO) -> None:
    """`{"diagnostics": [{"file", "line", "column", "severity", "code", "message", "hint"}]}`."""
    json.dump({"diagnostics": [_as_json(d) for d in diags]}, stream, indent=2)
    stream.write("\n")


def _as_json(diag: Finding) -> dict[str, object]:
    source = located(diag)
    return {
        "file": source.file,
        "line": source.line,
        "column": source.column,
        "severity": diag.severity,
        "code": diag.code,
        "message": diag.message,
        "hint": diag.hint,
    }


def render_github(diags: Sequence[Finding], stream: TextIO) -> None:
    """GitHub Actions workflow commands, so each problem is pinned to its line in the PR."""
    for diag in diags:
        source = located(diag)
        props = ",".join(
            f"{key}={workflow_property(value)}"
            for key, value in (
                ("file", source.file),
                ("line", str(source.line)),
                ("col", str(source.column)),
                ("title", diag.code),
            )
        )
        message = diag.message if not diag.hint else f"{diag.message}\nhint: {diag.hint}"
        stream.write(f"::{diag.severity} {props}::{workflow_data(message)}\n")
