"""`accessctl audit` with a token of another organization is an error, not a clean report of the
wrong audit log (the nightly drift job would stay green)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

SEED = {
    "organizations": [
        {
            "name": name,
            "plan": "standard",
            "technical_support_access": False,
            "stores": [{"id": f"MID{i}", "name": "Web"}],
            "users": [{"email": f"root@{name}.example", "role": "Super Admin", "stores": "all"}],
            "tokens": [{"token": f"tok-{name}", "email": f"root@{name}.example"}],
        }
        for i, name in enumerate(["acme", "globex"])
    ]
}
CONFIG = """\
organization: acme
api: {token_env: ACME_TOKEN}
users:
  - {email: root@acme.example, role: Super Admin, stores: all}
"""


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


@pytest.mark.parametrize(("token", "code"), [("tok-acme", 0), ("tok-globex", 1)])
def test_audit_checks_the_tokens_organization(
    emu: EmulatorProcess, tmp_path: Path, token: str, code: int
) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["audit", str(config), "--detailed-exitcode"],
        env={"ACME_TOKEN": token, "ACCESSCTL_API_URL": emu.base_url},
    )
    assert result.exit_code == code, result.output
    if code:
        assert result.output == (
            "Error: acme: the token in ACME_TOKEN belongs to organization globex: its audit log "
            "says nothing about acme\n"
            "Hint: use the token of acme\n"
        )
    else:
        assert result.output.startswith("Organization acme: audit events since ")
