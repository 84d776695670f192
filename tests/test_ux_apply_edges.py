"""Edges of `apply` a user meets: a dry run with nothing to do, `--force` on a saved plan, the
confirmation prompt interrupted."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from support.apply import BASE_USERS, accessctl, make_plan, seed, write_config
from support.emulators import EmulatorPool

from reconciler.cli import apply as apply_cli
from reconciler.emulator.testing import EmulatorProcess
from reconciler.plan import save_plan

pytestmark = pytest.mark.e2e

SEED = seed(users=[{"email": "dana@acme.example", "role": "User", "stores": ["MID1"]}])
SAME = BASE_USERS + "  - {email: dana@acme.example, role: User, stores: [MID1]}\n"
CHANGED = BASE_USERS + "  - {email: dana@acme.example, role: Read Only, stores: [MID1]}\n"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def test_a_dry_run_with_nothing_to_do(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, SAME))
    as_json = accessctl(emu, "apply", config, "--dry-run", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == {"dry_run": True, "requests": []}
    as_text = accessctl(emu, "apply", config, "--dry-run")
    assert as_text.exit_code == 0, as_text.output
    assert as_text.output.endswith(
        "No changes. Live state matches the configuration.\n\nDry run: nothing to send.\n"
    )


def test_force_on_a_saved_plan_says_where_it_belongs(emu: EmulatorProcess, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    emu.reset_request_counts()
    result = accessctl(emu, "apply", str(saved), "--yes", "--force")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --force acts when the plan is made, not on a saved plan\n"
        "Hint: make the plan again with `accessctl plan PATHS --force -o plan.json`\n"
    )
    assert emu.request_counts() == {}


def test_ctrl_c_at_the_prompt_is_an_interruption(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan(emu, write_config(tmp_path, CHANGED))

    def interrupted(*_args: object, **_kwargs: object) -> bool:
        raise click.Abort

    monkeypatch.setattr(apply_cli, "_can_ask", lambda: True)
    monkeypatch.setattr(apply_cli.click, "prompt", interrupted)
    with pytest.raises(KeyboardInterrupt):  # the CLI group turns it into "Interrupted.", 130
        apply_cli._confirm(plan, yes=False, shown=True)


def test_no_terminal_and_json_output_does_not_point_at_a_plan_never_shown(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = str(write_config(tmp_path, CHANGED))
    result = accessctl(emu, "apply", config, "--format", "json")
    assert result.exit_code == 1
    assert "review the plan (`accessctl plan`), then pass --yes" in result.stderr
    assert "above" not in result.output
    answer = json.loads(result.stdout)  # a tool reading stdout learns why, not only the code
    assert answer == {
        "ok": False,
        "error": "refusing to apply without confirmation: there is no terminal to ask on",
        "hint": "review the plan (`accessctl plan`), then pass --yes (in CI: apply a reviewed "
        "saved plan)",
    }
