"""The rule across the organizations of one run: one email holds one role on the whole
platform (SPEC §1), so a role change another organization of the run contradicts is refused."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.end_state import simulate
from reconciler.live import LiveState
from reconciler.model import normalise_email
from reconciler.plan import Finding, OrgPlan


def cross_org_roles(plans: Sequence[OrgPlan], lives: Sequence[LiveState]) -> list[list[Finding]]:
    """Per organization of one run, warnings for role changes the platform will refuse: one
    email holds one role across all organizations (SPEC §1), and another organization of this
    run keeps the email with another role, or changes it at the same time (each change is then
    refused while the other organization holds the old role). A removal elsewhere is fine:
    apply retries a refused change once the other organizations have run."""
    ends = [simulate(live, plan.changes).roles for plan, live in zip(plans, lives, strict=True)]
    # A Terminated holder counts: the platform refuses the role, and accessctl never changes it.
    starts = [{normalise_email(u.email): u.role for u in live.users} for live in lives]
    found: list[list[Finding]] = [[] for _ in plans]
    for i, plan in enumerate(plans):
        for change in plan.changes:
            if change.kind != "users" or change.after is None:
                continue
            if change.action == "update" and "role" not in change.fields:
                continue
            email, wanted = change.name, change.role_after
            for j, other in enumerate(plans):
                held, kept = starts[j].get(email), ends[j].get(email)
                if j == i or held is None or held == wanted or kept is None:
                    continue
                if kept == wanted:
                    why = (
                        f"{other.organization} changes it to {wanted} too, and each change is "
                        "refused while the other organization still holds the old role; remove "
                        f"the user from {other.organization}, apply, then invite them there again"
                    )
                else:
                    why = f"{other.organization} keeps {kept}; the two organizations disagree"
                found[i].append(
                    Finding(
                        severity="warning",
                        code="role_conflict",
                        message=(
                            f"{email} holds the role {held} in {other.organization}: the "
                            f"platform keeps one role per email, so {wanted} here will be "
                            f"refused ({why})"
                        ),
                        address=change.address,
                        source=change.source,
                    )
                )
                break
    return found
