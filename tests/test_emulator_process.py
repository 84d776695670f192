"""EmulatorProcess: the subprocess helper other tests build on."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from reconciler.emulator.testing import EmulatorError, EmulatorProcess

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"


def test_starts_on_a_free_loopback_port_and_answers() -> None:
    with EmulatorProcess(WORLD) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert emu.base_url.endswith("/api/v1")
        me = requests.get(
            emu.base_url + "/me", headers={"Authorization": "Bearer tok-root"}, timeout=10
        )
        assert me.json()["email"] == "root@acme.example"
        assert emu.request_counts() == {"GET /me": 1}
        emu.reset_request_counts()
        assert emu.request_counts() == {}
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/me", timeout=2)


def test_seed_may_be_a_dict() -> None:
    seed = {
        "organizations": [
            {
                "name": "solo",
                "users": [{"email": "a@b.example", "role": "Admin"}],
                "tokens": [{"token": "t", "email": "a@b.example"}],
            }
        ]
    }
    with EmulatorProcess(seed) as emu:
        answer = requests.get(
            emu.base_url + "/me", headers={"Authorization": "Bearer t"}, timeout=10
        )
        assert answer.json()["role"] == "Admin"


def test_a_bad_seed_fails_with_the_servers_stderr() -> None:
    seed = {
        "organizations": [{"name": "x", "tokens": [{"token": "t", "email": "nobody@x.example"}]}]
    }
    with pytest.raises(EmulatorError, match="no such user"):
        EmulatorProcess(seed).start()
