"""Ctrl-C in the middle of `apply`: exit 130, and say how to carry on (resume a saved plan from its
journal; plan again otherwise). Against the real emulator, slowed down so there is a middle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.journal import read_journal
from reconciler.emulator.testing import EmulatorProcess
from reconciler.plan import load_plan

pytestmark = pytest.mark.e2e

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "standard",
            "technical_support_access": True,
            "stores": [{"id": "MID1", "name": "Web"}],
            "users": [{"email": "root@acme.example", "role": "Super Admin", "stores": "all"}],
            "tokens": [{"token": "tok-root", "email": "root@acme.example"}],
        }
    ]
}
USERS = "".join(f"  - {{email: u{i}@acme.example, role: User, stores: all}}\n" for i in range(6))
CONFIG = f"""\
organization: acme-eu
api: {{token_env: ACME_TOKEN}}
settings: {{technical_support_access: false}}
stores: {{MID1: Web}}
users:
  - {{email: root@acme.example, role: Super Admin, stores: all}}
{USERS}"""


def _accessctl(args: list[str], url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ACME_TOKEN": "tok-root", "ACCESSCTL_API_URL": url}
    env.pop("NO_COLOR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _interrupt_after_first_change(process: subprocess.Popen[str]) -> tuple[int, str]:
    assert process.stdout is not None and process.stderr is not None
    for line in process.stdout:
        if line.startswith("applied "):
            break
    process.send_signal(signal.SIGINT)
    process.stdout.read()
    stderr = process.stderr.read()
    return process.wait(timeout=60), stderr


def test_interrupted_saved_plan_says_how_to_resume(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    plan = tmp_path / "plan.json"
    with EmulatorProcess(SEED) as emu:
        with _accessctl(["plan", str(config), "-o", str(plan)], emu.base_url) as planning:
            assert planning.wait(timeout=60) == 0
        emu.set_faults(latency_ms=400)
        args = ["apply", str(plan), "--yes", "--parallelism", "1"]
        with _accessctl(args, emu.base_url) as applying:
            code, stderr = _interrupt_after_first_change(applying)
        assert code == 130
        assert stderr == (
            f"\nApply interrupted: progress is kept in {plan}.journal; run "
            f"`accessctl apply {plan}` again to resume.\nInterrupted.\n"
        )
        journal = read_journal(Path(f"{plan}.journal"), load_plan(plan).plan_id)
        assert journal is not None
        before = len(journal.done("acme-eu"))
        assert 1 <= before < 7
        emu.clear_faults()
        emu.reset_request_counts()
        with _accessctl(args, emu.base_url) as resuming:
            out, _ = resuming.communicate(timeout=60)
        assert resuming.returncode == 0, out
        # This run's count is what it sent; the journal's are named apart, never shown as sent.
        sent = 7 - before
        assert len([line for line in out.splitlines() if line.startswith("applied ")]) == sent
        more = f"{before} more {'was' if before == 1 else 'were'}"
        assert out.endswith(
            f"Apply complete: {sent} applied, 0 failed, 0 skipped. {more} applied before the "
            "interruption (from the journal).\n"
        )
        mutations = sum(
            count for key, count in emu.request_counts().items() if not key.startswith("GET ")
        )
        assert mutations == sent


def test_interrupted_apply_of_a_config_says_plan_again(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with EmulatorProcess(SEED) as emu:
        emu.set_faults(latency_ms=400, methods=["POST", "PATCH"])
        args = ["apply", str(config), "--yes", "--parallelism", "1"]
        with _accessctl(args, emu.base_url) as applying:
            code, stderr = _interrupt_after_first_change(applying)
    assert code == 130
    assert stderr == (
        "\nApply interrupted: some changes may have been sent; run `accessctl plan` on the same "
        "paths to see what is left.\nInterrupted.\n"
    )
