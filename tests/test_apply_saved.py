"""A saved plan may be applied by another principal than the one that made it (a read-only token
plans, the Admin token applies): the rules that depend on who calls are checked again for the
principal and address that apply, against the live state just read (reconciler/apply/runs.py:
check_saved)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

from reconciler.apply.runs import check_safe, check_saved
from reconciler.errors import UnsafePlanError
from reconciler.live import LiveState, LiveUser
from reconciler.pipeline import plan_org
from reconciler.plan import Plan

OPS, AUDITOR = "ops@acme.example", "auditor@acme.example"
USERS = [
    live_user(ROOT, "Super Admin"),
    live_user(OPS, "Admin"),
    live_user(AUDITOR, "Read Only"),
]
OFFICE = live_range("Office", "203.0.113.0/24")


def _decl(email: str, role: str) -> dict[str, Any]:
    return {"email": email, "role": role, "stores": "all"}


def _saved(live: LiveState, *users: dict[str, Any]) -> Plan:
    wanted = desired(
        users=[root_decl(), *(users or (_decl(OPS, "Admin"), _decl(AUDITOR, "Read Only")))],
        ip_ranges=[{"name": "Office", "cidr": "203.0.113.0/24"}],
        settings={"technical_support_access": False},
        policy={"unmanaged_users": "remove", "max_removals": "100%"},
    )
    return Plan(config_digest="d", orgs=[plan_org(wanted, live)])


def _as(who: str, role: str, users: list[LiveUser] = USERS, **kw: Any) -> LiveState:
    return live_state(users, [OFFICE], me=who, me_role=role, **kw)


def test_the_same_principal_from_the_same_address_applies() -> None:
    live = _as(ROOT, "Super Admin")
    plan = _saved(live)
    assert plan.orgs[0].changes and plan.is_safe
    (run,) = check_saved(plan, lambda _org: live, None)
    assert run.live == live
    assert run.org.caller == plan.orgs[0].caller


def test_a_read_only_plan_is_applied_by_an_admin() -> None:
    plan = _saved(_as(AUDITOR, "Read Only"))
    (org,) = plan.orgs
    assert [f.code for f in org.findings if f.severity == "warning"] == ["insufficient_role"]
    check_safe(plan, saved=True)  # the planner's role is checked again for the one that applies
    with pytest.raises(UnsafePlanError, match="insufficient_role"):
        check_safe(plan)  # applied as made: the read-only principal may not
    admin = _as(OPS, "Admin")
    (run,) = check_saved(plan, lambda _org: admin, None)
    assert (run.org.caller.email, run.org.caller.role) == (OPS, "Admin")


def test_a_read_only_principal_may_not_apply() -> None:
    plan = _saved(_as(ROOT, "Super Admin"))
    with pytest.raises(
        UnsafePlanError,
        match=re.escape(f"insufficient_role: the token's principal {AUDITOR} is Read Only"),
    ):
        check_saved(plan, lambda _org: _as(AUDITOR, "Read Only"), None)


def test_removing_the_principal_that_applies_is_refused() -> None:
    # Planned by the read-only principal: removing ops@ is fine for it, not for ops@ itself.
    plan = _saved(_as(AUDITOR, "Read Only"), _decl(AUDITOR, "Read Only"))
    assert [c.address for c in plan.orgs[0].changes if c.action == "delete"] == [f"users/{OPS}"]
    with pytest.raises(UnsafePlanError) as caught:
        check_saved(plan, lambda _org: _as(OPS, "Admin"), None)
    message = caught.value.message
    assert f"made as {AUDITOR}" in message and f"unsafe for {OPS} (Admin)" in message
    assert f"self_change: {OPS} is the token's own principal" in message
    (run,) = check_saved(plan, lambda _org: _as(ROOT, "Super Admin"), None)  # another Admin may
    assert run.org.caller.email == ROOT


def test_super_admin_rules_hold_for_the_principal_that_applies() -> None:
    # The read-only planner is warned, not stopped; an Admin may not apply, a Super Admin may.
    plan = _saved(_as(AUDITOR, "Read Only"), _decl(OPS, "Super Admin"), _decl(AUDITOR, "Read Only"))
    (org,) = plan.orgs
    warned = [f for f in org.findings if f.code == "super_admin_required"]
    assert [f.severity for f in warned] == ["warning"]
    assert warned[0].message.endswith("(checked again for the principal that applies)")
    assert plan.is_safe
    with pytest.raises(UnsafePlanError, match=f"super_admin_required: {re.escape(OPS)}: only"):
        check_saved(plan, lambda _org: _as(OPS, "Admin"), None)
    check_saved(plan, lambda _org: _as(ROOT, "Super Admin"), None)


def test_a_manager_planning_is_held_to_its_own_rules() -> None:
    plan = _saved(_as(OPS, "Admin"), _decl(OPS, "Super Admin"), _decl(AUDITOR, "Read Only"))
    assert not plan.is_safe
    assert [f.code for f in plan.orgs[0].violations] == ["super_admin_required"]


def test_another_address_inside_the_ranges_applies() -> None:
    plan = _saved(_as(ROOT, "Super Admin"))
    (run,) = check_saved(plan, lambda _org: _as(ROOT, "Super Admin", ip="203.0.113.99"), None)
    assert run.live is not None and run.live.me.ip == "203.0.113.99"
    assert run.org.caller.ip == "203.0.113.99"  # the range order follows the applying caller


def test_another_address_outside_the_end_state_is_refused() -> None:
    plan = _saved(_as(ROOT, "Super Admin"))
    with pytest.raises(UnsafePlanError) as caught:
        check_saved(plan, lambda _org: _as(ROOT, "Super Admin", ip="198.51.100.7"), None)
    assert "applying from 198.51.100.7; nothing was sent" in caught.value.message
    assert "lockout: after this plan no allowed IP range contains the caller's IP 198.51.100.7" in (
        caught.value.message
    )
