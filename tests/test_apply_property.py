"""The law that matters, end to end: for any desired state, after any hand-made drift, against
the real emulator, a safe plan applies without a failure and the next plan is empty; an unsafe
one is refused and sends nothing; the apply invites nobody twice.

Random users (all roles, internal and external, store grants, expiries), ranges (including
replacing the caller's range and emptying the list), the support setting, and hand-made changes
in the portal before the plan (invites, role changes, removals, ranges, the setting)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.apply import TODAY, accessctl, make_plan, write_config
from support.emulators import EmulatorPool

from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

CALLER_IP = "203.0.113.10"
USERS = [
    {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
    {"email": "u1@acme.example", "role": "User", "stores": ["MID1"]},
    {"email": "u2@acme.example", "role": "Admin", "stores": "all"},
    {"email": "x1@partner.example", "type": "external", "role": "External User",
     "expires_at": "2099-01-31", "stores": ["MID2"]},
]  # fmt: skip
SEED = {
    "organizations": [
        {
            "name": "acme",
            "plan": "ultimate",
            "technical_support_access": True,
            "stores": [{"id": "MID1", "name": "Web"}, {"id": "MID2", "name": "POS"}],
            "ip_ranges": [
                {"name": "Office", "cidr": "203.0.113.0/24"},
                {"name": "VPN", "cidr": "198.51.100.0/24"},
            ],
            "users": USERS,
            "tokens": [{"token": "tok-e2e-root", "email": "root@acme.example", "ip": CALLER_IP}],
        }
    ]
}
ROLES = ["Super Admin", "Admin", "User", "Settlement", "Disputes", "Read Only"]
CIDRS = ["203.0.113.0/24", "203.0.113.0/25", "203.0.0.0/16", "198.51.100.0/24", "192.0.2.0/24"]

stores = st.sampled_from(["all", "[MID1]", "[MID2]", "[MID1, MID2]", "[]"])
internal = st.builds(lambda role, s: f"role: {role}, stores: {s}", st.sampled_from(ROLES), stores)
external = st.builds(
    lambda day, s: f"type: external, expires: 2099-02-{day:02d}, stores: {s}",
    st.integers(1, 28),
    stores,
)
users = st.dictionaries(
    st.sampled_from(["u1@acme.example", "u2@acme.example", "u3@acme.example",
                     "x1@partner.example", "x2@partner.example"]),
    st.one_of(internal, external),
    max_size=5,
)  # fmt: skip
ranges = st.dictionaries(
    st.sampled_from(["Office", "VPN", "HQ", "Lab"]), st.sampled_from(CIDRS), max_size=4
).filter(lambda r: len(set(r.values())) == len(r))  # one name per network


# Hand-made changes in the portal before the plan, so the live side varies too. Each is a request
# a person could make; the platform may refuse some (that is fine: the live state stays as is).
hand_changes = st.lists(
    st.one_of(
        st.tuples(st.just("POST"), st.just("/users"), st.fixed_dictionaries({
            "email": st.sampled_from(["u3@acme.example", "h1@acme.example", "x2@partner.example"]),
            "type": st.just("internal"), "role": st.sampled_from(ROLES),
            "stores": st.sampled_from([["MID1"], ["MID1", "MID2"], []]),
        })),
        st.tuples(st.just("PATCH"), st.sampled_from(["u1", "u2"]), st.fixed_dictionaries({
            "role": st.sampled_from(ROLES),
        })),
        st.tuples(st.just("DELETE"), st.sampled_from(["u1", "u2", "x1"]), st.just({})),
        st.tuples(st.just("POST"), st.just("/ip-ranges"), st.fixed_dictionaries({
            "name": st.sampled_from(["Lab", "Hand"]), "cidr": st.sampled_from(CIDRS),
        })),
        st.tuples(st.just("PATCH"), st.just("/organization"), st.fixed_dictionaries({
            "technical_support_access": st.booleans(),
        })),
    ),
    max_size=4,
)  # fmt: skip


def _make_by_hand(emu: EmulatorProcess, changes: list[tuple[str, str, dict[str, Any]]]) -> None:
    api = emu.api("tok-e2e-root")
    ids = {u["email"].split("@")[0]: u["id"] for u in api.all_items("/users")}
    for method, target, body in changes:
        path = target if target.startswith("/") else f"/users/{ids.get(target, 'none')}"
        api.request(method, path, **({"json": body} if body else {}))


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _config(
    wanted_users: dict[str, str], wanted_ranges: dict[str, str], support: bool | None = None
) -> str:
    lines = [] if support is None else [f"settings: {{technical_support_access: {support}}}"]
    lines += ["ip_ranges:" if wanted_ranges else "ip_ranges: []"]
    lines += [f"  - {{name: {n}, cidr: {c}}}" for n, c in wanted_ranges.items()]
    lines += ["users:", "  - {email: root@acme.example, role: Super Admin, stores: all}"]
    lines += [f"  - {{email: {email}, {rest}}}" for email, rest in wanted_users.items()]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wanted_users=users,
    wanted_ranges=ranges,
    support=st.none() | st.booleans(),
    by_hand=hand_changes,
)
def test_a_safe_plan_converges_and_an_unsafe_one_sends_nothing(
    emu: EmulatorProcess,
    wanted_users: dict[str, str],
    wanted_ranges: dict[str, str],
    support: bool | None,
    by_hand: list[tuple[str, str, dict[str, Any]]],
) -> None:
    emu.reset()
    _make_by_hand(emu, by_hand)
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), _config(wanted_users, wanted_ranges, support))
        plan = make_plan(emu, config)
        before: list[dict[str, Any]] = emu.audit_events("tok-e2e-root")
        sent_before = len(emu.outbox())
        result = accessctl(emu, "apply", str(config), "--yes", "--today", TODAY.isoformat())
        if not plan.is_safe:
            assert result.exit_code == 1, result.output
            assert emu.audit_events("tok-e2e-root") == before  # nothing was sent
            return
        assert result.exit_code == 0, result.output
        again = make_plan(emu, config)
        assert again.changes == [], [c.address for c in again.changes]
        invited = [m["to"] for m in emu.outbox()[sent_before:]]
        assert len(invited) == len(set(invited)), invited  # the apply invited nobody twice
