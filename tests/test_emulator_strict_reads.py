"""The emulator is the reference of a correct server: whatever it answers, in every state and
for every event it records, accessctl's strict reads (`fetch_live_state`, `fetch_audit_events`)
accept. A refusal here is a false refusal of a correct server (a scheduled run stopped)."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from support.emulators import EmulatorPool

from reconciler.api import AccessApiClient
from reconciler.api.fetch import fetch_audit_events, fetch_live_state
from reconciler.emulator.schemas import AuditAction
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

TOKEN = "tok-strict"
V6_TOKEN = "tok-strict-v6"
SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "strict",
            "plan": "ultimate",
            "technical_support_access": False,
            "stores": [{"id": "S1", "name": "One"}, {"id": "S2"}],
            "ip_ranges": [
                {"name": "Loopback", "cidr": "127.0.0.0/8"},
                {"name": "Office v6", "cidr": "2001:db8::/32"},
            ],
            "users": [
                {"email": "root@strict.example", "role": "Super Admin", "stores": "all"},
                {"email": "gone@strict.example", "role": "Terminated", "stores": []},
                {"email": "new@strict.example", "role": "Disputes", "status": "invited"},
                {"email": "jos\u00e9@strict.example", "role": "Read Only", "stores": ["S2"]},
                {
                    "email": "ext.ended@partner.example",
                    "type": "external",
                    "expires_at": "2020-01-01",
                    "stores": ["S1"],
                },
                {
                    "email": "ext.term@partner.example",
                    "type": "external",
                    "role": "Terminated",
                    "expires_at": "2099-01-01",
                    "stores": [],
                },
            ],
            "tokens": [
                {"token": TOKEN, "email": "root@strict.example"},
                {"token": V6_TOKEN, "email": "root@strict.example", "ip": "2001:db8::7"},
            ],
            "logins": [
                {
                    "email": "root@strict.example",
                    "ip": "2001:db8::9",
                    "at": "2026-05-02T10:00:00+02:00",
                },
                {
                    "email": "jos\u00e9@strict.example",
                    "ip": "::ffff:198.51.100.8",
                    "at": "2026-05-01T08:00:00.5",
                },
            ],
        }
    ]
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _every_change(emu: EmulatorProcess) -> None:
    """One change of each kind the API records, with and without an annotation."""
    api = emu.api(TOKEN)
    note = {"X-Audit-Annotation": '{"tool":"someone","list":[1,["x"]],"n":null}'}
    try:
        org = api.get("/organization").json()
        answer = api.patch(
            "/organization",
            json={"technical_support_access": True},
            headers={"If-Match": org["etag"], **note},
        )
        assert answer.status_code == 200, answer.text
        answer = api.post(
            "/users",
            json={"email": "Zoe\u0301@strict.example", "role": "User", "stores": ["S1"]},
        )
        assert answer.status_code == 201, answer.text
        user = answer.json()
        answer = api.patch(f"/users/{user['id']}", json={"stores": []}, headers=note)
        assert answer.status_code == 200, answer.text
        assert api.delete(f"/users/{user['id']}").status_code == 204
        answer = api.post("/ip-ranges", json={"name": "Branch", "cidr": "10.1.0.0/16"})
        assert answer.status_code == 201, answer.text
        branch = answer.json()
        answer = api.patch(f"/ip-ranges/{branch['id']}", json={"cidr": "10.2.0.0/16"})
        assert answer.status_code == 200, answer.text
        assert api.delete(f"/ip-ranges/{branch['id']}").status_code == 204
    finally:
        api.close()
    emu.record_login("strict", "root@strict.example", "fe80::1")


@pytest.mark.parametrize("token", [TOKEN, V6_TOKEN], ids=["ipv4", "ipv6"])
def test_every_answer_of_the_emulator_is_read_strictly(emu: EmulatorProcess, token: str) -> None:
    _every_change(emu)
    with AccessApiClient(emu.base_url, token) as client:
        live = fetch_live_state(client)
        events = fetch_audit_events(client)
    assert {u.status for u in live.users} == {"active", "invited", "expired"}
    assert live.ip in ("127.0.0.1", "2001:db8::7")
    assert {e.action for e in events} == set(get_args(AuditAction))  # every action it writes
    assert {e.ip for e in events if e.action == "login"} >= {"2001:db8::9", "fe80::1"}
