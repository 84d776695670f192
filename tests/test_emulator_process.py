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


def test_sigterm_stops_it_cleanly_and_it_prints_one_line() -> None:
    emu = EmulatorProcess(WORLD).start()
    emu.stop()
    assert emu.returncode == 0
    assert "Traceback" not in emu.stderr


def test_control_endpoints_refuse_non_loopback_peers() -> None:
    import asyncio

    from reconciler.emulator.app import create_app
    from reconciler.emulator.db import Database
    from reconciler.emulator.seed import Seed
    from reconciler.emulator.state import EmulatorState

    db = Database()
    app = create_app(EmulatorState(db=db, seed=Seed()))
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    def call(client: str) -> object:
        sent.clear()
        scope = {
            "type": "http", "method": "POST", "path": "/_emulator/reset", "raw_path": b"",
            "query_string": b"", "headers": [], "client": (client, 5000),
            "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1",
            "root_path": "",
        }  # fmt: skip
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
        return sent[0]["status"]

    try:
        assert call("198.51.100.7") == 403
        assert call("127.0.0.1") == 200
    finally:
        db.close()
