"""The order a plan runs in: each change's `Phase`, which depends on the caller's IP (a range that
newly holds it runs first, one that takes it away runs last). `OrgPlan.phase` is the one to ask:
it knows the caller."""

from __future__ import annotations

import ipaddress
from enum import IntEnum
from typing import TYPE_CHECKING

from reconciler.model import ip_in_network
from reconciler.roles import role_rank

if TYPE_CHECKING:
    from reconciler.plan import Change


class Phase(IntEnum):
    """Execution order that never strands anyone (SPEC §5, issue 5). Lower runs first; changes
    within a phase may run concurrently."""

    # Ranges that newly hold the caller's IP, before any other range change: the platform refuses
    # each request that would leave the caller outside every range (the first range created when
    # none exist; deleting the old range a moved one replaces), so they cannot share a phase.
    COVER = 0
    WIDEN = 1  # support access; range additions, renames and widenings
    GRANT = 2  # invites, promotions, store grant additions, expiry changes
    REVOKE = 3  # demotions and store grant removals
    REMOVE = 4  # user removals and replacements (type change: remove, then re-invite)
    NARROW = 5  # range deletions and narrowings
    # Deletions and narrowings that take a range away from the caller's IP, after every other:
    # the platform refuses each one unless another range still holds the caller, so the ranges
    # that newly hold it (COVER) come first. Removing the last range that holds the caller is
    # refused even when no range would be left: the safety check refuses such a plan.
    RELEASE = 6


def _is_widening(before: str, after: str) -> bool:
    old = ipaddress.ip_network(before, strict=False)
    new = ipaddress.ip_network(after, strict=False)
    return old.version == new.version and old.subnet_of(new)  # type: ignore[arg-type]


def _holds(cidr: str | None, ip: str | None) -> bool:
    return cidr is not None and ip is not None and ip_in_network(ip, cidr)


def phase_of(change: Change, caller_ip: str | None) -> Phase:
    """`change`'s phase for a caller at `caller_ip` (None: not known, so never COVER or
    RELEASE)."""
    if change.kind == "settings":
        return Phase.WIDEN
    if change.kind == "ip_ranges":
        if (
            change.action in ("create", "update")
            and _holds(change.cidr_after, caller_ip)
            and not _holds(change.cidr_before, caller_ip)
        ):
            return Phase.COVER
        if change.action == "create":
            return Phase.WIDEN
        if (
            change.action in ("delete", "update")
            and _holds(change.cidr_before, caller_ip)
            and not _holds(change.cidr_after, caller_ip)
        ):
            return Phase.RELEASE
        if (
            change.action == "update"
            and change.before
            and change.after
            and (
                "cidr" not in change.fields
                or _is_widening(str(change.before["cidr"]), str(change.after["cidr"]))
            )
        ):
            return Phase.WIDEN
        return Phase.NARROW
    # users
    if change.action == "create":
        return Phase.GRANT
    if change.action in ("delete", "replace"):
        return Phase.REMOVE
    before, after = change.before or {}, change.after or {}
    if "role" in change.fields:
        # A promotion runs with the grants even when it also drops a store: a new Super Admin
        # must exist before the old one is demoted in REVOKE (a store removal strands nobody).
        promoted = role_rank(change.role_after) > role_rank(change.role_before)
        return Phase.GRANT if promoted else Phase.REVOKE
    if "stores" in change.fields and set(before.get("stores") or ()) - set(
        after.get("stores") or ()
    ):
        return Phase.REVOKE
    return Phase.GRANT
