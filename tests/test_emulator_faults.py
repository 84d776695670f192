"""Fault injection: seeded, decided before the database is touched, latency that overlaps."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support.emulators import EmulatorPool

from reconciler.emulator.testing import Api, EmulatorProcess

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(WORLD, extra_args=["--trust-forwarded-for"])


@pytest.fixture
def admin(emu: EmulatorProcess) -> Api:
    return emu.api("tok-admin")


def statuses(api: Api, n: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(n):
        try:
            out.append(api.get("/me").status_code)
        except requests.ConnectionError:
            out.append("drop")
    return out


def test_faults_repeat_for_the_same_seed(emu: EmulatorProcess, admin: Api) -> None:
    settings = {"error_rate": 0.3, "rate_limit_rate": 0.1, "drop_rate": 0.1, "retry_after": 0}
    emu.set_faults(**settings, seed=7)
    first = statuses(admin, 40)
    emu.set_faults(**settings, seed=7)
    assert statuses(admin, 40) == first
    assert {500, 503, 429, "drop", 200} <= set(first)
    emu.set_faults(**settings, seed=8)
    assert statuses(admin, 40) != first


def test_rate_limit_bursts_carry_retry_after(emu: EmulatorProcess, admin: Api) -> None:
    emu.set_faults(rate_limit_burst=2, retry_after=3)
    for _ in range(2):
        answer = admin.get("/me")
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
        assert answer.json()["code"] == "rate_limited"
    assert admin.get("/me").status_code == 200


def test_injected_errors_have_no_effect(emu: EmulatorProcess, admin: Api) -> None:
    emu.set_faults(error_rate=1)
    answer = admin.post("/users", json={"email": "x@acme.example", "role": "User"})
    assert answer.status_code in (500, 503)
    assert answer.json()["code"] in ("server_error", "unavailable")
    emu.clear_faults()
    assert "x@acme.example" not in {u["email"] for u in admin.all_items("/users")}
    assert emu.outbox() == []


def test_dropped_connections_have_no_effect(emu: EmulatorProcess, admin: Api) -> None:
    emu.set_faults(drop_rate=1)
    with pytest.raises(requests.ConnectionError):
        admin.post("/users", json={"email": "x@acme.example", "role": "User"})
    emu.clear_faults()
    assert "x@acme.example" not in {u["email"] for u in admin.all_items("/users")}


def test_drop_after_commit_then_retry_with_the_key_invites_once(
    emu: EmulatorProcess, admin: Api
) -> None:
    body = {"email": "x@acme.example", "role": "User"}
    headers = {"Idempotency-Key": "retry-me"}
    emu.set_faults(drop_after_commit_rate=1, methods=["POST"])
    with pytest.raises(requests.ConnectionError):
        admin.post("/users", json=body, headers=headers)
    emu.clear_faults()
    retry = admin.post("/users", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["email"] == "x@acme.example"
    assert [m["to"] for m in emu.outbox()] == ["x@acme.example"]


def test_faults_can_target_methods(emu: EmulatorProcess, admin: Api) -> None:
    emu.set_faults(error_rate=1, methods=["PATCH"])
    assert admin.get("/me").status_code == 200
    assert admin.patch("/organization", json={"technical_support_access": False}).status_code >= 500


def test_latency_does_not_block_other_requests(emu: EmulatorProcess) -> None:
    emu.set_faults(latency_ms=150)
    apis = [emu.api("tok-admin") for _ in range(8)]
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: apis[i % 8].get("/me").status_code, range(16)))
    elapsed = time.monotonic() - start
    assert codes == [200] * 16
    assert 0.3 <= elapsed < 2.0  # sequential would take 2.4 s; 8 at once about 0.3 s


def test_request_counts_by_pattern(emu: EmulatorProcess, admin: Api) -> None:
    emu.reset_request_counts()
    admin.get("/users/usr_1")
    admin.get("/users/usr_2")
    admin.get("/users")
    assert emu.request_counts() == {"GET /users/{id}": 2, "GET /users": 1}


def test_faults_settings_are_validated(emu: EmulatorProcess) -> None:
    answer = requests.put(emu.root_url + "/_emulator/faults", json={"error_rate": 2}, timeout=5)
    assert answer.status_code == 422


def test_forwarded_for_is_trusted_from_loopback_when_asked(emu: EmulatorProcess) -> None:
    beta = emu.api("tok-beta")
    assert beta.get("/me", headers={"X-Forwarded-For": "192.0.2.9, 10.0.0.1"}).json()["ip"] == (
        "192.0.2.9"
    )
    far = emu.api("tok-far")
    assert far.get("/me", headers={"X-Forwarded-For": "203.0.113.99"}).status_code == 200
    # an IPv4 caller seen through a dual-stack socket is shown as its IPv4 address
    mapped = beta.get("/me", headers={"X-Forwarded-For": "::ffff:192.0.2.9"}).json()["ip"]
    assert mapped == "192.0.2.9"
