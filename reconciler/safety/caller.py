"""The rules that depend on who calls (the token's principal and the caller's IP): checked when
the plan is made for the principal that plans, and again by `caller_checks` when a saved plan is
applied, for the principal that applies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.end_state import EndState, covers, simulate
from reconciler.findings import Location
from reconciler.live import LiveState
from reconciler.model import ip_in_network, normalise_email
from reconciler.plan import Change, Finding, Severity
from reconciler.safety.context import SUPER, Context, can_manage, loses, verb

# The codes of the rules that depend on who calls (every rule of this module).
CALLER_RULES = frozenset({"insufficient_role", "lockout", "self_change", "super_admin_required"})


def insufficient_role(ctx: Context) -> Iterable[Finding]:
    return _insufficient_role(ctx.live, ctx.changes, applying=False, source=ctx.org_source)


def lockout(ctx: Context) -> Iterable[Finding]:
    return _lockout(ctx.live, ctx.changes, ctx.end)


def caller_change_rules(ctx: Context, change: Change) -> Iterable[Finding]:
    """`self_change` and `super_admin_required` (see `_caller_change_rules`)."""
    return _caller_change_rules(ctx.live, change, applying=False)


def caller_checks(live: LiveState, changes: Sequence[Change]) -> list[Finding]:
    """Every caller-dependent rule `changes` break for the principal and address of `live` (its
    `/me` and caller IP), as errors: what `apply` checks again before sending a saved plan made
    by another principal, or from another address."""
    findings = _insufficient_role(live, changes, applying=True)
    findings += _lockout(live, changes, simulate(live, changes))
    for change in changes:
        if change.kind == "users":
            findings += _caller_change_rules(live, change, applying=True)
    return findings


def _lockout_reason(
    live: LiveState, changes: Sequence[Change], end: EndState
) -> tuple[str, Change | None] | None:
    """Why the plan would lock the caller out, and the range change to blame; None when it
    would not. The platform refuses to change or delete the range that holds the caller's IP
    unless another range still holds it, even when that leaves no range at all (the seed: "your
    IP address must be included in at least one other existing allowed range"): an allow list
    that holds the caller can never be emptied."""
    ip = live.ip
    range_changes = [c for c in changes if c.kind == "ip_ranges"]
    if end.cidrs and not covers(end.cidrs, ip):
        culprit = next(iter(range_changes), None)
        return (
            f"after this plan no allowed IP range contains the caller's IP {ip}: the token "
            "would be locked out; add a range that covers it",
            culprit,
        )
    held = [r for r in live.ip_ranges or [] if ip_in_network(ip, r.cidr)]
    if end.cidrs or not held:
        return None
    by_id = {r.id: r for r in held}
    culprit = next((c for c in range_changes if c.id in by_id), None)
    last = by_id[culprit.id] if culprit is not None and culprit.id else held[0]
    return (
        f"this plan deletes every allowed IP range, including {last.name!r} ({last.cidr}), the "
        "last one "
        f"that holds the caller's IP {ip}: the platform refuses to remove the range that holds "
        "the caller unless another range still holds it, so an allow list that holds the caller "
        "can never be emptied; keep a range that holds it",
        culprit,
    )


def _insufficient_role(
    live: LiveState,
    changes: Sequence[Change],
    *,
    applying: bool,
    source: Location | None = None,
) -> list[Finding]:
    if not changes or can_manage(live.me.role):
        return []
    if applying:
        message = (
            f"the token's principal {live.me.email} is {live.me.role}: only an Admin's or "
            "Super Admin's token can apply a plan; apply with such a token"
        )
    else:
        # A warning: a read-only token may plan (pull requests, drift); `apply` refuses it.
        message = (
            f"the token's principal {live.me.email} is {live.me.role}: this plan can be "
            "reviewed, but only an Admin's or Super Admin's token can apply it (the rules that "
            "depend on who calls are checked again for that principal when it applies)"
        )
    return [
        Finding(
            severity="error" if applying else "warning",
            code="insufficient_role",
            message=message,
            source=source,
        )
    ]


def _lockout(live: LiveState, changes: Sequence[Change], end: EndState) -> list[Finding]:
    found = _lockout_reason(live, changes, end)
    if found is None:
        return []
    message, culprit = found
    return [
        Finding(
            severity="error",
            code="lockout",
            message=message,
            address=culprit.address if culprit else "ip_ranges",
            source=culprit.source if culprit else None,
        )
    ]


def _caller_change_rules(live: LiveState, change: Change, *, applying: bool) -> list[Finding]:
    """Self-removal and the Super Admin rules for one user change. A principal that cannot apply
    at all (plans with a read-only token) gets them as warnings: they hold for whoever applies,
    and `apply` checks them again for that principal."""
    found: list[Finding] = []
    email = change.name
    role = live.me.role
    severity: Severity = "error" if applying or can_manage(role) else "warning"
    later = "" if severity == "error" else " (checked again for the principal that applies)"

    def add(code: str, message: str) -> None:
        found.append(
            Finding(
                severity=severity,
                code=code,
                message=message + later,
                address=change.address,
                source=change.source,
            )
        )

    if email == normalise_email(live.me.email) and loses(change):
        add(
            "self_change",
            f"{email} is the token's own principal and this change would {verb(change)} it: "
            "run the plan with another Admin's token",
        )
    touches_super = SUPER in (change.role_before, change.role_after) and (
        change.action != "update" or "role" in change.fields
    )
    if touches_super and role != SUPER:
        add(
            "super_admin_required",
            f"{email}: only a Super Admin may grant or revoke Super Admin, and the token's "
            f"principal is {role}: use a Super Admin's token",
        )
    return found
