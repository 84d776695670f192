"""Exit codes a script can trust: a usage mistake is an error (1), never "changes present" (2),
and a reader that goes away (`accessctl ... | head`) is not a bug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plan", "access/", "--detailed-exitcod"],
            "Error: No such option '--detailed-exitcod'. Did you mean '--detailed-exitcode'?",
        ),
        (
            ["plan", "access/", "--format", "yaml"],
            "Error: Invalid value for '--format': 'yaml' is not one of 'text', 'markdown', "
            "'json', 'github'.",
        ),
        (
            ["audit", "access/", "--detailed-exitcode", "--bogus"],
            "Error: No such option '--bogus'.",
        ),
        (
            ["apply", "plan.json", "--parallelism", "0"],
            "Error: Invalid value for '--parallelism': 0 is not in the range 1<=x<=64.",
        ),
        (["plna", "access/"], "Error: No such command 'plna'. Did you mean 'plan'?"),
        (["--bogus"], "Error: No such option '--bogus'. Did you mean '--verbose'?"),
        (["emulator", "serve", "--port", "x"], "Error: Invalid value for '--port'"),
    ],
)
def test_usage_errors_exit_1_not_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Usage: accessctl" in result.output


def test_help_still_exits_0() -> None:
    assert CliRunner().invoke(cli, ["plan", "--help"]).exit_code == 0


def test_a_closed_pipe_is_not_a_bug(tmp_path: Path) -> None:
    # validate's report of a big broken config is far larger than a pipe buffer.
    users = "".join(f"  - {{email: u{i}@t.example, role: Nope}}\n" for i in range(3000))
    config = tmp_path / "org.yaml"
    config.write_text(f"organization: t\nusers:\n{users}", encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "validate", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read(10)  # like `| head -c 10`: read a little, then hang up
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1
    assert stderr == ""


def test_a_narrow_output_encoding_is_not_a_crash(tmp_path: Path) -> None:
    # A non-ASCII email in the report, on a stdout that only speaks ASCII (a cp1252 pipe on
    # Windows fails the same way on `→`).
    config = tmp_path / "org.yaml"
    users = "  - {email: å@t.example, role: User}\n" * 2
    config.write_text(f"organization: t\nusers:\n{users}", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "validate", str(config)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert b"unexpected error" not in done.stderr
    assert b"\\xe5@t.example" in done.stdout
