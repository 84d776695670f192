"""The emulator's login history: seeded `logins`, `POST /_emulator/logins`, and the repeatable
`action=` filter of `GET /audit-events`."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from support.emulators import EmulatorPool

from reconciler.emulator.seed import SeedError, parse_seed
from reconciler.emulator.testing import EmulatorProcess

TOKEN = "tok-logins"


def seed(logins: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "organizations": [
            {
                "name": "acme",
                "users": [
                    {"email": "root@acme.example", "role": "Admin"},
                    {"email": "bob@acme.example", "role": "User"},
                ],
                "tokens": [{"token": TOKEN, "email": "root@acme.example"}],
                "logins": logins,
            }
        ]
    }


LOGINS = [
    {"email": "Bob@acme.example", "ip": "10.0.0.2", "at": "2026-05-02T10:00:00+02:00"},
    {"email": "bob@acme.example", "ip": "10.0.0.1", "at": "2026-05-01T08:00:00Z"},
]


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(seed(LOGINS))


def events(emu: EmulatorProcess, query: str) -> list[dict[str, Any]]:
    api = emu.api(TOKEN)
    try:
        found = api.all_items("/audit-events" + query)
    finally:
        api.close()
    return sorted(found, key=lambda e: int(e["id"].removeprefix("evt_")))  # pages are shuffled


def test_seeded_logins_are_login_events_at_their_time(emu: EmulatorProcess) -> None:
    found = [e for e in events(emu, "?action=login") if e["actor"] == "bob@acme.example"]
    assert [(e["at"], e["ip"]) for e in found] == [
        ("2026-05-01T08:00:00.000000Z", "10.0.0.1"),
        ("2026-05-02T08:00:00.000000Z", "10.0.0.2"),  # +02:00 in UTC
    ]
    assert found[0]["target"]["name"] == "bob@acme.example"
    assert found[0]["annotation"] is None and found[0]["before"] is None


def test_action_filter_is_repeatable_and_since_applies(emu: EmulatorProcess) -> None:
    api = emu.api(TOKEN)
    try:
        invited = api.post("/users", json={"email": "new@acme.example", "role": "User",
                                           "type": "internal", "stores": []})  # fmt: skip
        assert invited.status_code == 201, invited.text
    finally:
        api.close()
    try:
        assert {e["action"] for e in events(emu, "?action=user.invited")} == {"user.invited"}
        both = events(emu, "?action=login&action=user.invited")
        assert {e["action"] for e in both} == {"login", "user.invited"}
        assert len(both) == len(events(emu, "")) == len(events(emu, "?action=login")) + 1
        later = events(emu, "?action=login&since=2026-05-02")
        assert ("2026-05-01T08:00:00.000000Z", "10.0.0.1") not in [
            (e["at"], e["ip"]) for e in later
        ]
    finally:
        emu.reset()


def test_unknown_action_is_refused(emu: EmulatorProcess) -> None:
    api = emu.api(TOKEN)
    try:
        answer = api.get("/audit-events", params={"action": "logon"})
    finally:
        api.close()
    assert answer.status_code == 422 and "logon" in answer.json()["detail"]


def test_control_endpoint_records_a_login_now(emu: EmulatorProcess) -> None:
    try:
        assert (
            emu.record_login("acme", "BOB@acme.example", "192.0.2.7")["email"] == "bob@acme.example"
        )
        newest = [e for e in events(emu, "?action=login") if e["actor"] != "root@acme.example"][-1]
        assert (newest["actor"], newest["ip"]) == ("bob@acme.example", "192.0.2.7")
        assert newest["at"] > "2026-05-02"
        with pytest.raises(requests.HTTPError):
            emu.record_login("acme", "nobody@acme.example", "192.0.2.7")
        with pytest.raises(requests.HTTPError):
            emu.record_login("acme", "bob@acme.example", "not-an-ip")
    finally:
        emu.reset()


def test_a_seeded_login_names_a_user_and_an_address() -> None:
    with pytest.raises(SeedError, match=r"login of eve@acme\.example in acme: no such user"):
        parse_seed(seed([{"email": "eve@acme.example", "ip": "10.0.0.1", "at": "2026-05-01"}]))
    with pytest.raises(SeedError, match="ip"):
        parse_seed(seed([{"email": "bob@acme.example", "ip": "10.0.0", "at": "2026-05-01"}]))
