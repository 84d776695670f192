"""The plan as a pull-request comment: a summary table first, then what needs a second look
(safety violations, Super Admin and Admin grants, support access, range deletions), then the
details in `<details>`. Always under GitHub's 65,536-character limit: every part is measured, and
room for what must follow is kept before anything optional is added, so past the budget the rest
is summarised (counts per kind and action) — a table is always closed, never cut.

What is kept, most important first: the headline and one table row per organization; every
safety violation (counted per code when there are too many); up to 50 risky changes; each
organization's findings; then its changes line by line. An organization whose changes no longer
fit keeps its `<details>` with the counts. Only when even that cannot fit are the details left out,
and only when the table cannot fit does the comment shrink to a headline naming the unsafe
organizations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TextIO

from reconciler.display import plural
from reconciler.findings import Finding
from reconciler.plan import Change, OrgPlan, Plan
from reconciler.render import SYMBOL, Counts, field_lines, grouped, origin, risk, summary_line

GITHUB_LIMIT = 65_536
BUDGET = 60_000  # leaves room for the heading and footer the PR workflow wraps the comment in
MAX_ATTENTION = 50  # risky changes pointed out before the rest are counted instead
MAX_ROLE_MOVES = 10  # role moves named in a count of changes
SEE_LOCALLY = "run `accessctl plan` locally or download the JSON plan"


def _size(lines: Iterable[str]) -> int:
    return sum(len(x) + 1 for x in lines)


class _Doc:
    """Lines with a running size, so a section knows when to stop and summarise."""

    def __init__(self, budget: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.budget = budget

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)
        self.size += _size(lines)

    def fits(self, *lines: str, reserve: int = 0) -> bool:
        return self.size + _size(lines) + reserve <= self.budget

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _after(sizes: list[int]) -> list[int]:
    """For each part, the size of the parts after it: what it must leave room for."""
    after, total = [], sum(sizes)
    for size in sizes:
        total -= size
        after.append(total)
    return after


def render(plan: Plan, stream: TextIO, *, color: bool = False, budget: int = BUDGET) -> None:
    """Write the comment in at most `budget` characters, never more than GitHub's limit (only
    the headline, in a budget too small for anything else, may take more)."""
    budget = min(budget, GITHUB_LIMIT - 1)
    text = _comment(plan, budget, details=True)
    if len(text) > budget:  # too many organizations for a `<details>` each
        text = _comment(plan, budget, details=False)
    if len(text) > budget:  # too many even for a table row each
        text = _headline_only(plan, budget)
    stream.write(text)


def _headline(plan: Plan) -> list[str]:
    verdict = ""
    violations = sum(len(o.violations) for o in plan.orgs)
    if violations:
        verdict = (
            f" :x: **{plural(violations, 'safety violation')}: this plan will not be applied.**"
        )
    return ["### accessctl plan", "", f"**{summary_line(plan)}**{verdict}", ""]


def _comment(plan: Plan, budget: int, *, details: bool) -> str:
    doc = _Doc(budget)
    doc.add(*_headline(plan))
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
    end = [f"<sub>plan `{plan.plan_id}` · accessctl {plan.tool_version}</sub>"]
    blocks = [_Block(org) for org in plan.orgs if org.changes or org.findings] if details else []
    if not details:
        end[:0] = [
            f"The changes and findings of each organization are not listed (comment size limit): "
            f"{SEE_LOCALLY}.",
            "",
        ]
    _attention(doc, plan, reserve=_size(end) + sum(b.planned for b in blocks), details=details)
    _allot_findings(doc, blocks, reserve=_size(end))
    for block, after in zip(blocks, _after([b.planned for b in blocks]), strict=True):
        block.render(doc, reserve=after + _size(end))
    doc.add(*end)
    return doc.text()


def _headline_only(plan: Plan, budget: int) -> str:
    doc = _Doc(budget)
    doc.add(*_headline(plan))
    doc.add(
        f"The plan covers {len(plan.orgs)} organizations, too many to list in a comment: "
        f"{SEE_LOCALLY}.",
    )
    unsafe = [org for org in plan.orgs if org.violations]
    if unsafe:
        doc.add("", "Unsafe organizations:", "")
        more = "- … and {} more unsafe organizations"
        for i, org in enumerate(unsafe):
            line = f"- :x: {_cell(org.organization)}: {_codes(org.violations)}"
            if not doc.fits(line, reserve=_size([more.format(len(unsafe))])):
                doc.add(more.format(len(unsafe) - i))
                break
            doc.add(line)
    return doc.text()


def _attention(doc: _Doc, plan: Plan, *, reserve: int, details: bool) -> None:
    """Every violation, counted per code for an organization whose violations do not all fit,
    then up to MAX_ATTENTION risky changes; `reserve` is kept for what follows."""

    def prefix(org: OrgPlan) -> str:
        return f"{org.organization}: " if len(plan.orgs) > 1 else ""

    unsafe = [org for org in plan.orgs if org.violations]
    risky: list[str] = []
    for org in plan.orgs:
        for c in org.changes:
            why = risk(c)
            if why:
                src = f" ({c.source})" if c.source else ""
                risky.append(f"- :warning: {prefix(org)}`{c.address}` {why}{src}")
    if not unsafe and not risky:
        return
    hint = "see the details below" if details else SEE_LOCALLY
    own = _size([f"- … and {len(risky)} more ({hint})", ""])
    doc.add("#### Needs a second look", "")
    bounds = [_size([_violations_left(prefix(org), org.violations, 0)]) for org in unsafe]
    for org, bound, after in zip(unsafe, bounds, _after(bounds), strict=True):
        for i, f in enumerate(org.violations):
            line = f"- :x: {prefix(org)}{_finding(f)}"
            if not doc.fits(line, reserve=reserve + own + after + bound):
                doc.add(_violations_left(prefix(org), org.violations[i:], i))
                break
            doc.add(line)
    shown = 0
    for item in risky[:MAX_ATTENTION]:
        if not doc.fits(item, reserve=reserve + own):
            break
        doc.add(item)
        shown += 1
    if shown < len(risky):
        doc.add(f"- … and {len(risky) - shown} more ({hint})")
    doc.add("")


def _codes(findings: Sequence[Finding]) -> str:
    codes = Counter(f.code for f in findings)
    return ", ".join(f"{n} `{code}`" for code, n in sorted(codes.items()))


def _violations_left(prefix: str, left: Sequence[Finding], listed: int) -> str:
    """The violations not listed, counted per code: never longer for a part of them than for
    all, nor when some were listed than when none were."""
    if listed:
        return f"- :x: {prefix}… and {len(left)} more safety violations: {_codes(left)}"
    n = plural(len(left), "safety violation")
    return f"- :x: {prefix}{n} not listed (comment size limit): {_codes(left)}"


def _findings_left(left: Sequence[Finding], listed: int) -> str:
    """The findings not listed, counted per code: never longer for a part of them than for all,
    nor when some were listed than when none were."""
    if listed:
        return f"- … and {len(left)} more: {_codes(left)}"
    return f"- {plural(len(left), 'finding')} not listed (comment size limit): {_codes(left)}"


def _finding(f: Finding) -> str:
    where = " ".join(
        x for x in (f"`{f.address}`" if f.address else "", f"({f.where})" if f.where else "") if x
    )
    hint = f"<br>hint: {_cell(f.hint)}" if f.hint else ""
    return f"**{f.severity}** `{f.code}` {where + ': ' if where else ''}{_cell(f.message)}{hint}"


def _row(change: Change) -> str:
    what = "<br>".join(_cell(line) for line in field_lines(change))
    src = _cell(origin(change))
    return f"| `{SYMBOL[change.action]}` | `{_cell(change.address)}` | {what} | {src} |"


class _Block:
    """One organization's `<details>`: its changes in a table per kind, then its findings (the
    violations are above, with what needs a second look). `planned` is its size with its changes
    counted instead of listed: the least it takes, and what the organizations before it keep."""

    def __init__(self, org: OrgPlan) -> None:
        self.head = [
            f"<details><summary>{org.organization}: {len(org.changes)} changes, "
            f"{len(org.findings)} findings</summary>",
            "",
        ]
        self.groups = grouped(org)
        self.changes = [c for _, changes in self.groups for c in changes]
        self.rest = [f for f in org.findings if f.severity != "error"]
        self.listed = 0  # findings listed one by one; the others are counted
        self.tail = ["</details>", ""]
        # the count of all changes, when none is listed; and the longest count of the changes
        # left after some are listed (the same counts or smaller, but maybe other role moves)
        self.overflow = _size(_overflow(self.changes, 0)) if self.changes else 0
        self.most = 0
        if self.changes:
            self.most = (
                _size(_overflow(self.changes, 1))
                - len(_role_moves(self.changes))
                + _role_moves_bound(self.changes)
            )

    def findings(self) -> list[str]:
        if not self.rest:
            return []
        lines = ["**findings**", "", *(f"- {_finding(f)}" for f in self.rest[: self.listed])]
        if self.listed < len(self.rest):
            lines.append(_findings_left(self.rest[self.listed :], self.listed))
        return [*lines, ""]

    @property
    def planned(self) -> int:
        return _size(self.head) + self.overflow + _size(self.findings()) + _size(self.tail)

    def allot(self, room: int) -> int:
        """List as many findings as fit in `room` more characters; returns the room used."""
        before = self.planned
        used = 0
        for f in self.rest:
            used += _size([f"- {_finding(f)}"])
            if used > room:
                break
            self.listed += 1
        return self.planned - before

    def render(self, doc: _Doc, *, reserve: int) -> None:
        """List changes while they fit with `reserve` kept for the blocks after this one."""
        doc.add(*self.head)
        findings = self.findings()
        # what closes this block, at most: a blank line closing a table, the count of the
        # changes not listed, the findings and the closing tag
        own = 1 + self.most + _size(findings) + _size(self.tail)
        listed = 0
        for kind, changes in self.groups:
            shown = _table(doc, kind, changes, reserve=reserve + own)
            listed += shown
            if shown < len(changes):
                break
        if listed < len(self.changes):
            doc.add(*_overflow(self.changes[listed:], listed))
        doc.add(*findings, *self.tail)


def _table(doc: _Doc, kind: str, changes: list[Change], *, reserve: int) -> int:
    """A table of the first `changes` that fit with `reserve` kept, closed by a blank line (no
    table when not even one row fits); returns how many are listed."""
    header = [f"**{kind}**", "", "| | address | change | source |", "|---|---|---|---|"]
    for i, change in enumerate(changes):
        lines = [*(header if i == 0 else ()), _row(change)]
        if not doc.fits(*lines, reserve=reserve):
            if i:
                doc.add("")
            return i
        doc.add(*lines)
    doc.add("")
    return len(changes)


def _allot_findings(doc: _Doc, blocks: list[_Block], *, reserve: int) -> None:
    """Share what is left, after every block's least size and `reserve`, among the blocks'
    findings, in order: findings come before the changes listed one by one."""
    room = doc.budget - doc.size - reserve - sum(b.planned for b in blocks)
    for block in blocks:
        if room <= 0:
            break
        room -= block.allot(room)


def _overflow(changes: list[Change], listed: int) -> list[str]:
    """The changes not listed, counted per kind and action, with the commonest role moves."""
    counts = Counter((c.kind, c.action) for c in changes)
    what = f"… and {len(changes)} more changes" if listed else plural(len(changes), "change")
    return [
        f"{what} not listed (comment size limit): "
        + ", ".join(f"{n} {kind} {action}" for (kind, action), n in sorted(counts.items()))
        + _role_moves(changes)
        + f". {SEE_LOCALLY[0].upper()}{SEE_LOCALLY[1:]} for every change.",
        "",
    ]


def _moves(changes: list[Change]) -> Counter[tuple[str, str]]:
    return Counter(
        (str(c.role_before), str(c.role_after))
        for c in changes
        if c.kind == "users" and c.action == "update" and "role" in c.fields
    )


def _role_moves(changes: list[Change]) -> str:
    moves = _moves(changes)
    if not moves:
        return ""
    top = sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_ROLE_MOVES]
    return " (role changes: " + ", ".join(f"{a} → {b}: {n}" for (a, b), n in top) + ")"


def _role_moves_bound(changes: list[Change]) -> int:
    """The longest `_role_moves` of any part of `changes`: as many moves at most, each with a
    count no larger, so no longer than the longest ones of all of them."""
    entries = sorted((len(f"{a} → {b}: {n}") for (a, b), n in _moves(changes).items()))
    top = entries[-MAX_ROLE_MOVES:]
    return len(" (role changes: )") + sum(top) + 2 * (len(top) - 1) if top else 0
