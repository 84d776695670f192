"""The plan as a pull-request comment: a summary table first, then what needs a second look
(safety violations, Super Admin and Admin grants, support access, range deletions), then the
details in `<details>`. Always under GitHub's 65,536-character limit: every part is measured as it
is built, and past the budget the rest is summarised (counts per kind and action) — a table is
always closed, never cut."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from reconciler.plan import Change, Finding, OrgPlan, Plan
from reconciler.render import SYMBOL, Counts, field_lines, grouped, risk, summary_line

GITHUB_LIMIT = 65_536
BUDGET = 60_000  # leaves room for the closing lines and the overflow summaries
MAX_ATTENTION = 50  # bullet points before the rest are counted instead
BUDGET_RESERVE = 4_000  # kept free for later sections' overflow summaries


class _Doc:
    """Lines with a running size, so a section knows when to stop and summarise."""

    def __init__(self, budget: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.budget = budget

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(line)
            self.size += len(line) + 1

    def fits(self, *lines: str, reserve: int = 0) -> bool:
        return self.size + sum(len(x) + 1 for x in lines) + reserve <= self.budget

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render(plan: Plan, stream: TextIO, *, color: bool = False, budget: int = BUDGET) -> None:
    doc = _Doc(budget)
    verdict = ""
    violations = sum(len(o.violations) for o in plan.orgs)
    if violations:
        verdict = (
            f" :x: **{violations} safety violation{'s' if violations != 1 else ''}: this plan "
            "will not be applied.**"
        )
    doc.add("### accessctl plan", "", f"**{summary_line(plan)}**{verdict}", "")
    doc.add(
        "| organization | add | change | remove | errors | warnings |",
        "|---|---:|---:|---:|---:|---:|",
    )
    for org in plan.orgs:
        n = Counts.of(org.changes)
        warnings = sum(1 for f in org.findings if f.severity == "warning")
        doc.add(
            f"| {_cell(org.organization)} | {n.add} | {n.change} | {n.remove} | "
            f"{len(org.violations)} | {warnings} |"
        )
    doc.add("")
    _attention(doc, plan)
    for org in plan.orgs:
        _details(doc, org)
    doc.add(f"<sub>plan `{plan.plan_id}` · accessctl {plan.tool_version}</sub>")
    text = doc.text()
    if len(text) >= GITHUB_LIMIT:  # many organizations: only the headline survives
        text = (
            f"### accessctl plan\n\n**{summary_line(plan)}**{verdict}\n\n"
            f"The plan covers {len(plan.orgs)} organizations, too many to list in a comment: "
            "run `accessctl plan` locally or download the JSON plan.\n"
        )
    stream.write(text)


def _attention(doc: _Doc, plan: Plan) -> None:
    items: list[str] = []
    for org in plan.orgs:
        prefix = f"{org.organization}: " if len(plan.orgs) > 1 else ""
        for f in org.findings:
            if f.severity == "error":
                items.append(f"- :x: {prefix}{_finding(f)}")
        for c in org.changes:
            why = risk(c)
            if why:
                src = f" ({c.source})" if c.source else ""
                items.append(f"- :warning: {prefix}`{c.address}` {why}{src}")
    if not items:
        return
    doc.add("#### Needs a second look", "")
    shown = 0
    for item in items[:MAX_ATTENTION]:
        if not doc.fits(item, reserve=BUDGET_RESERVE):
            break
        doc.add(item)
        shown += 1
    if shown < len(items):
        doc.add(f"- … and {len(items) - shown} more (see the details below)")
    doc.add("")


def _finding(f: Finding) -> str:
    where = " ".join(
        x for x in (f"`{f.address}`" if f.address else "", f"({f.source})" if f.source else "") if x
    )
    return f"**{f.severity}** `{f.code}` {where + ': ' if where else ''}{_cell(f.message)}"


def _row(change: Change) -> str:
    what = "<br>".join(_cell(line) for line in field_lines(change))
    src = str(change.source) if change.source else ""
    return f"| `{SYMBOL[change.action]}` | `{_cell(change.address)}` | {what} | {src} |"


def _details(doc: _Doc, org: OrgPlan) -> None:
    if not org.changes and not org.findings:
        return
    doc.add(
        f"<details><summary>{org.organization}: {len(org.changes)} changes, "
        f"{len(org.findings)} findings</summary>",
        "",
    )
    for kind, changes in grouped(org):
        header = [f"**{kind}**", "", "| | address | change | source |", "|---|---|---|---|"]
        if not doc.fits(*header, reserve=BUDGET_RESERVE):
            _overflow(doc, changes)
            continue
        doc.add(*header)
        for i, change in enumerate(changes):
            row = _row(change)
            if not doc.fits(row, reserve=BUDGET_RESERVE):
                doc.add("")
                _overflow(doc, changes[i:])
                break
            doc.add(row)
        else:
            doc.add("")
    rest = [f for f in org.findings if f.severity != "error"]
    if rest:
        doc.add("**findings**", "")
        for i, f in enumerate(rest):
            line = f"- {_finding(f)}"
            if not doc.fits(line, reserve=BUDGET_RESERVE // 2):
                codes = Counter(x.code for x in rest[i:])
                doc.add(
                    f"- … and {len(rest) - i} more: "
                    + ", ".join(f"{n} `{code}`" for code, n in sorted(codes.items()))
                )
                break
            doc.add(line)
        doc.add("")
    doc.add("</details>", "")


def _overflow(doc: _Doc, changes: list[Change]) -> None:
    counts = Counter((c.kind, c.action) for c in changes)
    doc.add(
        f"… and {len(changes)} more changes not listed (comment size limit): "
        + ", ".join(f"{n} {kind} {action}" for (kind, action), n in sorted(counts.items()))
        + _role_moves(changes)
        + ". Run `accessctl plan` locally or download the JSON plan for every change.",
        "",
    )


def _role_moves(changes: list[Change]) -> str:
    moves = Counter(
        (str((c.before or {}).get("role")), str((c.after or {}).get("role")))
        for c in changes
        if c.kind == "users" and c.action == "update" and "role" in c.fields
    )
    if not moves:
        return ""
    top = sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return " (role changes: " + ", ".join(f"{a} → {b}: {n}" for (a, b), n in top) + ")"
