"""The plan for a terminal, like Terraform's: `+` create, `~` update, `-` delete, `-/+` replace,
before → after per field, grouped by organization then settings / ranges / users, the source
`file:line` on each change, findings, and a summary line. Colour only when asked. Names, emails
and values come from the API or the config: they pass through `visible`, the colours do not."""

from __future__ import annotations

from typing import TextIO

from reconciler.display import visible
from reconciler.findings import Finding
from reconciler.plan import Change, OrgPlan, Plan
from reconciler.render import (
    SYMBOL,
    compared,
    field_lines,
    grouped,
    origin,
    summary_line,
    write_lines,
)

RESET = "\033[0m"
STYLE = {
    "create": "\033[32m",
    "update": "\033[33m",
    "delete": "\033[31m",
    "replace": "\033[35m",
    "error": "\033[1;31m",
    "warning": "\033[33m",
    "info": "\033[36m",
    "bold": "\033[1m",
}
TITLES = {"settings": "settings", "ip_ranges": "allowed IP ranges", "users": "users"}


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        return f"{STYLE[style]}{text}{RESET}" if self.color else text


def render(plan: Plan, stream: TextIO, *, color: bool = False) -> None:
    paint = _Paint(color)
    lines: list[str] = []
    for org in plan.orgs:
        lines += _org(org, paint, several=len(plan.orgs) > 1)
    lines.append(paint("bold", visible(summary_line(plan))))
    violations = sum(len(org.violations) for org in plan.orgs)
    if violations:
        lines.append(
            paint(
                "error",
                f"Unsafe plan: {violations} safety violation{'s' if violations != 1 else ''}. "
                "Nothing will be applied until fixed.",
            )
        )
    write_lines(stream, lines)


def _org(org: OrgPlan, paint: _Paint, *, several: bool) -> list[str]:
    caller = org.caller
    lines = [
        paint("bold", f"Organization {visible(org.organization)}")
        + visible(f" (as {caller.email}, {caller.role}, from {caller.ip})"),
        "",
    ]
    if several and not org.changes:
        lines += ["  No changes." if compared(org) else "  Not compared.", ""]
    for kind, changes in grouped(org):
        lines.append(f"  # {TITLES[kind]}")
        for change in changes:
            lines += _change(change, paint)
        lines.append("")
    if org.findings:
        lines.append("  Findings:")
        for finding in org.findings:
            lines += _finding(finding, paint)
        lines.append("")
    return lines


def _change(change: Change, paint: _Paint) -> list[str]:
    head = f"  {SYMBOL[change.action]:>3} {visible(change.address)}"
    where = origin(change)
    if where:
        head += f"  ({visible(where)})"
    if change.action == "replace":
        head += "  # type cannot change in place: remove, then re-invite"
    return [paint(change.action, head)] + [
        f"        {visible(line)}" for line in field_lines(change)
    ]


def _finding(finding: Finding, paint: _Paint) -> list[str]:
    where = visible(
        " ".join(
            part
            for part in (finding.address, f"({finding.where})" if finding.where else None)
            if part
        )
    )
    label = paint(finding.severity, f"{finding.severity}[{finding.code}]")
    lines = [f"    {label} {where + ': ' if where else ''}{visible(finding.message)}"]
    if finding.hint:
        lines.append(f"        hint: {visible(finding.hint)}")
    return lines
