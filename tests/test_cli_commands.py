"""Commands are registered from one explicit list, and no command module is left out of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import cli as cli_package
from reconciler.cli import COMMAND_MODULES, cli


def test_every_command_module_is_listed() -> None:
    folder = Path(cli_package.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    assert sorted(COMMAND_MODULES) == sorted(modules)


def test_each_listed_module_adds_a_command() -> None:
    defined_in = {
        command.callback.__module__ for command in cli.commands.values() if command.callback
    }
    assert {f"reconciler.cli.{name}" for name in COMMAND_MODULES} <= defined_in


BAD_CONFIG = """organization: acme-eu
api:
  url: http://127.0.0.1:9/api/v1
  token_env: ACME_EU_TOKEN
stores: {}
users:
  - email: ana@acme.example
    role: Admn
    stores: []
"""


@pytest.mark.parametrize("command", ["plan", "audit", "export", "adopt", "apply", "review"])
def test_a_config_error_is_reported_with_its_diagnostics_by_every_command(
    command: str, tmp_path: Path
) -> None:
    path = tmp_path / "acme-eu.yaml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, [command, str(path)], env={"ACME_EU_TOKEN": "t" * 32})
    assert result.exit_code == 1, result.output
    assert f"{path}:8:11: error[unknown_role]" in result.stderr
    assert "Error: the configuration has 1 error; nothing was fetched" in result.stderr


def test_a_config_error_is_rendered_in_the_format_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "acme-eu.yaml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["diagnostics"][0]["code"] == "unknown_role"
