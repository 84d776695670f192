"""The platform's user rules, over real HTTP to the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.emulators import EmulatorPool

from reconciler.emulator.testing import Api, EmulatorProcess

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(WORLD)


@pytest.fixture
def root(emu: EmulatorProcess) -> Api:
    return emu.api("tok-root")


@pytest.fixture
def admin(emu: EmulatorProcess) -> Api:
    return emu.api("tok-admin")


def uid(api: Api, email: str) -> str:
    return next(u["id"] for u in api.all_items("/users") if u["email"] == email)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


def invite(api: Api, **body: Any) -> Any:
    body.setdefault("stores", [])
    return api.post("/users", json=body)


# -- reading ---------------------------------------------------------------------------------


def test_me_names_the_principal_organization_and_ip(root: Api) -> None:
    assert root.get("/me").json() == {
        "email": "root@acme.example",
        "role": "Super Admin",
        "organization_id": "org_1",
        "ip": "203.0.113.10",
    }


def test_users_carry_every_field(root: Api) -> None:
    users = {u["email"]: u for u in root.all_items("/users")}
    assert set(users) >= {"root@acme.example", "ext@partner.example"}
    assert "boss@beta.example" not in users  # tokens pick the organization
    admin = users["admin@acme.example"]
    assert admin["stores"] == ["MID1000001", "MID1000002", "MID1000003"]
    assert admin["type"] == "internal" and admin["expires_at"] is None
    assert admin["status"] == "active" and admin["etag"]


def test_external_users_past_expiry_show_expired(emu: EmulatorProcess, root: Api) -> None:
    users = {u["email"]: u for u in root.all_items("/users")}
    assert users["old@partner.example"]["status"] == "expired"
    assert users["ext@partner.example"]["status"] == "active"
    emu.set_today("2099-01-30")
    users = {u["email"]: u for u in root.all_items("/users")}
    assert users["ext@partner.example"]["status"] == "active"
    # `expires_at` is the day access ends (SPEC §9): expired on that day, not the day after.
    emu.set_today("2099-01-31")
    users = {u["email"]: u for u in root.all_items("/users")}
    assert users["ext@partner.example"]["status"] == "expired"


def test_unknown_or_missing_token_is_401(emu: EmulatorProcess) -> None:
    assert_problem(emu.api("nope").get("/me"), 401, "unauthorized")
    assert_problem(emu.api(None).get("/users"), 401, "unauthorized")


def test_unknown_user_is_404(root: Api) -> None:
    assert_problem(root.get("/users/usr_999"), 404, "not_found")
    assert_problem(root.get("/users/bogus"), 404, "not_found")
    assert_problem(root.get("/users/usr_8"), 404, "not_found")  # another organization's user


# -- inviting --------------------------------------------------------------------------------


def test_invite_creates_an_invited_user_an_email_and_an_audit_event(
    emu: EmulatorProcess, admin: Api
) -> None:
    answer = invite(admin, email="New@Acme.example", role="User", stores=["MID1000002"])
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert user["email"] == "new@acme.example" and user["status"] == "invited"
    assert answer.headers["ETag"].strip('"') == user["etag"]
    assert admin.get(f"/users/{user['id']}").json() == user
    assert [m["to"] for m in emu.outbox()] == ["new@acme.example"]
    event = emu.audit_events("tok-admin")[-1]
    assert event["action"] == "user.invited" and event["actor"] == "admin@acme.example"
    assert event["before"] is None and event["after"]["role"] == "User"
    assert event["target"] == {"type": "user", "id": user["id"], "name": "new@acme.example"}
    assert event["ip"] == "203.0.113.11"


def test_an_invitee_who_accepts_becomes_active_with_a_new_etag(
    emu: EmulatorProcess, admin: Api
) -> None:
    invited = invite(admin, email="joiner@acme.example", role="User", stores=["MID1000002"]).json()
    assert emu.accept_invitation("JOINER@acme.example", organization="acme-eu") == 1
    active = admin.get(f"/users/{invited['id']}").json()
    assert active["status"] == "active" and active["etag"] != invited["etag"]
    assert emu.accept_invitation("joiner@acme.example") == 0  # accepted once


def test_invite_external_user(admin: Api) -> None:
    answer = invite(admin, email="x@partner.example", type="external", expires_at="2099-12-31")
    assert answer.status_code == 201, answer.text
    assert answer.json()["role"] == "External User"


def test_user_exists_is_409_case_insensitively(admin: Api) -> None:
    assert_problem(invite(admin, email="READER@acme.example", role="Read Only"), 409, "user_exists")


def test_one_role_per_email_across_organizations(admin: Api) -> None:
    body = assert_problem(
        invite(admin, email="shared@common.example", role="Admin"), 409, "role_conflict"
    )
    assert "Read Only" in body["detail"] and "beta-us" in body["detail"]
    assert invite(admin, email="shared@common.example", role="Read Only").status_code == 201


def test_role_conflict_on_patch(admin: Api) -> None:
    user = invite(admin, email="shared@common.example", role="Read Only").json()
    assert_problem(admin.patch(f"/users/{user['id']}", json={"role": "User"}), 409, "role_conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "User", "stores": ["MID9999999"]}, "stores"),
        ({"role": "User", "stores": ["MID2000001"]}, "stores"),  # another organization's store
        ({"type": "external"}, "expires_at"),
        ({"type": "external", "expires_at": "2020-01-01"}, "expires_at"),
        ({"type": "external", "role": "Admin", "expires_at": "2099-01-01"}, "role"),
        ({"role": "User", "expires_at": "2099-01-01"}, "expires_at"),
        ({"role": "External User"}, "role"),
        ({"role": "Terminated"}, "role"),
        ({}, "role"),
        ({"role": "Owner"}, "role"),
        ({"role": "User", "colour": "red"}, "colour"),
    ],
    ids=lambda v: str(v),
)
def test_invalid_invites_are_422(admin: Api, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(invite(admin, email="someone@acme.example", **body), 422, "invalid")
    assert field in [e["field"] for e in problem["errors"]]


def test_invalid_email_is_422(admin: Api) -> None:
    assert_problem(invite(admin, email="not-an-email", role="User"), 422, "invalid")


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u200c", "U+200C ZERO WIDTH NON-JOINER"),
        ("\u200d", "U+200D ZERO WIDTH JOINER"),
        ("\u2060", "U+2060 WORD JOINER"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\x07", "U+0007"),
    ],
    ids=lambda v: f"U+{ord(v):04X}" if len(v) == 1 else None,
)
def test_an_email_with_an_invisible_character_is_422(
    emu: EmulatorProcess, admin: Api, char: str, name: str
) -> None:
    # Before: 201, and an invitation sent to an address that prints as `ann@acme.example` (as
    # `accessctl validate` already refused it: `invalid_email`).
    email = f"ann{char}@acme.example"
    problem = assert_problem(invite(admin, email=email, role="User"), 422, "invalid")
    message = (
        f"not an email address: it holds {name}, which cannot be seen or reorders the text "
        "around it"
    )
    assert problem["errors"] == [{"field": "email", "message": message}]
    assert problem["detail"] == f"email: {message}"
    assert email not in {u["email"] for u in admin.all_items("/users")}
    assert emu.outbox() == []


def test_an_email_with_visible_non_ascii_letters_is_invited(admin: Api) -> None:
    # The refusal above is of what cannot be seen, not of every letter outside ASCII.
    answer = invite(admin, email="Jos\u00e9@acme.example", role="User")
    assert answer.status_code == 201, answer.text
    assert answer.json()["email"] == "jos\u00e9@acme.example"


def test_host_bits_and_store_messages_name_the_fix(admin: Api) -> None:
    problem = assert_problem(
        invite(admin, email="a@acme.example", role="User", stores=["MIDX"]), 422, "invalid"
    )
    assert "MIDX" in problem["detail"]


def test_only_a_super_admin_grants_super_admin(root: Api, admin: Api) -> None:
    assert_problem(invite(admin, email="boss2@acme.example", role="Super Admin"), 403, "forbidden")
    reader = uid(admin, "reader@acme.example")
    assert_problem(admin.patch(f"/users/{reader}", json={"role": "Super Admin"}), 403, "forbidden")
    assert invite(root, email="boss2@acme.example", role="Super Admin").status_code == 201


def test_only_a_super_admin_revokes_super_admin(root: Api, admin: Api) -> None:
    second = invite(root, email="boss2@acme.example", role="Super Admin").json()
    assert_problem(admin.patch(f"/users/{second['id']}", json={"role": "Admin"}), 403, "forbidden")
    assert_problem(admin.delete(f"/users/{second['id']}"), 403, "forbidden")
    assert root.patch(f"/users/{second['id']}", json={"role": "Admin"}).status_code == 200


def test_read_only_principals_change_nothing(emu: EmulatorProcess) -> None:
    reader = emu.api("tok-reader")
    assert reader.get("/users").status_code == 200
    assert_problem(invite(reader, email="z@acme.example", role="User"), 403, "forbidden")
    assert_problem(
        reader.patch("/organization", json={"technical_support_access": False}), 403, "forbidden"
    )


# -- changing --------------------------------------------------------------------------------


def test_patch_stores_records_before_and_after(emu: EmulatorProcess, admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    answer = admin.patch(f"/users/{reader}", json={"stores": ["MID1000003", "MID1000001"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stores"] == ["MID1000001", "MID1000003"]
    event = emu.audit_events("tok-admin")[-1]
    assert event["action"] == "user.updated"
    assert event["before"] == {"stores": ["MID1000002"]}
    assert event["after"] == {"stores": ["MID1000001", "MID1000003"]}


def test_patch_without_change_records_nothing(emu: EmulatorProcess, admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    before = len(emu.audit_events("tok-admin"))
    assert admin.patch(f"/users/{reader}", json={"role": "Read Only"}).status_code == 200
    assert len(emu.audit_events("tok-admin")) == before


def test_patch_unknown_store_is_422(admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    assert_problem(admin.patch(f"/users/{reader}", json={"stores": ["MID0"]}), 422, "invalid")


def test_type_cannot_change(admin: Api) -> None:
    ext = uid(admin, "ext@partner.example")
    problem = assert_problem(
        admin.patch(f"/users/{ext}", json={"type": "internal"}), 422, "invalid"
    )
    assert "remove" in problem["detail"]


def test_external_users_keep_their_role_and_a_future_expiry(admin: Api) -> None:
    ext = uid(admin, "ext@partner.example")
    assert_problem(admin.patch(f"/users/{ext}", json={"role": "Admin"}), 422, "invalid")
    assert_problem(admin.patch(f"/users/{ext}", json={"expires_at": None}), 422, "invalid")
    assert_problem(admin.patch(f"/users/{ext}", json={"expires_at": "2001-01-01"}), 422, "invalid")
    renewed = admin.patch(
        f"/users/{uid(admin, 'old@partner.example')}", json={"expires_at": "2098-01-01"}
    )
    assert renewed.json()["status"] == "active"


def test_internal_users_get_no_expiry(admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    assert_problem(
        admin.patch(f"/users/{reader}", json={"expires_at": "2099-01-01"}), 422, "invalid"
    )
    assert_problem(admin.patch(f"/users/{reader}", json={"role": "External User"}), 422, "invalid")


def test_terminated_is_never_assigned_nor_changed(admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    assert_problem(admin.patch(f"/users/{reader}", json={"role": "Terminated"}), 422, "invalid")
    gone = uid(admin, "gone@acme.example")
    assert_problem(admin.patch(f"/users/{gone}", json={"stores": []}), 422, "invalid")
    assert_problem(admin.patch(f"/users/{gone}", json={"role": "User"}), 422, "invalid")


def test_last_super_admin_cannot_be_demoted_or_removed(root: Api, admin: Api) -> None:
    me = uid(root, "root@acme.example")
    assert_problem(root.patch(f"/users/{me}", json={"role": "Admin"}), 409, "last_super_admin")
    # an Admin may not revoke Super Admin at all: 403, whether or not it is the last one
    assert_problem(admin.delete(f"/users/{me}"), 403, "forbidden")
    assert_problem(admin.patch(f"/users/{me}", json={"role": "Admin"}), 403, "forbidden")
    invite(root, email="boss2@acme.example", role="Super Admin")
    assert root.patch(f"/users/{me}", json={"role": "Admin"}).status_code == 200


# -- removing --------------------------------------------------------------------------------


def test_delete_removes_the_user_from_every_store(emu: EmulatorProcess, admin: Api) -> None:
    reader = uid(admin, "reader@acme.example")
    answer = admin.delete(f"/users/{reader}")
    assert answer.status_code == 204 and answer.content == b""
    assert_problem(admin.get(f"/users/{reader}"), 404, "not_found")
    assert "reader@acme.example" not in {u["email"] for u in admin.all_items("/users")}
    event = emu.audit_events("tok-admin")[-1]
    assert event["action"] == "user.removed" and event["after"] is None
    assert event["before"]["stores"] == ["MID1000002"]
    assert_problem(emu.api("tok-reader").get("/me"), 401, "unauthorized")  # its token is dead


def test_a_principal_cannot_remove_itself(admin: Api) -> None:
    me = uid(admin, "admin@acme.example")
    assert_problem(admin.delete(f"/users/{me}"), 409, "self_removal")


def test_terminated_users_can_be_removed(admin: Api) -> None:
    assert admin.delete(f"/users/{uid(admin, 'gone@acme.example')}").status_code == 204


def test_an_expired_principal_is_refused(emu: EmulatorProcess) -> None:
    assert emu.api("tok-ext").get("/me").status_code == 200
    emu.set_today("2099-01-30")
    assert emu.api("tok-ext").get("/me").status_code == 200
    emu.set_today("2099-01-31")  # ext@partner.example's expiry: the day access ends
    body = assert_problem(emu.api("tok-ext").get("/me"), 401, "unauthorized")
    assert "expired on 2099-01-31" in body["detail"]
