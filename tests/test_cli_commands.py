"""Commands are registered from one explicit list, and no command module is left out of it."""

from __future__ import annotations

from pathlib import Path

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
