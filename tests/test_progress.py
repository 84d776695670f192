"""The live-state progress line: on a terminal only, throttled, erased at the end, and never in
the way of the plan on stdout."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from support.emulators import EmulatorPool

from reconciler.cli._progress import FetchProgress
from reconciler.emulator.testing import EmulatorProcess


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_redraws_at_most_once_per_interval_and_erases_itself() -> None:
    out, clock = io.StringIO(), Clock()
    with closing(FetchProgress(out, enabled=True, interval=0.1, clock=clock)) as progress:
        progress("acme-eu", "/users", 200)
        progress("acme-eu", "/stores", 3)  # within the interval: counted, not drawn
        clock.now += 0.2
        progress("acme-eu", "/users", 400)
        progress("globex", "/ip-ranges", 1)
        assert progress.line() == (
            "Reading live state: acme-eu 400 users, 3 stores; globex 1 ranges"
        )
    assert out.getvalue() == (
        "\r\033[KReading live state: acme-eu 200 users"
        "\r\033[KReading live state: acme-eu 400 users, 3 stores"
        "\r\033[K"
    )


def test_thousands_are_grouped_and_a_long_line_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    progress = FetchProgress(io.StringIO(), enabled=True)
    progress("a-very-long-organization-name", "/users", 12_400)
    line = progress.line()
    assert len(line) == 39 and line.endswith("…")
    monkeypatch.setenv("COLUMNS", "200")
    assert progress.line().endswith("a-very-long-organization-name 12,400 users")


def test_silent_off_a_terminal() -> None:
    out = io.StringIO()  # not a terminal
    with closing(FetchProgress(out)) as progress:
        assert not progress.enabled
        progress("acme-eu", "/users", 200)
    assert out.getvalue() == ""


def test_a_broken_stream_turns_it_off() -> None:
    out = io.StringIO()
    out.close()
    progress = FetchProgress(out, enabled=True)
    progress("acme-eu", "/users", 200)  # must not raise
    assert not progress.enabled


# -- end to end: `accessctl plan` with stderr on a pseudo-terminal ----------------------------

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "ultimate",
            "technical_support_access": False,
            "stores": [{"id": "MID1", "name": "Web"}],
            "ip_ranges": [{"name": "Loopback", "cidr": "127.0.0.0/8"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": ["MID1"]},
                *(
                    {"email": f"u{i}@acme.example", "role": "User", "stores": ["MID1"]}
                    for i in range(450)
                ),
            ],
            "tokens": [{"token": "tok-root", "email": "root@acme.example"}],
        }
    ]
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def test_plan_shows_progress_on_a_terminal_and_keeps_stdout_clean(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(
        "organization: acme-eu\n"
        f"api: {{url: '{emu.base_url}', token_env: ACME_TOKEN}}\n"
        "policy: {unmanaged_users: ignore}\n"
        "users:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n",
        encoding="utf-8",
    )
    master, slave = pty.openpty()
    env = {**os.environ, "ACME_TOKEN": "tok-root", "COLUMNS": "120", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "plan", str(config)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    stderr = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        stderr += chunk
    stdout, _ = proc.communicate(timeout=30)
    os.close(master)
    assert proc.returncode == 0, stderr
    shown = stderr.decode()
    # the users list is three pages of 200: the line is drawn, then erased
    assert "\r\x1b[KReading live state: acme-eu " in shown
    assert shown.endswith("\r\x1b[K")
    assert b"Reading live state" not in stdout and b"\x1b" not in stdout
    assert stdout.decode().startswith("Organization acme-eu (as root@acme.example")
