"""Desired vs live -> changes: one test per rule of the diff."""

from __future__ import annotations

from support.plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

from reconciler.diff import diff


def test_identical_states_have_no_changes_even_with_different_spelling() -> None:
    live = live_state(
        [live_user("Root@ACME.example", "Super Admin", ["MID2", "MID1", "MID1"])],
        [live_range("HQ", "203.0.113.0/24")],
    )
    org = desired(
        users=[{"email": " root@acme.example ", "role": "Super Admin", "stores": "all"}],
        ip_ranges=[{"name": "HQ", "cidr": "203.0.113.0 / 24"}],
        settings={"technical_support_access": True},
    )
    assert diff(org, live) == ([], [])


def test_create_user_carries_api_fields_and_source() -> None:
    org = desired(
        users=[root_decl(), {"email": "Bob@acme.example", "role": "Read Only", "stores": []}]
    )
    (change,), _ = diff(org, live_state())
    assert change.address == "users/bob@acme.example"
    assert change.action == "create"
    assert change.after == {
        "email": "bob@acme.example",
        "type": "internal",
        "role": "Read Only",
        "stores": [],
        "expires_at": None,
    }
    assert str(change.source) == "acme.yaml:21"
    assert change.id is None


def test_external_user_defaults_to_external_role() -> None:
    org = desired(
        users=[
            root_decl(),
            {"email": "ext@p.example", "type": "external", "expires": "2030-01-31", "stores": []},
        ]
    )
    (change,), _ = diff(org, live_state())
    assert change.after is not None
    assert change.after["role"] == "External User"
    assert change.after["expires_at"] == "2030-01-31"


def test_update_lists_only_changed_fields_with_id_and_etag() -> None:
    live = live_state([live_user(ROOT, "Super Admin"), live_user("bob@acme.example", "User")])
    org = desired(
        users=[root_decl(), {"email": "bob@acme.example", "role": "Admin", "stores": "all"}]
    )
    (change,), _ = diff(org, live)
    assert change.action == "update"
    assert change.fields == ["role", "stores"]
    assert change.before is not None and change.after is not None
    assert (change.before["role"], change.after["role"]) == ("User", "Admin")
    assert change.after["stores"] == ["MID1", "MID2"]
    assert (change.id, change.etag) == ("u-bob", "e-bob")


def test_type_change_is_a_replace() -> None:
    live = live_state([live_user(ROOT, "Super Admin"), live_user("x@p.example", "User")])
    org = desired(
        users=[
            root_decl(),
            {
                "email": "x@p.example",
                "type": "external",
                "expires": "2030-01-01",
                "stores": ["MID1"],
            },
        ]
    )
    (change,), _ = diff(org, live)
    assert change.action == "replace"
    assert change.fields == ["type", "role", "expires_at"]


def test_pending_invitation_counts_as_present() -> None:
    live = live_state(
        [live_user(ROOT, "Super Admin"), live_user("new@acme.example", status="invited")]
    )
    org = desired(
        users=[root_decl(), {"email": "new@acme.example", "role": "User", "stores": ["MID1"]}]
    )
    assert diff(org, live) == ([], [])


def test_unmanaged_users_follow_policy() -> None:
    live = live_state([live_user(ROOT, "Super Admin"), live_user("stray@acme.example")])
    report = desired(users=[root_decl()], policy={"unmanaged_users": "report"})
    changes, findings = diff(report, live)
    assert changes == []
    assert [(f.severity, f.code, f.address) for f in findings] == [
        ("warning", "unmanaged_user", "users/stray@acme.example")
    ]
    assert "is not declared: this is drift" in findings[0].message
    remove = desired(users=[root_decl()], policy={"unmanaged_users": "remove"})
    changes, findings = diff(remove, live)
    assert [(c.action, c.address, c.id, c.reason) for c in changes] == [
        ("delete", "users/stray@acme.example", "u-stray", "not declared")
    ]
    assert findings == []
    ignore = desired(users=[root_decl()], policy={"unmanaged_users": "ignore"})
    assert diff(ignore, live) == ([], [])


def test_the_yaml_is_authoritative_by_default() -> None:
    """No policy written: a live user the YAML does not declare (invited by hand, or whose lines
    were deleted) is removed, and the removal says why."""
    live = live_state([live_user(ROOT, "Super Admin"), live_user("hand@acme.example", "Admin")])
    org = desired(users=[root_decl()])
    assert org.config.policy.unmanaged_users == "remove"
    (change,), findings = diff(org, live)
    assert (change.action, change.address, change.source, change.reason) == (
        "delete",
        "users/hand@acme.example",
        None,
        "not declared",
    )
    assert findings == []
    # a declared user's removal has no reason: only the undeclared ones are marked
    declared = desired(
        users=[root_decl(), {"email": "hand@acme.example", "role": "Admin", "stores": ["MID1"]}]
    )
    assert diff(declared, live) == ([], [])


def _ended(expires: str = "2026-11-22", **extra: object) -> dict[str, object]:
    return {
        "email": "ext@p.example",
        "type": "external",
        "expires": expires,
        "stores": ["MID1"],
        **extra,
    }


def test_a_user_whose_access_has_ended_is_never_invited() -> None:
    from datetime import date

    org = desired(users=[root_decl(), _ended()])
    changes, findings = diff(org, live_state(), today=date(2026, 11, 22))
    assert changes == []
    assert [(f.severity, f.code, f.address, str(f.source)) for f in findings] == [
        ("warning", "expiry_in_past", "users/ext@p.example", "acme.yaml:21")
    ]
    assert findings[0].message == (
        "ext@p.example: access ended on 2026-11-22 (`expires` is the day access ends): not "
        "invited; remove it from the YAML"
    )
    # the day before, access has not ended: invited
    (change,), _ = diff(org, live_state(), today=date(2026, 11, 21))
    assert (change.action, change.address) == ("create", "users/ext@p.example")
    # without a clock, nothing is judged ended (pure diff of the fields)
    (change,), _ = diff(org, live_state())
    assert change.action == "create"


def test_a_live_user_whose_access_has_ended_is_left_as_it_is() -> None:
    """Neither changed (the platform refuses an expiry in the past) nor re-invited (a type
    change is a removal then an invitation); a live user on a later date is named too."""
    from datetime import date

    today = date(2026, 12, 1)
    live = live_state(
        [
            live_user(ROOT, "Super Admin"),
            live_user(
                "ext@p.example", "External User", ["MID2"], type="external", expires_at="2027-01-31"
            ),
            live_user("int@p.example", "User"),
        ]
    )
    org = desired(
        users=[
            root_decl(),
            _ended(),
            _ended(email="int@p.example"),  # live as internal: would be a replace (re-invite)
        ]
    )
    changes, findings = diff(org, live, today=today)
    assert changes == []
    assert [(f.code, f.address) for f in findings] == [
        ("expiry_in_past", "users/ext@p.example"),
        ("expiry_in_past", "users/int@p.example"),
    ]
    assert "left as it is, although its live access runs until 2027-01-31" in findings[0].message
    assert ": left as it is; remove it from the YAML" in findings[1].message


def test_terminated_users_are_reported_never_changed() -> None:
    live = live_state(
        [
            live_user(ROOT, "Super Admin"),
            live_user("gone@acme.example", "Terminated"),
            live_user("old@acme.example", "Terminated"),
        ]
    )
    org = desired(
        users=[root_decl(), {"email": "gone@acme.example", "role": "Admin", "stores": []}],
        policy={"unmanaged_users": "remove"},
    )
    changes, findings = diff(org, live)
    assert changes == []
    assert sorted((f.code, f.severity, f.address) for f in findings) == [
        ("terminated_user", "info", "users/old@acme.example"),
        ("terminated_user", "warning", "users/gone@acme.example"),
    ]


def test_range_rename_is_one_update_of_name() -> None:
    live = live_state(ranges=[live_range("Office", "203.0.113.0/24")])
    org = desired(users=[root_decl()], ip_ranges=[{"name": "HQ", "cidr": "203.0.113.0/24"}])
    (change,), _ = diff(org, live)
    assert (change.action, change.address, change.fields) == ("update", "ip_ranges/HQ", ["name"])
    assert change.before == {"name": "Office", "cidr": "203.0.113.0/24"}
    assert change.id == "r-Office"


def test_range_cidr_change_create_and_delete() -> None:
    live = live_state(
        ranges=[live_range("HQ", "203.0.113.0/24"), live_range("Old", "198.51.100.0/24")]
    )
    org = desired(
        users=[root_decl()],
        ip_ranges=[
            {"name": "HQ", "cidr": "203.0.112.0/23"},
            {"name": "VPN", "cidr": "192.0.2.0/28"},
        ],
    )
    changes, _ = diff(org, live)
    assert [(c.address, c.action, c.fields) for c in changes] == [
        ("ip_ranges/HQ", "update", ["cidr"]),
        ("ip_ranges/Old", "delete", []),
        ("ip_ranges/VPN", "create", ["name", "cidr"]),
    ]


def test_ranges_left_out_are_unmanaged_but_empty_list_removes() -> None:
    live = live_state(ranges=[live_range("HQ", "203.0.113.0/24")])
    assert diff(desired(users=[root_decl()]), live) == ([], [])
    changes, _ = diff(desired(users=[root_decl()], ip_ranges=[]), live)
    assert [(c.address, c.action) for c in changes] == [("ip_ranges/HQ", "delete")]


def test_support_access_unset_is_unmanaged() -> None:
    live = live_state(support=True)
    assert diff(desired(users=[root_decl()]), live) == ([], [])
    (change,), _ = diff(
        desired(users=[root_decl()], settings={"technical_support_access": False}), live
    )
    assert change.address == "settings/technical_support_access"
    assert (change.before, change.after) == (
        {"technical_support_access": True},
        {"technical_support_access": False},
    )
    assert (change.id, change.etag, str(change.source)) == ("org-1", "e-org", "acme.yaml:3")


def _ranges_at_the_limit() -> tuple[list[dict[str, str]], object]:
    """50 live ranges (the platform's limit), the caller's in "Branch 00"."""
    wanted = [{"name": f"Branch {n:02d}", "cidr": f"10.0.{n}.0/24"} for n in range(50)]
    live = live_state(ranges=[live_range(r["name"], r["cidr"]) for r in wanted], ip="10.0.0.7")
    return wanted, live


def test_ranges_replaced_at_the_limit_become_moves() -> None:
    """Creating the new ranges before deleting the old ones would hold 51 (the platform refuses
    the 51st): the ranges beyond the limit are moved in place instead, one PATCH each."""
    from reconciler.safety import removal_count

    wanted, live = _ranges_at_the_limit()
    new = [{"name": "New A", "cidr": "192.168.0.0/24"}, {"name": "New B", "cidr": "10.0.48.0/23"}]
    org = desired(users=[root_decl()], ip_ranges=[*wanted[:48], *new])
    changes, _ = diff(org, live)  # type: ignore[arg-type]
    assert [(c.address, c.action, c.fields, c.id) for c in changes] == [
        ("ip_ranges/New A", "update", ["name", "cidr"], "r-Branch 48"),
        ("ip_ranges/New B", "update", ["name", "cidr"], "r-Branch 49"),
    ]
    assert changes[0].before == {"name": "Branch 48", "cidr": "10.0.48.0/24"}
    assert changes[0].after == {"name": "New A", "cidr": "192.168.0.0/24"}
    assert removal_count(changes) == 2  # the live ranges are gone all the same


def test_ranges_below_the_limit_are_still_created_before_deletes() -> None:
    wanted, _ = _ranges_at_the_limit()
    live = live_state(ranges=[live_range(r["name"], r["cidr"]) for r in wanted[:49]])
    org = desired(
        users=[root_decl()],
        ip_ranges=[*wanted[:47], {"name": "New A", "cidr": "192.168.0.0/24"}],
    )
    changes, _ = diff(org, live)
    assert sorted((c.address, c.action) for c in changes) == [
        ("ip_ranges/Branch 47", "delete"),
        ("ip_ranges/Branch 48", "delete"),
        ("ip_ranges/New A", "create"),
    ]


def test_only_the_overflow_at_the_limit_is_moved() -> None:
    wanted, live = _ranges_at_the_limit()
    new = [{"name": f"New {n}", "cidr": f"192.168.{n}.0/24"} for n in range(3)]
    org = desired(users=[root_decl()], ip_ranges=[*wanted[:48], *new])  # 51: refused by safety
    changes, _ = diff(org, live)  # type: ignore[arg-type]
    assert sorted((c.address, c.action) for c in changes) == [
        ("ip_ranges/New 0", "update"),
        ("ip_ranges/New 1", "update"),
        ("ip_ranges/New 2", "create"),
    ]
