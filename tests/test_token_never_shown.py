"""The token never appears in any output, log, plan file, journal, export or traceback file, at
any verbosity (SPEC §8), across every command that talks to the API, on success and on failure.

Each command runs as a process of its own at -vv against the emulator (through the warm command
line of `support/warm_cli`: forked from a server that has imported the package, with the
command's own descriptors, environment and folder); everything it printed and every file it left
in its working folder (TMPDIR points there too) is searched for the token."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.emulators import EmulatorPool
from support.warm_cli import WarmCli

from reconciler.emulator.testing import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "config-examples" / "demo-seed.json").read_text(encoding="utf-8"))
TOKEN = "tok-Sup3r-s3cret-VALUE-0123456789"  # distinctive: any leak is unmistakable
SEED["organizations"][0]["tokens"][0]["token"] = TOKEN

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _leaks(text: str) -> bool:
    return TOKEN in text


def test_the_search_would_see_a_leak() -> None:
    assert _leaks(f"Authorization: Bearer {TOKEN}")


def test_no_command_shows_the_token(
    emu: EmulatorProcess, warm_cli: WarmCli, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "config-examples" / "acme-eu.yaml", tmp_path / "acme-eu.yaml")
    env = {
        **os.environ,
        "ACME_EU_TOKEN": TOKEN,
        "ACCESSCTL_API_URL": emu.base_url,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "TMPDIR": str(tmp_path),
        "NO_COLOR": "1",
    }
    env.pop("CI", None)
    runs = [
        (["validate", "acme-eu.yaml"], 0),
        (["plan", "acme-eu.yaml", "-o", "plan.json", "--detailed-exitcode"], 2),
        (["plan", "acme-eu.yaml", "--format", "markdown"], 0),
        (["plan", "acme-eu.yaml", "--format", "github"], 0),
        (["plan", "acme-eu.yaml", "--format", "json"], 0),
        (["apply", "acme-eu.yaml", "--dry-run"], 0),
        (["apply", "plan.json", "--yes", "--format", "json"], 0),
        (["apply", "plan.json", "--yes"], 1),  # stale now: an error path
        (["audit", "acme-eu.yaml", "--since", "1h", "--format", "json"], 0),
        (["export", "--api-url", emu.base_url, "--token-env", "ACME_EU_TOKEN", "-o", "out.yaml"],
         0),
        (["plan", "acme-eu.yaml", "--api-url", emu.base_url + "/nope"], 1),  # 404s
        (["plan", "acme-eu.yaml", "--api-url", "http://127.0.0.1:9/api/v1"], 1),  # refused
    ]  # fmt: skip
    shown: list[str] = []
    for args, expected in runs:
        proc = subprocess.run(
            [str(warm_cli.bin / "accessctl"), "-vv", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        where = f"accessctl -vv {' '.join(args)}"
        assert proc.returncode == expected, f"{where}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, f"{where}\n{proc.stderr}"
        assert not _leaks(proc.stdout), f"token in the output of {where}"
        assert not _leaks(proc.stderr), f"token in the log of {where}"
        shown.append(proc.stderr)
    assert any("accessctl.api: GET /users" in err for err in shown), "-vv logged no requests"

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"plan.json", "out.yaml", "step-summary.md"} <= names, names
    for path in files:
        assert not _leaks(path.read_text(encoding="utf-8", errors="replace")), f"token in {path}"
