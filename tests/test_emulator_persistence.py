"""A database file outlives the process; the seed is applied to an empty database only."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.testing import EmulatorProcess

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"


def _emails(emu: EmulatorProcess) -> set[str]:
    return {u["email"] for u in emu.api("tok-admin").all_items("/users")}


def test_state_survives_a_restart_on_the_same_file(tmp_path: Path) -> None:
    db = str(tmp_path / "access.sqlite")
    with EmulatorProcess(WORLD, db=db) as emu:
        admin = emu.api("tok-admin")
        created = admin.post("/users", json={"email": "kept@acme.example", "role": "User"}).json()
        reader = next(u for u in admin.all_items("/users") if u["email"] == "reader@acme.example")
        assert admin.delete(f"/users/{reader['id']}").status_code == 204
        events = emu.audit_events("tok-admin")
        before = _emails(emu)
    with EmulatorProcess(WORLD, db=db) as emu:
        assert _emails(emu) == before
        assert "reader@acme.example" not in before and "kept@acme.example" in before
        assert emu.api("tok-admin").get(f"/users/{created['id']}").json() == created
        assert emu.audit_events("tok-admin")[: len(events)] == events
        assert [m["to"] for m in emu.outbox()] == ["kept@acme.example"]
    with EmulatorProcess(WORLD, db=db, extra_args=["--reset"]) as emu:
        assert "reader@acme.example" in _emails(emu)
        assert "kept@acme.example" not in _emails(emu)
