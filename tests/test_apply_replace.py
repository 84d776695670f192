"""A replace (type change: remove, then invite again) whose invitation is refused says the user
was removed: reporting it as simply "failed" would hide that they lost access."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.apply import standard_org
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e


SHARED = {"email": "shared@x.example", "role": "User", "stores": "all"}
SEED = {"organizations": [standard_org("alpha", [SHARED]), standard_org("beta", [SHARED])]}
CONFIG = """\
organization: alpha
api: {token_env: ALPHA_TOKEN}
stores: {MID-alpha: Web}
users:
  - {email: root@alpha.example, role: Super Admin, stores: all}
  - {email: shared@x.example, type: external, expires: 2030-01-01, stores: all}
"""


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def test_a_refused_reinvite_reports_the_removal(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = tmp_path / "alpha.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["apply", str(config), "--yes", "--today", "2026-06-01"],
        env={"ALPHA_TOKEN": "tok-alpha", "ACCESSCTL_API_URL": emu.base_url},
    )
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("failed users/shared"))
    assert "(replace)" in line
    assert ": removed, but not invited again: " in line
    assert "role_conflict" in line or "another organization" in line
    assert line.endswith("The user has no access until the cause is fixed and apply runs again")
