"""`accessctl demo` runs the whole loop against a real emulator, quickly, and shows no token."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.demo import HAND_TOKEN, OWNER_TOKEN

pytestmark = pytest.mark.e2e


def test_demo_runs_the_loop_and_ends_with_an_empty_plan() -> None:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    out = result.output
    steps = ["validate", "plan", "apply", "plan", "audit"]
    positions = [
        out.index(f"$ accessctl {s} ", out.index(f"=== {n}."))
        for n, s in zip(range(3, 8), steps, strict=True)
    ]
    assert positions == sorted(positions)
    assert "Apply complete: 7 applied, 0 failed, 0 skipped." in out
    assert "No changes. Live state matches the configuration." in out
    assert "Made by hand, outside accessctl (1):" in out
    assert "users/disputes.eva@acme-eu.example (create)" in out
    assert "Demo complete in" in out
    assert OWNER_TOKEN not in out and HAND_TOKEN not in out
