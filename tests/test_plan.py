"""reconciler/plan.py and phases.py: execution phases, the live fingerprint, idempotency keys,
plan files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.plan_builders import live_range, live_state, live_user

from reconciler.errors import AccessctlError
from reconciler.findings import Finding, Location
from reconciler.live import LiveUser
from reconciler.phases import Phase, phase_of
from reconciler.plan import (
    Caller,
    Change,
    OrgPlan,
    Plan,
    idempotency_key,
    live_fingerprint,
    load_plan,
    save_plan,
)


def _user_update(before: dict[str, object], after: dict[str, object]) -> Change:
    fields = sorted(k for k in after if before.get(k) != after[k])
    return Change(
        address="users/a@x.example", kind="users", action="update", before=before, after=after,
        fields=fields,
    )  # fmt: skip


def _range_update(old: str, new: str, name: str = "HQ") -> Change:
    return Change(
        address=f"ip_ranges/{name}", kind="ip_ranges", action="update",
        before={"name": name, "cidr": old}, after={"name": name, "cidr": new}, fields=["cidr"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "phase"),
    [
        (Change(address="settings/technical_support_access", kind="settings", action="update"),
         Phase.WIDEN),
        (Change(address="ip_ranges/A", kind="ip_ranges", action="create"), Phase.WIDEN),
        (_range_update("10.0.0.0/24", "10.0.0.0/16"), Phase.WIDEN),
        (_range_update("10.0.0.0/16", "10.0.0.0/24"), Phase.NARROW),
        (_range_update("10.0.0.0/24", "192.0.2.0/24"), Phase.NARROW),
        (Change(address="ip_ranges/A", kind="ip_ranges", action="delete"), Phase.NARROW),
        (Change(address="users/a@x.example", kind="users", action="create"), Phase.GRANT),
        (_user_update({"role": "User"}, {"role": "Admin"}), Phase.GRANT),
        (_user_update({"role": "Admin"}, {"role": "User"}), Phase.REVOKE),
        (_user_update({"role": "Settlement"}, {"role": "Disputes"}), Phase.REVOKE),
        (_user_update({"stores": ["M1"]}, {"stores": ["M1", "M2"]}), Phase.GRANT),
        (_user_update({"stores": ["M1", "M2"]}, {"stores": ["M2"]}), Phase.REVOKE),
        (_user_update({"role": "Admin", "stores": ["M1", "M2"]},
                      {"role": "Super Admin", "stores": ["M2"]}), Phase.GRANT),
        (_user_update({"role": "Admin", "stores": ["M1"]},
                      {"role": "User", "stores": ["M1", "M2"]}), Phase.REVOKE),
        (Change(address="users/a@x.example", kind="users", action="delete"), Phase.REMOVE),
        (Change(address="users/a@x.example", kind="users", action="replace"), Phase.REMOVE),
    ],
)  # fmt: skip
def test_phases_never_strand_anyone(change: Change, phase: Phase) -> None:
    assert phase_of(change, None) == phase


def _range_create(cidr: str) -> Change:
    return Change(
        address="ip_ranges/New", kind="ip_ranges", action="create",
        after={"name": "New", "cidr": cidr}, fields=["name", "cidr"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "phase"),
    [
        (_range_create("192.0.2.0/24"), Phase.COVER),
        (_range_create("10.0.0.0/8"), Phase.WIDEN),
        (_range_update("10.0.0.0/24", "192.0.2.0/24"), Phase.COVER),  # moved onto the caller
        (_range_update("192.0.2.0/24", "10.0.0.0/24"), Phase.RELEASE),  # moved off the caller
        (_range_update("192.0.2.0/28", "192.0.2.0/24"), Phase.WIDEN),  # held it already
        (_range_update("192.0.2.0/24", "192.0.2.0/28"), Phase.NARROW),  # still holds it
        (_range_update("2001:db8::/32", "192.0.2.0/24"), Phase.COVER),
    ],
)  # fmt: skip
def test_ranges_that_newly_hold_the_caller_come_first(change: Change, phase: Phase) -> None:
    """The platform checks the caller's IP on every range request: the first range created when
    none exist, or a range moved onto the caller's IP, must land before the rest."""
    assert phase_of(change, "192.0.2.7") == phase
    assert phase_of(change, None) != Phase.COVER


def test_an_ipv6_caller_is_covered_by_ipv6_ranges_only() -> None:
    assert phase_of(_range_create("2001:db8::/32"), "2001:db8::1") == Phase.COVER
    assert phase_of(_range_create("192.0.2.0/24"), "2001:db8::1") == Phase.WIDEN
    moved = _range_update("192.0.2.0/24", "2001:db8::/48")
    assert phase_of(moved, "2001:db8::1") == Phase.COVER
    assert phase_of(moved, "192.0.2.7") == Phase.RELEASE  # moved off the IPv4 caller


def test_org_plan_orders_by_its_callers_phases() -> None:
    delete = Change(
        address="ip_ranges/A", kind="ip_ranges", action="delete",
        before={"name": "A", "cidr": "192.0.2.0/24"}, id="r-A",
    )  # fmt: skip
    move = _range_update("10.0.0.0/8", "192.0.2.0/25", name="B")
    org = OrgPlan(
        organization="acme", live_fingerprint="x",
        caller=Caller(email="root@acme.example", role="Super Admin", ip="192.0.2.7"),
        changes=[delete, move, _range_create("10.0.0.0/8")],
    )  # fmt: skip
    assert [(c.address, org.phase(c)) for c in org.ordered_changes()] == [
        ("ip_ranges/B", Phase.COVER),
        ("ip_ranges/New", Phase.WIDEN),
        ("ip_ranges/A", Phase.RELEASE),
    ]


def test_rename_only_is_a_widening() -> None:
    change = Change(
        address="ip_ranges/New", kind="ip_ranges", action="update",
        before={"name": "Old", "cidr": "10.0.0.0/24"}, after={"name": "New", "cidr": "10.0.0.0/24"},
        fields=["name"],
    )  # fmt: skip
    assert phase_of(change, None) == Phase.WIDEN


def _etag(user: LiveUser, etag: str) -> LiveUser:
    return user.model_copy(update={"etag": etag})


def test_fingerprint_ignores_order_and_caller_ip_but_sees_every_change() -> None:
    users = [live_user("a@acme.example"), live_user("b@acme.example")]
    ranges = [live_range("HQ", "203.0.113.0/24"), live_range("VPN", "198.51.100.0/24")]
    base = live_fingerprint(live_state(users, ranges))
    assert live_fingerprint(live_state(users[::-1], ranges[::-1])) == base
    assert live_fingerprint(live_state(users, ranges, ip="198.51.100.7")) == base
    assert live_fingerprint(live_state([users[0], _etag(users[1], "e2")], ranges)) != base
    assert live_fingerprint(live_state(users[:1], ranges)) != base
    assert live_fingerprint(live_state(users, ranges[:1])) != base
    assert live_fingerprint(live_state(users, ranges, stores=("MID1",))) != base


def test_fingerprint_falls_back_to_content_without_etags() -> None:
    user = _etag(live_user("a@acme.example"), "")
    promoted = user.model_copy(update={"role": "Admin"})
    assert live_fingerprint(live_state([user])) != live_fingerprint(live_state([promoted]))


def test_idempotency_keys_are_deterministic_per_plan_change_and_step() -> None:
    change = Change(address="users/a@x.example", kind="users", action="replace")
    key = idempotency_key("p1", change, "create")
    assert key == idempotency_key("p1", change, "create")
    assert key != idempotency_key("p2", change, "create")
    assert key != idempotency_key("p1", change, "delete")
    assert key.startswith("accessctl-") and len(key) <= 64


def test_plan_file_round_trips(tmp_path: Path) -> None:
    plan = Plan(config_digest="sha256:c", orgs=[])
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert load_plan(path) == plan


def test_a_config_warning_keeps_its_column_and_hint_in_the_plan_file(tmp_path: Path) -> None:
    """A config warning is saved with its column and hint; a change cites its declaration's line
    alone, and nothing writes a `column` or `hint` it does not have: a plan saved before they
    existed reads back to the same JSON, so the signature over it still holds."""
    warning = Finding(
        severity="warning", code="expiry_soon", message="m", source=Location("a.yaml", 3, 7),
        hint="h",
    )  # fmt: skip
    change = Change(
        address="users/a@x.example", kind="users", action="create",
        source=Location.of(Location("a.yaml", 3, 5)),
    )  # fmt: skip
    org = OrgPlan(
        organization="acme", live_fingerprint="x",
        caller=Caller(email="root@acme.example", role="Super Admin", ip="192.0.2.7"),
        changes=[change], findings=[warning],
    )  # fmt: skip
    plan = Plan(config_digest="sha256:c", orgs=[org])
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert load_plan(path) == plan
    data = json.loads(path.read_text(encoding="utf-8"))
    (saved,) = data["orgs"]
    assert saved["changes"][0]["source"] == {"file": "a.yaml", "line": 3}
    assert saved["findings"][0]["source"] == {"file": "a.yaml", "line": 3, "column": 7}
    assert saved["findings"][0]["hint"] == "h"
    del saved["findings"][0]["hint"], saved["findings"][0]["source"]["column"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_plan(path).model_dump(mode="json") == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "plan.json:1:2: not a plan file (invalid JSON"),
        ('{"format_version": "9"}', "not an accessctl plan of format_version 1"),
        ('{"format_version": "1", "orgs": 3}', "invalid plan file at "),
    ],
)
def test_bad_plan_files_are_named_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AccessctlError) as info:
        load_plan(path)
    assert message in str(info.value)


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(AccessctlError, match="cannot read plan file"):
        load_plan(tmp_path / "nope.json")


def test_a_plan_file_that_is_not_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AccessctlError, match="not a plan file \\(not UTF-8 text\\)"):
        load_plan(path)


def test_ranges_that_stop_holding_the_caller_go_last() -> None:
    mine = Change(
        address="ip_ranges/Office", kind="ip_ranges", action="delete",
        before={"name": "Office", "cidr": "203.0.113.0/24"},
    )  # fmt: skip
    other = mine.model_copy(
        update={"address": "ip_ranges/VPN", "before": {"name": "VPN", "cidr": "198.51.100.0/24"}}
    )
    narrowed = _range_update("203.0.113.0/24", "203.0.113.128/25")
    assert phase_of(mine, "203.0.113.10") == Phase.RELEASE
    assert phase_of(narrowed, "203.0.113.10") == Phase.RELEASE  # .10 is outside .128/25
    assert phase_of(other, "203.0.113.10") == Phase.NARROW
    assert phase_of(mine, None) == Phase.NARROW  # no caller known: the plain order
