"""GitHub Actions output: workflow-command annotations pinned to the YAML lines whose declarations
change (`::error` for safety violations, `::warning` for risky changes and warnings, `::notice`
for the rest), most severe first so that past the cap it is notices that are counted instead of
shown; a summary line; and the markdown plan appended to the step summary file when the caller
passes its path (the CLI reads `$GITHUB_STEP_SUMMARY`; this module reads no environment)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TextIO

from reconciler.display import plural, workflow_data, workflow_property
from reconciler.findings import Finding, Location
from reconciler.plan import Change, Plan
from reconciler.render import SYMBOL, field_lines, origin, risk, summary_line
from reconciler.render import markdown as md

MAX_ANNOTATIONS = 200  # per run; the rest are counted in one notice
LEVELS = ("error", "warning", "notice")  # most severe first


def annotation(level: str, message: str, source: Location | None, title: str) -> str:
    props = []
    if source is not None:
        props += [f"file={workflow_property(source.file)}", f"line={source.line}"]
        if source.column:
            props.append(f"col={source.column}")
    props.append(f"title={workflow_property(title)}")
    return f"::{level} {','.join(props)}::{workflow_data(message)}"


def _for_change(change: Change) -> tuple[str, str]:
    """The level and annotation of a change."""
    why = risk(change)
    detail = "; ".join(field_lines(change))
    message = f"{SYMBOL[change.action]} {change.address}" + (f": {detail}" if detail else "")
    if why:
        message += f" ({why})"
    if change.source is None and change.reason:
        message += f" ({origin(change)})"
    level = "warning" if why else "notice"
    return level, annotation(level, message, change.source, f"accessctl plan: {change.action}")


def _for_finding(finding: Finding) -> tuple[str, str]:
    """The level and annotation of a finding."""
    level = {"error": "error", "warning": "warning"}.get(finding.severity, "notice")
    where = f"{finding.address}: " if finding.address else ""
    title = f"accessctl {finding.code}"
    message = where + finding.message + (f"\nhint: {finding.hint}" if finding.hint else "")
    return level, annotation(level, message, finding.source, title)


def render(
    plan: Plan, stream: TextIO, *, color: bool = False, step_summary: str | Path | None = None
) -> None:
    found: list[tuple[str, str]] = []
    for org in plan.orgs:
        found += [_for_finding(f) for f in org.findings]
        found += [_for_change(c) for c in org.ordered_changes()]
    found.sort(key=lambda item: LEVELS.index(item[0]))  # stable: plan order within a level
    lines = [line for _, line in found[:MAX_ANNOTATIONS]]
    hidden = Counter(level for level, _ in found[MAX_ANNOTATIONS:])
    if hidden:
        counts = ", ".join(plural(hidden[x], x) for x in LEVELS if hidden[x])
        message = f"{hidden.total()} more annotations not shown: {counts}"
        lines.append(annotation("notice", message, None, "accessctl plan"))
    lines.append(summary_line(plan))
    for line in lines:
        stream.write(line + "\n")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            md.render(plan, handle)
