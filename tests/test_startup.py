"""Start-up cost (SPEC §8): a command imports only what it runs. Each check runs in a fresh
interpreter, since the test session has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("reconciler.emulator", "fastapi", "uvicorn", "reconciler.apply", "reconciler.audit")


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_version_imports_no_command() -> None:
    loaded = _modules_after(
        "from reconciler.cli import cli\n"
        "try:\n"
        "    cli.main(['--version'], prog_name='accessctl')\n"
        "except SystemExit:\n"
        "    pass"
    )
    commands = {m for m in loaded if m.startswith("reconciler.cli.")}
    assert commands <= {"reconciler.cli._progress", "reconciler.cli._color"}
    assert not {m for m in loaded if m.startswith(("pydantic", "ruamel", "requests"))}


def test_plan_imports_neither_emulator_nor_apply() -> None:
    loaded = _modules_after(
        "import click\n"
        "from reconciler.cli import cli\n"
        "command = cli.get_command(click.Context(cli), 'plan')\n"
        "assert command is not None and command.name == 'plan'"
    )
    assert "reconciler.cli.plan" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}
    assert not {m for m in loaded if m.startswith("reconciler.cli.") and m.endswith("apply")}


def test_every_command_is_listed() -> None:
    from click import Context

    from reconciler.cli import cli

    names = cli.list_commands(Context(cli))
    for name in ("adopt", "apply", "audit", "emulator", "export", "fmt", "orgs", "plan"):
        assert name in names
    assert cli.get_command(Context(cli), "no-such-command") is None
