"""One test per safety rule, on hand-built states: the rule fires when broken, not otherwise."""

from __future__ import annotations

from datetime import date
from typing import Any

from support.plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

from reconciler.diff import diff
from reconciler.live import LiveState
from reconciler.model import DesiredOrg
from reconciler.plan import Finding
from reconciler.safety import check, grant_removals, removal_count


def _findings(org: DesiredOrg, live: LiveState, *, force: bool = False) -> list[Finding]:
    changes, _ = diff(org, live)
    return check(org, live, changes, force=force)


def _codes(org: DesiredOrg, live: LiveState, **kw: Any) -> list[str]:
    return [f.code for f in _findings(org, live, **kw) if f.severity == "error"]


def test_a_plain_plan_is_safe() -> None:
    org = desired(users=[root_decl(), {"email": "b@acme.example", "role": "Admin", "stores": []}])
    assert _findings(org, live_state()) == []


def test_lockout_when_end_ranges_miss_the_caller() -> None:
    live = live_state(ranges=[live_range("HQ", "203.0.113.0/24")])
    org = desired(users=[root_decl()], ip_ranges=[{"name": "HQ", "cidr": "198.51.100.0/24"}])
    (finding,) = _findings(org, live)
    assert finding.code == "lockout"
    assert "203.0.113.10" in finding.message
    assert str(finding.source) == "acme.yaml:10"


def test_deleting_the_last_range_that_holds_the_caller_is_a_lockout() -> None:
    """The seed: a range that holds the caller's IP may be deleted only while another range
    holds it too, so the platform refuses to empty an allow list that holds the caller."""
    live = live_state(
        ranges=[live_range("HQ", "203.0.113.0/24"), live_range("Lab", "198.51.100.0/24")]
    )
    emptied = desired(users=[root_decl()], ip_ranges=[], policy={"max_removals": 2})
    (finding,) = _findings(emptied, live)
    assert (finding.severity, finding.code, finding.address) == ("error", "lockout", "ip_ranges/HQ")
    assert "'HQ' (203.0.113.0/24)" in finding.message
    assert "the caller's IP 203.0.113.10" in finding.message
    assert "can never be emptied" in finding.message
    # another range still holds the caller: deleting HQ is allowed
    moved = desired(
        users=[root_decl()],
        ip_ranges=[{"name": "VPN", "cidr": "203.0.112.0/23"}],
        policy={"max_removals": 2},
    )
    assert _findings(moved, live) == []
    # the caller is in none of the ranges (it could not call): emptying them is no lockout
    elsewhere = live.model_copy(update={"caller_ip": "192.0.2.9"})
    assert _findings(emptied, elsewhere) == []


def test_lockout_is_judged_on_the_ip_the_ranges_api_sees() -> None:
    # `/me` says 203.0.113.10, but the ranges list (what a range change is checked against)
    # sees the caller at 198.51.100.7: keeping only 203.0.113.0/24 would lock it out.
    live = live_state(ranges=[live_range("HQ", "203.0.113.0/24")]).model_copy(
        update={"caller_ip": "198.51.100.7"}
    )
    org = desired(users=[root_decl()], ip_ranges=[{"name": "HQ", "cidr": "203.0.113.0/24"}])
    (finding,) = _findings(org, live)
    assert finding.code == "lockout"
    assert "198.51.100.7" in finding.message
    covered = desired(
        users=[root_decl()],
        ip_ranges=[
            {"name": "HQ", "cidr": "203.0.113.0/24"},
            {"name": "VPN", "cidr": "198.51.100.0/24"},
        ],
    )
    assert _codes(covered, live) == []


def test_max_removals_and_force() -> None:
    users = [live_user(ROOT, "Super Admin")] + [live_user(f"u{i}@acme.example") for i in range(9)]
    live = live_state(users)
    org = desired(users=[root_decl()], policy={"unmanaged_users": "remove", "max_removals": 3})
    (finding,) = _findings(org, live)
    assert (finding.code, finding.severity) == ("max_removals", "error")
    assert "removes 9" in finding.message and "allows 3" in finding.message
    (forced,) = _findings(org, live, force=True)
    assert (forced.code, forced.severity) == ("max_removals", "warning")
    percent = desired(
        users=[root_decl()], policy={"unmanaged_users": "remove", "max_removals": "90%"}
    )
    assert _findings(percent, live) == []


def test_store_grant_removals_count_against_max_removals() -> None:
    # Ten users keep their accounts but lose both stores (a short `/stores`, a bad page):
    # no user is removed, yet 20 of 21 live grants go; the default 10% allows 3.
    holders = [live_user(f"u{i}@acme.example", "User", ["MID1", "MID2"]) for i in range(10)]
    live = live_state([live_user(ROOT, "Super Admin", ["MID1"]), *holders])
    keep = [{"email": f"u{i}@acme.example", "role": "User", "stores": []} for i in range(10)]
    org = desired(users=[root_decl(), *keep])
    changes, _ = diff(org, live)
    assert grant_removals(changes) == 20 and removal_count(changes) == 0
    (finding,) = _findings(org, live)
    assert (finding.code, finding.severity) == ("max_removals", "error")
    assert "removes 20 store grants" in finding.message and "allows 3" in finding.message
    assert "of 21 live" in finding.message
    (forced,) = _findings(org, live, force=True)
    assert forced.severity == "warning"
    # One user losing one store is within the limit.
    one_live = live_state([live_user(ROOT, "Super Admin", ["MID1"]), *holders])
    kept = [{**k, "stores": ["MID1", "MID2"]} for k in keep[1:]]
    one = desired(users=[root_decl(), *kept, {**keep[0], "stores": ["MID1"]}])
    assert _findings(one, one_live) == []


def test_removal_count_includes_replaces_and_range_deletes() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("x@a.example"), live_user("y@a.example")],
        [live_range("A", "203.0.113.0/24"), live_range("B", "10.0.0.0/8")],
    )
    org = desired(
        users=[
            root_decl(),
            {"email": "x@a.example", "type": "external", "expires": "2030-01-01", "stores": []},
        ],
        ip_ranges=[{"name": "A", "cidr": "203.0.113.0/24"}],
        policy={"unmanaged_users": "remove"},
    )
    changes, _ = diff(org, live)
    assert removal_count(changes) == 3


def test_protected_user_removed_or_demoted() -> None:
    live = live_state([live_user(ROOT, "Super Admin"), live_user("boss@acme.example", "Admin")])
    demote = desired(
        users=[root_decl(), {"email": "boss@acme.example", "role": "User", "stores": []}],
        policy={"protected": ["BOSS@acme.example"]},
    )
    assert _codes(demote, live) == ["protected_user"]
    remove = desired(
        users=[root_decl()],
        policy={"protected": ["boss@acme.example"], "unmanaged_users": "remove", "max_removals": 5},
    )
    assert _codes(remove, live) == ["protected_user"]
    promote = desired(
        users=[root_decl(), {"email": "boss@acme.example", "role": "Super Admin", "stores": []}],
        policy={"protected": ["boss@acme.example"]},
    )
    assert _codes(promote, live) == []


def test_own_principal_removed_or_demoted() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("me@acme.example", "Admin")],
        me="me@acme.example",
        me_role="Admin",
    )
    org = desired(
        users=[root_decl(), {"email": "me@acme.example", "role": "Read Only", "stores": []}]
    )
    assert _codes(org, live) == ["self_change"]


def test_last_super_admin() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("a@acme.example", "Admin")],
        me="a@acme.example",
        me_role="Admin",
    )
    org = desired(
        users=[root_decl(role="Admin"), {"email": "a@acme.example", "role": "Admin", "stores": []}]
    )
    codes = _codes(org, live)
    assert "last_super_admin" in codes
    # handing over to another Super Admin first is fine
    live2 = live_state([live_user(ROOT, "Super Admin"), live_user("a@acme.example", "Admin")])
    org2 = desired(
        users=[
            {"email": ROOT, "role": "Admin", "stores": ["MID1"]},
            {"email": "a@acme.example", "role": "Super Admin", "stores": []},
        ],
        policy={"protected": []},
    )
    assert "last_super_admin" not in _codes(org2, live2)


def test_super_admin_changes_need_a_super_admin_token() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("a@acme.example", "Admin")],
        me="a@acme.example",
        me_role="Admin",
    )
    grant = desired(
        users=[
            root_decl(),
            {"email": "a@acme.example", "role": "Admin", "stores": []},
            {"email": "n@acme.example", "role": "Super Admin", "stores": []},
        ]
    )
    assert _codes(grant, live) == ["super_admin_required"]
    stores_only = desired(
        users=[root_decl(stores="all"), {"email": "a@acme.example", "role": "Admin", "stores": []}]
    )
    assert _codes(stores_only, live) == []


def test_changes_touching_a_terminated_user() -> None:
    from reconciler.plan import Change

    live = live_state([live_user(ROOT, "Super Admin"), live_user("t@acme.example", "Terminated")])
    org = desired(users=[root_decl()])
    forged = Change(
        address="users/t@acme.example",
        kind="users",
        action="update",
        before={"role": "Terminated"},
        after={"role": "User"},
        fields=["role"],
    )
    assert [f.code for f in check(org, live, [forged])] == ["terminated_user"]


def test_organization_name_mismatch() -> None:
    (finding,) = _findings(desired(organization="acme-us", users=[root_decl()]), live_state())
    assert finding.code == "organization_mismatch"
    assert str(finding.source) == "acme.yaml:1"


def test_stores_not_live() -> None:
    org = desired(
        users=[root_decl(), {"email": "b@acme.example", "role": "User", "stores": ["MID9"]}],
        stores={"MID1": "a", "MID8": "b"},
    )
    findings = [f for f in _findings(org, live_state()) if f.code == "unknown_store"]
    assert [f.address for f in findings] == ["stores/MID8", "users/b@acme.example"]


def test_a_store_not_live_held_by_a_user_whose_access_ended_is_a_warning() -> None:
    # The plan neither invites nor changes a user whose access ended: the grant is never sent,
    # and an error here would stop every other change of the plan (a removal among them) until
    # someone fixed the typo.
    gone = {"email": "x@acme.example", "type": "external", "expires": "2025-01-01"}
    never_invited = {**gone, "email": "y@acme.example", "stores": ["MID7"]}
    org = desired(users=[root_decl(), {**gone, "stores": ["MID9"]}, never_invited])
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("x@acme.example", "External User")]
    )
    ended = date(2025, 6, 1)
    changes, _ = diff(org, live, today=ended)
    assert changes == []
    found = [
        (f.severity, f.address)
        for f in check(org, live, changes, today=ended)
        if f.code == "unknown_store"
    ]
    assert found == [("warning", "users/x@acme.example"), ("warning", "users/y@acme.example")]
    # with access left (or no day given), errors as before
    for today in (date(2024, 6, 1), None):
        changes, _ = diff(org, live, today=today)
        found = [
            f.severity for f in check(org, live, changes, today=today) if f.code == "unknown_store"
        ]
        assert found == ["error", "error"]


def test_more_than_50_ranges() -> None:
    ranges = [{"name": f"r{i}", "cidr": f"10.0.{i}.0/24"} for i in range(51)]
    ranges.append({"name": "hq", "cidr": "203.0.113.0/24"})
    org = desired(users=[root_decl()], ip_ranges=ranges)
    assert _codes(org, live_state()) == ["too_many_ranges"]


def test_principal_without_admin_role() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("r@acme.example", "Read Only")],
        me="r@acme.example",
        me_role="Read Only",
    )
    org = desired(
        users=[
            root_decl(),
            {"email": "r@acme.example", "role": "Read Only", "stores": []},
            {"email": "n@acme.example", "role": "User", "stores": []},
        ]
    )
    assert _codes(org, live) == []  # a read-only token may plan (pull requests, drift) ...
    (warning,) = _findings(org, live)
    assert (warning.code, warning.severity) == ("insufficient_role", "warning")
    assert "only an Admin's or Super Admin's token can apply it" in warning.message
    no_changes = desired(
        users=[root_decl(), {"email": "r@acme.example", "role": "Read Only", "stores": ["MID1"]}]
    )
    assert _findings(no_changes, live) == []


def test_ranges_on_a_standard_plan() -> None:
    org = desired(users=[root_decl()], ip_ranges=[{"name": "HQ", "cidr": "203.0.113.0/24"}])
    (finding,) = _findings(org, live_state(plan="standard"))
    assert (finding.code, finding.address) == ("plan_required", "ip_ranges/HQ")
