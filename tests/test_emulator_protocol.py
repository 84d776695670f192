"""The contract's plumbing: pagination, etags, idempotency keys, annotations, problem+json."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from support.emulators import EmulatorPool

from reconciler.emulator.testing import Api, EmulatorProcess

STORES = [{"id": f"MID{i:07d}", "name": f"Shop {i}"} for i in range(5)]
SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "big",
            "plan": "ultimate",
            "stores": STORES,
            "ip_ranges": [{"name": "Loopback", "cidr": "127.0.0.0/8"}],
            "users": [{"email": "root@big.example", "role": "Super Admin", "stores": "all"}]
            + [
                {"email": f"user{i:03d}@big.example", "role": "Read Only", "stores": ["MID0000001"]}
                for i in range(249)
            ],
            "tokens": [{"token": "tok-big", "email": "root@big.example"}],
        },
        {
            "name": "small",
            "users": [{"email": "root@small.example", "role": "Admin"}],
            "tokens": [{"token": "tok-small", "email": "root@small.example"}],
        },
    ]
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


@pytest.fixture
def api(emu: EmulatorProcess) -> Api:
    return emu.api("tok-big")


def code(response: requests.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    value: str = response.json()["code"]
    return value


# -- pagination ------------------------------------------------------------------------------


def test_default_page_is_100_and_cursors_walk_every_item_once(api: Api) -> None:
    first = api.get("/users").json()
    assert len(first["items"]) == 100 and first["next_cursor"]
    second = api.get("/users", params={"cursor": first["next_cursor"]}).json()
    third = api.get("/users", params={"cursor": second["next_cursor"]}).json()
    assert len(second["items"]) == 100 and len(third["items"]) == 50
    assert third["next_cursor"] is None
    ids = [u["id"] for page in (first, second, third) for u in page["items"]]
    assert len(ids) == len(set(ids)) == 250


def test_limit_200_is_the_maximum(api: Api) -> None:
    assert len(api.get("/users", params={"limit": 200}).json()["items"]) == 200
    assert code(api.get("/users", params={"limit": 201})) == "invalid"
    assert code(api.get("/users", params={"limit": 0})) == "invalid"


def test_item_order_is_not_guaranteed(api: Api) -> None:
    orders = {tuple(u["id"] for u in api.get("/users").json()["items"]) for _ in range(3)}
    assert len(orders) > 1
    assert all(list(order) != sorted(order) for order in orders)


def test_foreign_cursors_are_refused(api: Api) -> None:
    assert code(api.get("/users", params={"cursor": "garbage!"})) == "invalid"
    stores_cursor = api.get("/stores", params={"limit": 2}).json()["next_cursor"]
    assert code(api.get("/users", params={"cursor": stores_cursor})) == "invalid"
    for forged in ({"k": "users", "a": 10**20}, {"k": "users", "a": True}):  # not ours: 422
        text = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        assert code(api.get("/users", params={"cursor": text})) == "invalid"


def test_items_added_between_pages_do_not_shift_the_walk(api: Api) -> None:
    first = api.get("/users").json()
    api.post("/users", json={"email": "late@big.example", "role": "User", "stores": []})
    rest = api.all_items("/users")  # from the start, for comparison
    second = api.get("/users", params={"cursor": first["next_cursor"], "limit": 200}).json()
    seen = {u["id"] for u in first["items"]} | {u["id"] for u in second["items"]}
    assert seen == {u["id"] for u in rest}


# -- etags -----------------------------------------------------------------------------------


def test_stale_if_match_is_412_on_users(api: Api) -> None:
    user = api.all_items("/users")[-1]
    answer = api.patch(
        f"/users/{user['id']}", json={"stores": []}, headers={"If-Match": user["etag"]}
    )
    assert answer.status_code == 200, answer.text
    fresh = answer.json()["etag"]
    assert fresh != user["etag"]
    stale = api.patch(
        f"/users/{user['id']}", json={"stores": ["MID0000002"]}, headers={"If-Match": user["etag"]}
    )
    assert stale.status_code == 412 and code(stale) == "precondition_failed"
    stale_delete = api.delete(f"/users/{user['id']}", headers={"If-Match": f'"{user["etag"]}"'})
    assert stale_delete.status_code == 412
    assert api.delete(f"/users/{user['id']}", headers={"If-Match": f'"{fresh}"'}).status_code == 204


def test_stale_if_match_is_412_on_ranges_and_organization(api: Api) -> None:
    rng = api.get("/ip-ranges").json()["items"][0]
    api.patch(f"/ip-ranges/{rng['id']}", json={"name": "Local"})
    stale = api.patch(
        f"/ip-ranges/{rng['id']}", json={"name": "Other"}, headers={"If-Match": rng["etag"]}
    )
    assert code(stale) == "precondition_failed"
    assert code(api.delete(f"/ip-ranges/{rng['id']}", headers={"If-Match": rng["etag"]})) == (
        "precondition_failed"
    )
    org = api.get("/organization")
    assert org.headers["ETag"].strip('"') == org.json()["etag"]
    api.patch("/organization", json={"technical_support_access": False})
    stale = api.patch(
        "/organization",
        json={"technical_support_access": True},
        headers={"If-Match": org.json()["etag"]},
    )
    assert stale.status_code == 412


# -- idempotency -----------------------------------------------------------------------------


def test_a_replayed_post_returns_the_first_answer_without_a_second_effect(
    emu: EmulatorProcess, api: Api
) -> None:
    body = {"email": "once@big.example", "role": "User", "stores": ["MID0000003"]}
    headers = {"Idempotency-Key": "k-1"}
    first = api.post("/users", json=body, headers=headers)
    events = len(emu.audit_events("tok-big"))
    second = api.post("/users", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert [m["to"] for m in emu.outbox()] == ["once@big.example"]
    assert len(emu.audit_events("tok-big")) == events
    assert code(api.post("/users", json=body)) == "user_exists"  # without the key: a new request


def test_a_key_reused_for_another_request_is_refused(api: Api) -> None:
    headers = {"Idempotency-Key": "k-2"}
    api.post("/users", json={"email": "a@big.example", "role": "User"}, headers=headers)
    other = api.post("/users", json={"email": "b@big.example", "role": "User"}, headers=headers)
    assert other.status_code == 409 and code(other) == "idempotency_key_reused"


def test_keys_belong_to_one_organization(emu: EmulatorProcess, api: Api) -> None:
    headers = {"Idempotency-Key": "shared"}
    api.post("/users", json={"email": "a@big.example", "role": "User"}, headers=headers)
    small = emu.api("tok-small")
    answer = small.post("/users", json={"email": "a@big.example", "role": "User"}, headers=headers)
    assert answer.status_code == 201 and answer.json()["email"] == "a@big.example"


def test_failed_requests_are_not_stored_under_their_key(api: Api) -> None:
    headers = {"Idempotency-Key": "k-3"}
    body = {"email": "x@big.example", "role": "User", "stores": ["NOPE"]}
    assert api.post("/users", json=body, headers=headers).status_code == 422
    body["stores"] = []  # a failure had no effect: the corrected request may use the same key
    assert api.post("/users", json=body, headers=headers).status_code == 201
    assert api.post("/users", json=body, headers=headers).status_code == 201


def test_replayed_delete_answers_204_again(api: Api) -> None:
    user = api.all_items("/users")[-1]
    headers = {"Idempotency-Key": "del-1"}
    assert api.delete(f"/users/{user['id']}", headers=headers).status_code == 204
    assert api.delete(f"/users/{user['id']}", headers=headers).status_code == 204
    assert api.delete(f"/users/{user['id']}").status_code == 404


# -- audit annotations -----------------------------------------------------------------------


def test_annotations_are_stored_verbatim_on_the_event(emu: EmulatorProcess, api: Api) -> None:
    note = {"tool": "accessctl", "plan": "p1", "source": "acme.yaml:12", "ü": "ß"}
    header = json.dumps(note, separators=(",", ":"), ensure_ascii=True)
    answer = api.post(
        "/users",
        json={"email": "n@big.example", "role": "User"},
        headers={"X-Audit-Annotation": header},
    )
    assert answer.status_code == 201
    event = emu.audit_events("tok-big")[-1]
    assert event["annotation"] == note
    assert list(event["annotation"]) == list(note)  # order kept: stored as sent


@pytest.mark.parametrize(
    "header",
    [
        "not json",
        "[1,2]",
        '"text"',
        '{"a": 1}',  # not compact
        '{"a":"' + "x" * 4090 + '"}',  # 4097 bytes
        '{"a":NaN}',  # Python reads it; JSON has no NaN
        '{"a":-Infinity}',
    ],
    ids=["garbage", "array", "string", "spaces", "too-long", "nan", "infinity"],
)
def test_malformed_annotations_are_400(api: Api, header: str) -> None:
    answer = api.post(
        "/users",
        json={"email": "n@big.example", "role": "User"},
        headers={"X-Audit-Annotation": header},
    )
    assert answer.status_code == 400 and code(answer) == "invalid_annotation"
    assert "n@big.example" not in {u["email"] for u in api.all_items("/users")}


def test_an_annotation_of_exactly_4096_bytes_is_accepted(api: Api) -> None:
    header = '{"a":"' + "x" * 4088 + '"}'
    assert len(header) == 4096
    answer = api.patch(
        "/organization",
        json={"technical_support_access": False},
        headers={"X-Audit-Annotation": header},
    )
    assert answer.status_code == 200, answer.text


# -- audit log and logins --------------------------------------------------------------------


def test_first_use_of_a_token_records_a_login(emu: EmulatorProcess, api: Api) -> None:
    api.get("/me")
    api.get("/me")
    logins = [e for e in emu.audit_events("tok-big") if e["action"] == "login"]
    assert len(logins) == 1
    assert logins[0]["actor"] == "root@big.example" and logins[0]["ip"] == "127.0.0.1"


def test_audit_events_since(emu: EmulatorProcess, api: Api) -> None:
    api.patch("/organization", json={"technical_support_access": False})
    events = emu.audit_events("tok-big")
    last = events[-1]
    later = api.get("/audit-events", params={"since": last["at"]}).json()["items"]
    assert [e["id"] for e in later] == [last["id"]]
    assert api.get("/audit-events", params={"since": "2999-01-01"}).json()["items"] == []
    assert code(api.get("/audit-events", params={"since": "yesterday"})) == "invalid"


def test_unknown_paths_and_methods_are_problems(api: Api) -> None:
    assert code(api.get("/nothing-here")) == "not_found"
    assert code(api.request("PUT", "/users")) == "method_not_allowed"


def test_malformed_json_is_422(api: Api) -> None:
    answer = api.post("/users", data=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and code(answer) == "invalid"


def test_forwarded_for_is_ignored_unless_trusted(api: Api) -> None:
    assert api.get("/me", headers={"X-Forwarded-For": "192.0.2.9"}).json()["ip"] == "127.0.0.1"
