"""One module per output format, each `render(plan, stream, *, color=False) -> None`. This module
holds what they share: counts, the summary line, field-level before → after wording, and which
changes are risky enough to point out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json import dumps
from typing import Any, TextIO

from reconciler.plan import NOT_DECLARED, Change, OrgPlan, Plan, address_name
from reconciler.roles import Role

FORMATS = ("text", "markdown", "json", "github")
KIND_ORDER = ("settings", "ip_ranges", "users")
SYMBOL = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}
MAX_LIST = 8

Renderer = Callable[..., None]


def renderer(name: str) -> Renderer:
    """The `render` function of format `name` (one of FORMATS)."""
    import importlib

    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}")
    module = importlib.import_module(f"reconciler.render.{name}")
    render: Renderer = module.render
    return render


@dataclass(frozen=True)
class Counts:
    add: int = 0
    change: int = 0
    remove: int = 0

    @classmethod
    def of(cls, changes: Iterable[Change]) -> Counts:
        add = change = remove = 0
        for c in changes:
            if c.action in ("create", "replace"):
                add += 1
            if c.action in ("delete", "replace"):
                remove += 1
            if c.action == "update":
                change += 1
        return cls(add, change, remove)


def compared(org: OrgPlan) -> bool:
    """False when the token belongs to another organization: no diff was computed."""
    return not any(f.code == "organization_mismatch" for f in org.findings)


def summary_line(plan: Plan) -> str:
    undeclared = undeclared_line(plan)
    if not plan.has_changes:
        skipped = [org.organization for org in plan.orgs if not compared(org)]
        if skipped:
            return (
                f"Not compared: the token is not {', '.join(skipped)}'s (see the findings); "
                "nothing was diffed."
            )
        errors = sum(f.severity == "error" for org in plan.orgs for f in org.findings)
        if errors:  # e.g. plan_required: the config asks for what this live state cannot hold
            return (
                f"No plan: {errors} error{'s' if errors != 1 else ''} to fix first (see the "
                "findings); the live state does not match the configuration."
            )
        if undeclared:
            return f"No changes to make, but {undeclared}"
        return "No changes. Live state matches the configuration."
    n = Counts.of(plan.changes)
    line = f"Plan: {n.add} to add, {n.change} to change, {n.remove} to remove."
    return f"{line} Drift too: {undeclared}" if undeclared else line


def undeclared_line(plan: Plan) -> str:
    """The live users kept undeclared by `policy.unmanaged_users: report`, named (drift the
    plan does not change), or "" when there are none."""
    emails = [address_name(str(f.address)) for f in plan.undeclared]
    if not emails:
        return ""
    n = len(emails)
    names = _short(emails)
    verb = "is" if n == 1 else "are"
    return (
        f"{n} live user{'s' if n != 1 else ''} {verb} not declared (kept by "
        f"policy.unmanaged_users: report): {names}."
    )


def origin(change: Change) -> str:
    """Where a change comes from: its declaration's `file:line`, or why it is planned without
    one (a live user removed because it is not declared); "" when neither is known."""
    if change.source is not None:
        return str(change.source)
    if change.reason == NOT_DECLARED:
        return "not declared; policy.unmanaged_users: remove"
    return change.reason or ""


def grouped(org: OrgPlan) -> list[tuple[str, list[Change]]]:
    """Changes by kind (settings, ranges, users), each in execution order."""
    ordered = org.ordered_changes()
    return [
        (kind, [c for c in ordered if c.kind == kind])
        for kind in KIND_ORDER
        if any(c.kind == kind for c in ordered)
    ]


def value(v: Any) -> str:
    """A field value as shown to people: strings quoted, long lists shortened."""
    if isinstance(v, list) and len(v) > MAX_LIST:
        head = ", ".join(dumps(x) for x in v[:MAX_LIST])
        return f"[{head}, … ({len(v)} in all)]"
    return dumps(v, ensure_ascii=False)


def field_lines(change: Change) -> list[str]:
    """`field: before → after` for an update; `field: value` for a create or delete."""
    before, after = change.before or {}, change.after or {}
    if change.action in ("create", "delete"):
        side = after if change.action == "create" else before
        return [f"{k}: {value(v)}" for k, v in side.items() if k != "email" and v not in (None, [])]
    lines = []
    for name in change.fields:
        old, new = before.get(name), after.get(name)
        if isinstance(old, list) and isinstance(new, list):
            added = sorted(set(new) - set(old))
            gone = sorted(set(old) - set(new))
            parts = []
            if added:
                parts.append("+ " + _short(added))
            if gone:
                parts.append("- " + _short(gone))
            lines.append(f"{name}: {'; '.join(parts)}")
        else:
            lines.append(f"{name}: {value(old)} → {value(new)}")
    return lines


def _short(items: list[str]) -> str:
    if len(items) > MAX_LIST:
        return ", ".join(items[:MAX_LIST]) + f", … ({len(items)} in all)"
    return ", ".join(items)


def risk(change: Change) -> str | None:
    """Why a reviewer should look twice at this change, or None."""
    after_role, before_role = change.role_after, change.role_before
    power = (role := Role.of(after_role)) is not None and role.is_power
    if change.kind == "users" and power and after_role != before_role:
        return f"grants {after_role}"
    if change.kind == "settings":
        on = (change.after or {}).get("technical_support_access")
        return f"turns technical support access {'on' if on else 'off'}"
    if change.kind == "ip_ranges" and change.action == "delete":
        return "deletes an allowed IP range"
    return None


def write_lines(stream: TextIO, lines: Iterable[str]) -> None:
    for line in lines:
        stream.write(line + "\n")
