"""A saved plan is applied only by the principal it was made as, and never from an address its
end state would shut out (reconciler/apply/run.py: check_saved)."""

from __future__ import annotations

import re

import pytest
from test_plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

from reconciler.apply.run import check_saved
from reconciler.errors import StalePlanError, UnsafePlanError
from reconciler.model import LiveState
from reconciler.pipeline import plan_org
from reconciler.plan import Plan

USERS = [live_user(ROOT, "Super Admin"), live_user("ops@acme.example", "Admin")]
OFFICE = live_range("Office", "203.0.113.0/24")


def _saved(live: LiveState) -> Plan:
    wanted = desired(
        users=[root_decl(), {"email": "ops@acme.example", "role": "Admin", "stores": []}],
        ip_ranges=[{"name": "Office", "cidr": "203.0.113.0/24"}],
        settings={"technical_support_access": False},
    )
    return Plan(config_digest="d", orgs=[plan_org(wanted, live)])


def test_the_same_principal_from_the_same_address_applies() -> None:
    live = live_state(USERS, [OFFICE])
    plan = _saved(live)
    assert plan.orgs[0].changes and plan.is_safe
    (run,) = check_saved(plan, lambda _org: live, None)
    assert run.live == live


def test_another_principal_is_refused() -> None:
    plan = _saved(live_state(USERS, [OFFICE]))
    other = live_state(USERS, [OFFICE], me="ops@acme.example", me_role="Admin")
    with pytest.raises(
        StalePlanError, match=re.escape("was made as root@acme.example, but this token is")
    ):
        check_saved(plan, lambda _org: other, None)


def test_another_address_inside_the_ranges_applies() -> None:
    plan = _saved(live_state(USERS, [OFFICE]))
    moved = live_state(USERS, [OFFICE], ip="203.0.113.99")
    (run,) = check_saved(plan, lambda _org: moved, None)
    assert run.live.me.ip == "203.0.113.99"


def test_another_address_outside_the_end_state_is_refused() -> None:
    plan = _saved(live_state(USERS, [OFFICE]))
    outside = live_state(USERS, [OFFICE], ip="198.51.100.7")
    with pytest.raises(
        UnsafePlanError, match=re.escape("runs from 198.51.100.7, which no allowed range")
    ):
        check_saved(plan, lambda _org: outside, None)
