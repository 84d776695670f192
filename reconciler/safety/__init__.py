"""The invariants a plan must keep (SPEC §5), checked on the simulated end state
(`reconciler.end_state`) before any request is sent. Each violation is an error `Finding` whose
message says what to do; `force` turns only the removal limit into a warning.

Each rule is a function of a `Context` (`context`) yielding findings; `check` runs the `RULES`
in order. The rules live by subject: the organization as declared (`organization`), who calls
(`caller`, checked again when a saved plan is applied), users (`users`, whose rules about one
user change are in `USER_CHANGE_RULES`), removals (`removals`), and the organizations of one run
together (`across_orgs`). Their codes are declared in `reconciler.finding_codes`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from reconciler.end_state import simulate
from reconciler.live import LiveState
from reconciler.model import DesiredOrg
from reconciler.plan import Change, Finding
from reconciler.safety.across_orgs import cross_org_roles
from reconciler.safety.caller import CALLER_RULES, caller_checks, insufficient_role, lockout
from reconciler.safety.context import Context
from reconciler.safety.organization import (
    organization_mismatch,
    plan_required,
    too_many_ranges,
    unknown_store,
)
from reconciler.safety.removals import grant_removals, max_removals, removal_count
from reconciler.safety.users import USER_CHANGE_RULES, last_super_admin, user_changes

__all__ = [
    "CALLER_RULES",
    "RULES",
    "USER_CHANGE_RULES",
    "Context",
    "caller_checks",
    "check",
    "cross_org_roles",
    "grant_removals",
    "removal_count",
]

# Every rule, in the order its findings are listed (codes: reconciler.finding_codes).
RULES: tuple[Callable[[Context], Iterable[Finding]], ...] = (
    organization_mismatch,
    insufficient_role,
    plan_required,
    unknown_store,
    too_many_ranges,
    lockout,
    user_changes,
    last_super_admin,
    max_removals,
)


def check(
    desired: DesiredOrg,
    live: LiveState,
    changes: Sequence[Change],
    *,
    force: bool = False,
    today: date | None = None,
) -> list[Finding]:
    """Every rule broken by `changes` on `live`, in a stable order; `today` decides whose
    access has ended, as in `diff`."""
    ctx = Context(desired, live, changes, simulate(live, changes), force, today)
    return [finding for rule in RULES for finding in rule(ctx)]
