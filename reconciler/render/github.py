"""GitHub Actions output: workflow-command annotations pinned to the YAML lines whose declarations
change (`::error` for safety violations, `::warning` for risky changes and warnings, `::notice`
for the rest), a summary line, and the markdown plan appended to the step summary file when the
caller passes its path (the CLI reads `$GITHUB_STEP_SUMMARY`; this module reads no environment)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from reconciler.plan import Change, Finding, Plan, SourceRef
from reconciler.render import SYMBOL, field_lines, risk, summary_line
from reconciler.render import markdown as md

MAX_ANNOTATIONS = 200  # per run; the rest are counted in one notice


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, source: SourceRef | None, title: str) -> str:
    props = []
    if source is not None:
        props += [f"file={_prop(source.file)}", f"line={source.line}"]
    props.append(f"title={_prop(title)}")
    return f"::{level} {','.join(props)}::{_data(message)}"


def _for_change(change: Change) -> str:
    why = risk(change)
    detail = "; ".join(field_lines(change))
    message = f"{SYMBOL[change.action]} {change.address}" + (f": {detail}" if detail else "")
    if why:
        message += f" ({why})"
    level = "warning" if why else "notice"
    return annotation(level, message, change.source, f"accessctl plan: {change.action}")


def _for_finding(finding: Finding) -> str:
    level = {"error": "error", "warning": "warning"}.get(finding.severity, "notice")
    where = f"{finding.address}: " if finding.address else ""
    return annotation(level, where + finding.message, finding.source, f"accessctl {finding.code}")


def render(
    plan: Plan, stream: TextIO, *, color: bool = False, step_summary: str | Path | None = None
) -> None:
    lines: list[str] = []
    for org in plan.orgs:
        lines += [_for_finding(f) for f in org.findings]
        lines += [_for_change(c) for c in org.ordered_changes()]
    if len(lines) > MAX_ANNOTATIONS:
        rest = len(lines) - MAX_ANNOTATIONS
        lines = lines[:MAX_ANNOTATIONS]
        lines.append(
            annotation("notice", f"{rest} more annotations not shown", None, "accessctl plan")
        )
    lines.append(summary_line(plan))
    for line in lines:
        stream.write(line + "\n")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            md.render(plan, handle)
