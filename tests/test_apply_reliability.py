"""SPEC §8 reliability: apply converges through injected faults, and an apply killed half-way
(SIGKILL) is finished by re-running the same command, without inviting anyone twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from support.apply import HAND_TOKEN, accessctl, env, make_plan, seed, write_config
from support.emulators import EmulatorPool

from reconciler.emulator.testing import EmulatorProcess
from reconciler.plan import save_plan

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = seed(
    users=[{"email": f"old{i}@acme.example", "role": "User", "stores": ["MID1"]} for i in range(6)],
    ranges=[{"name": "Loopback", "cidr": "127.0.0.0/8"}],
)
NEW = [f"new{i:02d}@acme.example" for i in range(24)]


def config_body(new: list[str]) -> str:
    lines = [
        "ip_ranges:",
        "  - {name: Loopback, cidr: 127.0.0.0/8}",
        "  - {name: Branch, cidr: 10.1.0.0/16}",
        "users:",
        "  - {email: root@acme.example, role: Super Admin, stores: all}",
        "  - {email: hand@acme.example, role: Admin, stores: all}",
        *(
            f"  - {{email: old{i}@acme.example, role: Settlement, stores: [MID2]}}"
            for i in range(4)
        ),
        *(f"  - {{email: {e}, role: Read Only, stores: [MID1]}}" for e in new),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def invites(emu: EmulatorProcess) -> Counter[str]:
    return Counter(item["to"] for item in emu.outbox())


def test_apply_converges_through_faults(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, config_body(NEW))
    emu.set_faults(
        error_rate=0.10,
        rate_limit_rate=0.05,
        retry_after=0,
        drop_rate=0.025,
        drop_after_commit_rate=0.025,
        seed=11,
    )
    result = accessctl(emu, "apply", str(config), "--yes")
    faults = emu.request_counts()
    emu.clear_faults()
    assert result.exit_code == 0, result.output
    assert "Apply complete: 31 applied, 0 failed, 0 skipped." in result.output
    assert sum(faults.values()) > 31 + 5  # retries happened
    assert not make_plan(emu, config).has_changes
    assert invites(emu) == Counter(NEW)  # exactly one invite per new user


def _start_apply(emu: EmulatorProcess, saved: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "reconciler.cli", "apply", str(saved), "--yes"]
    return subprocess.Popen(
        [*command, "--parallelism", "2"],
        env={**os.environ, **env(emu)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_midway(emu: EmulatorProcess, saved: Path) -> int:
    emu.set_faults(latency_ms=120)
    process = _start_apply(emu, saved)
    deadline = time.monotonic() + 30
    while len(emu.outbox()) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    emu.clear_faults()
    sent = len(emu.outbox())
    assert 6 <= sent < len(NEW), "the apply was not killed mid-way"
    return sent


def test_killed_apply_is_finished_by_rerunning_it(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, config_body(NEW))
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, config), saved)
    _kill_midway(emu, saved)
    journal = tmp_path / "plan.json.journal"
    assert journal.exists()

    result = accessctl(emu, "apply", str(saved), "--yes")
    assert result.exit_code == 0, result.output
    # This run's count and the journal's are told apart, and add up to the whole plan.
    summary = re.search(
        r"Apply complete: (\d+) applied, 0 failed, 0 skipped\. (\d+) more (?:was|were) "
        r"applied before the interruption \(from the journal\)\.",
        result.output,
    )
    assert summary is not None, result.output
    assert int(summary[1]) + int(summary[2]) == 31 and int(summary[2]) >= 1
    assert invites(emu) == Counter(NEW)  # in-flight invites were replayed, not re-sent
    assert not make_plan(emu, config).has_changes
    assert not journal.exists()


def test_killed_apply_then_hand_change_is_stale(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, config_body(NEW))
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, config), saved)
    _kill_midway(emu, saved)
    headers = {"Authorization": f"Bearer {HAND_TOKEN}"}
    answer = requests.post(
        f"{emu.base_url}/ip-ranges",
        json={"name": "Sneaky", "cidr": "10.9.0.0/16"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text

    result = accessctl(emu, "apply", str(saved), "--yes")
    assert result.exit_code == 1
    assert "saved plan is stale" in result.output
    assert "ip_ranges/Sneaky" in result.output
