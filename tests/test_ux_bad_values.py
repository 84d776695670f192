"""Values no parser foresaw: a `--since` too far back, a plan file that is not text. Each is an
error that names the value and says what to do, never "unexpected error"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

CONFIG = "organization: t\napi: {token_env: T_TOKEN}\nusers: []\n"


@pytest.mark.parametrize("since", ["99999999d", "9999999999999w"])
def test_audit_since_too_far_back(tmp_path: Path, since: str) -> None:
    config = tmp_path / "t.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(config), "--since", since])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --since '{since}': too far back (before the year 1)\n"
        "Hint: use a duration such as 30d or 52w\n"
    )


def test_audit_since_garbage_is_still_explained(tmp_path: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(config), "--since", "1y"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: --since '1y': expected a duration such as 30m, 24h, 7d or 2w\n"
    )


@pytest.mark.parametrize("dry", [["--dry-run"], ["--yes"]])
def test_apply_plan_file_that_is_not_text(tmp_path: Path, dry: list[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(b"\xff\xfe\x00{")
    result = CliRunner().invoke(cli, ["apply", str(plan), *dry])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {plan}: not a plan file (not UTF-8 text)\n"
        "Hint: make a new one with `accessctl plan PATHS -o plan.json`\n"
    )


def test_unknown_role_hint_lists_only_roles_a_config_may_declare(tmp_path: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text(
        "organization: t\nusers:\n  - {email: a@t.example, role: Nope, stores: []}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate", str(config)])
    assert result.exit_code == 1
    assert result.output == (
        f"{config}:3:32: error[unknown_role]: unknown role `Nope`\n"
        "    hint: roles: Super Admin, Admin, User, Settlement, Disputes, Read Only, "
        "External User\n"
        "1 error, 0 warnings in 1 file\n"
    )
