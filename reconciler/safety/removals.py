"""How much a plan takes away, and the `policy.max_removals` rule that bounds it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.live import LiveState
from reconciler.model import DesiredOrg
from reconciler.plan import Change, Finding
from reconciler.safety.context import Context


def removal_count(changes: Iterable[Change]) -> int:
    """Users removed or replaced, and ranges deleted or moved in place (name and network both
    change: the live range is gone all the same)."""
    return sum(
        1
        for c in changes
        if (c.kind == "users" and c.action in ("delete", "replace"))
        or (c.kind == "ip_ranges" and c.action == "delete")
        or (c.kind == "ip_ranges" and c.action == "update" and {"name", "cidr"} <= set(c.fields))
    )


def grant_removals(changes: Iterable[Change]) -> int:
    """Store grants taken from users who stay (a removed user's grants go with the user, and
    count as that user's removal)."""
    total = 0
    for change in changes:
        if change.kind == "users" and change.action == "update" and "stores" in change.fields:
            before = set((change.before or {}).get("stores") or [])
            after = set((change.after or {}).get("stores") or [])
            total += len(before - after)
    return total


def max_removals(ctx: Context) -> Iterable[Finding]:
    return _removal_limit(ctx.desired, ctx.live, ctx.changes, force=ctx.force)


def _removal_limit(
    desired: DesiredOrg, live: LiveState, changes: Sequence[Change], *, force: bool
) -> list[Finding]:
    """`policy.max_removals` bounds two things alike: users and ranges removed (of those live),
    and store grants taken away (of the grants live), so one bad answer can neither remove
    everyone nor strip everyone's stores."""
    policy = desired.config.policy
    live_objects = len(live.users) + len(live.ip_ranges or [])
    live_grants = sum(len(u.stores) for u in live.users)
    checks = [
        (removal_count(changes), live_objects, "users and ranges"),
        (grant_removals(changes), live_grants, "store grants"),
    ]
    findings = []
    for removals, live_count, what in checks:
        limit = policy.removal_limit(live_count)
        if removals <= limit:
            continue
        findings.append(
            Finding(
                severity="warning" if force else "error",
                code="max_removals",
                message=(
                    f"the plan removes {removals} {what}; policy.max_removals "
                    f"({policy.max_removals} of {live_count} live) allows {limit}"
                    + (
                        ": accepted because of --force"
                        if force
                        else ": check the removals, then re-run with --force, or raise the limit"
                    )
                ),
            )
        )
    return findings
