"""Allowed IP ranges, the allow list, the plan gate and the organization settings, over HTTP."""

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
def gamma(emu: EmulatorProcess) -> Api:
    return emu.api("tok-gamma")  # ultimate, no ranges yet, calls from 192.0.2.50


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def hq(api: Api) -> dict[str, Any]:
    return next(r for r in api.get("/ip-ranges").json()["items"] if r["name"] == "HQ")


def test_list_shows_ranges_and_the_callers_ip(root: Api) -> None:
    body = root.get("/ip-ranges").json()
    assert body["caller_ip"] == "203.0.113.10"
    assert [(r["name"], r["cidr"]) for r in body["items"]] == [("HQ", "203.0.113.0/24")]
    assert body["next_cursor"] is None


def test_create_records_an_audit_event(emu: EmulatorProcess, root: Api) -> None:
    answer = root.post("/ip-ranges", json={"name": "VPN", "cidr": "198.51.100.0/24"})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["cidr"] == "198.51.100.0/24" and created["id"].startswith("rng_")
    event = emu.audit_events("tok-root")[-1]
    assert event["action"] == "ip_range.created" and event["before"] is None
    assert event["after"] == {"name": "VPN", "cidr": "198.51.100.0/24"}


def test_host_bits_set_names_the_network(root: Api) -> None:
    problem = assert_problem(
        root.post("/ip-ranges", json={"name": "Lab", "cidr": "10.0.0.5/24"}), 422, "invalid"
    )
    assert "10.0.0.0/24" in problem["detail"]
    assert problem["errors"][0]["field"] == "cidr"


@pytest.mark.parametrize(
    "cidr",
    ["10.0.0.0/33", "banana", "10.0.0/8", "300.1.1.0/24", "", "10.1.2.3", "10.0.0.0/08"],
)
def test_bad_cidr_is_422(root: Api, cidr: str) -> None:
    assert_problem(root.post("/ip-ranges", json={"name": "Bad", "cidr": cidr}), 422, "invalid")


def test_ipv6_ranges_are_networks_too(root: Api) -> None:
    assert root.post("/ip-ranges", json={"name": "v6", "cidr": "2001:db8::/32"}).status_code == 201
    problem = assert_problem(
        root.post("/ip-ranges", json={"name": "v6b", "cidr": "2001:db8::1/32"}), 422, "invalid"
    )
    assert "2001:db8::/32" in problem["detail"]


def test_duplicate_names_are_refused(root: Api) -> None:
    problem = assert_problem(
        root.post("/ip-ranges", json={"name": "HQ", "cidr": "198.51.100.0/24"}), 422, "invalid"
    )
    assert problem["errors"][0]["field"] == "name"
    other = root.post("/ip-ranges", json={"name": "Other", "cidr": "198.51.100.0/24"}).json()
    assert_problem(root.patch(f"/ip-ranges/{other['id']}", json={"name": "HQ"}), 422, "invalid")


def test_at_most_fifty_ranges(root: Api) -> None:
    for i in range(49):
        answer = root.post("/ip-ranges", json={"name": f"r{i}", "cidr": f"10.{i}.0.0/16"})
        assert answer.status_code == 201, answer.text
    assert len(root.all_items("/ip-ranges")) == 50
    assert_problem(
        root.post("/ip-ranges", json={"name": "r50", "cidr": "10.200.0.0/16"}),
        422,
        "limit_exceeded",
    )


def test_lockout_on_create_when_the_list_would_start_without_you(gamma: Api) -> None:
    problem = assert_problem(
        gamma.post("/ip-ranges", json={"name": "Far", "cidr": "10.0.0.0/8"}), 409, "lockout"
    )
    assert "192.0.2.50" in problem["detail"]
    assert (
        gamma.post("/ip-ranges", json={"name": "Home", "cidr": "192.0.2.0/24"}).status_code == 201
    )
    assert gamma.post("/ip-ranges", json={"name": "Far", "cidr": "10.0.0.0/8"}).status_code == 201


def test_lockout_on_patch_unless_another_range_holds_you(root: Api) -> None:
    rng = hq(root)
    assert_problem(
        root.patch(f"/ip-ranges/{rng['id']}", json={"cidr": "10.0.0.0/8"}), 409, "lockout"
    )
    assert (
        root.post("/ip-ranges", json={"name": "Desk", "cidr": "203.0.113.8/29"}).status_code == 201
    )
    answer = root.patch(f"/ip-ranges/{rng['id']}", json={"cidr": "10.0.0.0/8"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["cidr"] == "10.0.0.0/8"


def test_lockout_on_delete_unless_another_range_holds_you(emu: EmulatorProcess, root: Api) -> None:
    rng = hq(root)
    root.post("/ip-ranges", json={"name": "Lab", "cidr": "10.0.0.0/8"})
    assert_problem(root.delete(f"/ip-ranges/{rng['id']}"), 409, "lockout")
    root.post("/ip-ranges", json={"name": "All", "cidr": "0.0.0.0/0"})
    assert root.delete(f"/ip-ranges/{rng['id']}").status_code == 204
    event = emu.audit_events("tok-root")[-1]
    assert event["action"] == "ip_range.deleted"
    assert event["before"] == {"name": "HQ", "cidr": "203.0.113.0/24"} and event["after"] is None


def test_the_last_range_that_holds_you_cannot_be_deleted(gamma: Api) -> None:
    """The seed: "To delete a range that includes your current IP address, your IP address must
    be included in at least one other existing allowed range" -- even when it is the last one:
    an allow list that holds the caller can never be emptied."""
    rng = gamma.post("/ip-ranges", json={"name": "Home", "cidr": "192.0.2.0/24"}).json()
    problem = assert_problem(gamma.delete(f"/ip-ranges/{rng['id']}"), 409, "lockout")
    assert "192.0.2.50" in problem["detail"]
    assert "cannot be emptied" in problem["detail"]
    assert [r["name"] for r in gamma.get("/ip-ranges").json()["items"]] == ["Home"]


def test_the_last_range_that_holds_you_cannot_move_away(gamma: Api) -> None:
    rng = gamma.post("/ip-ranges", json={"name": "Home", "cidr": "192.0.2.0/24"}).json()
    assert_problem(
        gamma.patch(f"/ip-ranges/{rng['id']}", json={"cidr": "10.0.0.0/8"}), 409, "lockout"
    )
    renamed = gamma.patch(f"/ip-ranges/{rng['id']}", json={"name": "Home office"})
    assert renamed.status_code == 200, renamed.text  # still holds the caller: allowed


def test_a_range_that_does_not_hold_you_is_deleted_freely(gamma: Api) -> None:
    gamma.post("/ip-ranges", json={"name": "Home", "cidr": "192.0.2.0/24"})
    far = gamma.post("/ip-ranges", json={"name": "Far", "cidr": "10.0.0.0/8"}).json()
    assert gamma.delete(f"/ip-ranges/{far['id']}").status_code == 204
    assert [r["name"] for r in gamma.get("/ip-ranges").json()["items"]] == ["Home"]


def test_patch_records_before_and_after(emu: EmulatorProcess, root: Api) -> None:
    rng = hq(root)
    assert root.patch(f"/ip-ranges/{rng['id']}", json={"name": "Head office"}).status_code == 200
    event = emu.audit_events("tok-root")[-1]
    assert event["action"] == "ip_range.updated"
    assert (event["before"], event["after"]) == ({"name": "HQ"}, {"name": "Head office"})


def test_callers_outside_the_allow_list_get_403_with_their_ip(emu: EmulatorProcess) -> None:
    problem = assert_problem(emu.api("tok-far").get("/me"), 403, "ip_not_allowed")
    assert "198.51.100.7" in problem["detail"]
    emu.api("tok-root").post("/ip-ranges", json={"name": "Far", "cidr": "198.51.100.0/24"})
    assert emu.api("tok-far").get("/me").status_code == 200


def test_ranges_need_the_ultimate_plan(emu: EmulatorProcess) -> None:
    beta = emu.api("tok-beta")
    assert_problem(beta.get("/ip-ranges"), 403, "plan_required")
    assert_problem(
        beta.post("/ip-ranges", json={"name": "x", "cidr": "10.0.0.0/8"}), 403, "plan_required"
    )
    assert beta.get("/me").json()["ip"] == "127.0.0.1"  # no seeded ip: the socket peer


def test_unknown_range_is_404(root: Api) -> None:
    assert_problem(root.patch("/ip-ranges/rng_404", json={"name": "x"}), 404, "not_found")


def test_organization_and_support_access(emu: EmulatorProcess, root: Api) -> None:
    org = root.get("/organization").json()
    assert org == {
        "id": "org_1",
        "name": "acme-eu",
        "plan": "ultimate",
        "technical_support_access": True,
        "etag": org["etag"],
    }
    answer = root.patch("/organization", json={"technical_support_access": False})
    assert answer.json()["technical_support_access"] is False
    assert answer.json()["etag"] != org["etag"]
    event = emu.audit_events("tok-root")[-1]
    assert event["action"] == "organization.updated"
    assert event["before"] == {"technical_support_access": True}
    assert event["after"] == {"technical_support_access": False}


def test_stores_are_listed(root: Api) -> None:
    stores = root.all_items("/stores")
    assert sorted(s["id"] for s in stores) == ["MID1000001", "MID1000002", "MID1000003"]
    assert {s["name"] for s in stores} >= {"Stockholm web shop"}


@pytest.mark.parametrize("value", ["off", 1, "true", None])
def test_support_access_takes_a_boolean_only(root: Api, value: object) -> None:
    answer = root.patch("/organization", json={"technical_support_access": value})
    assert_problem(answer, 422, "invalid")
