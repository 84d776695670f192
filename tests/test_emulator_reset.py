"""`POST /_emulator/reset` puts back everything a test can change, so one emulator per seed can
serve a whole test session (tests/support/emulators.py) without one test seeing another's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from support.emulators import EmulatorPool

from reconciler.emulator.testing import EmulatorProcess

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"
STARTED_WITH = ["--latency-ms", "1", "--fault-seed", "7"]  # faults given on the command line
TOKENS = ("tok-root", "tok-beta", "tok-gamma")
TIMES = {"at", "created_at", "updated_at", "sent_at", "last_login_at", "invited_at"}


def _control(emu: EmulatorProcess, path: str) -> Any:
    answer = requests.get(emu.root_url + "/_emulator" + path, timeout=30)
    answer.raise_for_status()
    return answer.json()


def _timeless(value: Any) -> Any:
    """`value` without its wall-clock timestamps (two runs a second apart differ only there),
    lists sorted (the emulator shuffles every page on purpose)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return sorted((_timeless(v) for v in value), key=repr)
    return value


def _everything(emu: EmulatorProcess) -> dict[str, Any]:
    """All a test can observe, read in a fixed order (the reads are counted and audited too)."""
    seen: dict[str, Any] = {
        "requests": emu.request_counts(),
        "faults": _control(emu, "/faults"),
        "time": _control(emu, "/time"),
        "outbox": emu.outbox(),
    }
    for token in TOKENS:
        api = emu.api(token)
        seen[token] = {
            "organization": api.get("/organization").json(),
            "users": api.all_items("/users"),
            "stores": api.all_items("/stores"),
        }
        if token != "tok-beta":  # a standard plan has no IP ranges
            seen[token]["ranges"] = api.all_items("/ip-ranges")
        seen[token]["audit"] = emu.audit_events(token)
        api.close()
    return _timeless(seen)


def _change_everything(emu: EmulatorProcess) -> None:
    root = emu.api("tok-root")
    invited = root.post(
        "/users",
        json={"email": "new@acme.example", "role": "User", "stores": ["MID1000001"]},
        headers={"Idempotency-Key": "key-1"},
    )
    assert invited.status_code == 201, invited.text
    assert emu.accept_invitation("new@acme.example") == 1
    reader = next(u for u in root.all_items("/users") if u["email"] == "reader@acme.example")
    assert root.delete(f"/users/{reader['id']}").status_code == 204
    added = root.post("/ip-ranges", json={"name": "Lab", "cidr": "198.51.100.0/24"})
    assert added.status_code == 201, added.text
    organization = root.get("/organization").json()
    patched = root.patch(
        "/organization",
        json={"technical_support_access": False},
        headers={"If-Match": organization["etag"]},
    )
    assert patched.status_code == 200, patched.text
    root.close()


def test_reset_puts_back_data_ids_faults_date_counts_and_outbox(emulators: EmulatorPool) -> None:
    emu = emulators.get(WORLD, extra_args=STARTED_WITH)
    fresh = _everything(emu)
    assert fresh["faults"]["latency_ms"] == 1 and fresh["faults"]["seed"] == 7
    assert fresh["requests"] == {} and fresh["outbox"] == [] and not fresh["time"]["pinned"]

    _change_everything(emu)
    changed = _everything(emu)
    for what in ("outbox", "requests", "tok-root"):
        assert changed[what] != fresh[what], what
    emu.set_today("2031-01-01")
    emu.set_faults(error_rate=0.5, rate_limit_burst=3, seed=99)
    assert _control(emu, "/time")["pinned"]
    assert _control(emu, "/faults")["rate_limit_burst"] == 3

    emu.reset()
    assert _everything(emu) == fresh


def test_after_a_reset_ids_and_idempotency_keys_start_over(emulators: EmulatorPool) -> None:
    """The same request after a reset gets the same id, and an Idempotency-Key used before the
    reset is not replayed from a table the reset forgot."""
    emu = emulators.get(WORLD)
    body = {"email": "again@acme.example", "role": "User", "stores": ["MID1000001"]}
    first = emu.api("tok-root").post("/users", json=body, headers={"Idempotency-Key": "k"})
    emu.reset()
    other = {**body, "email": "other@acme.example"}
    second = emu.api("tok-root").post("/users", json=other, headers={"Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json()["email"] == "other@acme.example"
    assert second.json()["id"] == first.json()["id"]


def test_the_pool_resets_between_gets(emulators: EmulatorPool) -> None:
    emu = emulators.get(WORLD)
    emu.set_faults(latency_ms=3)
    emu.api("tok-root").get("/me")
    again = emulators.get(WORLD)
    assert again is emu
    assert again.request_counts() == {}
    assert _control(again, "/faults")["latency_ms"] == 0
