"""The README checks itself.

- Every command in `accessctl --help` (and every subcommand of a group) appears in the README as
  `accessctl <command>`.
- Every key of the desired-state JSON Schema appears in the README's YAML reference table, and
  the table names no key the schema lacks.
- Every line of a ```sh block that starts with `accessctl` runs, in the order written, in a
  scratch folder holding `config-examples/` (linked) and an empty `access/`, with the emulator
  (seeded from config-examples/demo-seed.json) behind `$ACCESSCTL_API_URL` and its demo token in
  `$ACME_EU_TOKEN`. It must not print a traceback and must exit 0, unless its trailing comment
  says otherwise:

      accessctl plan access/ --detailed-exitcode   # [exit 2] changes present
      accessctl apply access/                      # [skip] interactive

  `# [exit N]` expects exit code N; `# [skip]` marks a line that cannot run unattended (it is
  still checked to name a real command).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from support.emulators import EmulatorPool
from support.warm_cli import WarmCli

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
SEED = ROOT / "config-examples" / "demo-seed.json"
DEMO_TOKEN = "demo-acme-eu-owner"  # config-examples/demo-seed.json: a throw-away emulator token


def _commands(group: click.Group, prefix: str = "accessctl") -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


@pytest.mark.parametrize("command", list(_commands(cli)))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`{command}" in README, f"document `{command}` in README.md (The command line)"


def test_every_command_is_in_the_cli_reference_table() -> None:
    section = README.split("## The command line", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(accessctl [a-z]+(?: serve)?)", section, re.M)
    documented = set(rows)
    expected = {c for c in _commands(cli) if not isinstance(_lookup(c), click.Group)}
    assert documented == expected


def _lookup(command: str) -> click.Command:
    found: click.Command = cli
    for name in command.split()[1:]:
        assert isinstance(found, click.Group)
        found = found.commands[name]
    return found


# -- the YAML reference -------------------------------------------------------------------------


def _schema_keys() -> set[str]:
    import json

    schema = json.loads((ROOT / "schemas" / "accessctl.schema.json").read_text())
    defs = schema.get("$defs", {})
    keys: set[str] = set()

    def walk(node: dict[str, Any], path: str) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        for combinator in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(combinator, []):
                walk(sub, path)
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            walk(node["items"], path + "[]")
        for name, sub in node.get("properties", {}).items():
            key = f"{path}.{name}" if path else name
            keys.add(key)
            walk(sub, key)

    walk(schema, "")
    return keys


def test_yaml_reference_matches_the_schema() -> None:
    section = README.split("## The YAML", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_\[\].]+)` \|", section, re.M))
    schema = _schema_keys()
    assert schema, "the schema has keys"
    assert schema - documented == set(), "keys in the schema, missing from the README"
    assert documented - schema == set(), "keys in the README, unknown to the schema"


# -- the examples -------------------------------------------------------------------------------

MARK = re.compile(r"#\s*\[(exit (\d+)|skip)\]")


def _examples() -> list[tuple[str, int | None]]:
    """(command line, expected exit code or None for skip), in README order."""
    found: list[tuple[str, int | None]] = []
    for block in re.findall(r"^[ \t]*```sh\n(.*?)^[ \t]*```", README, re.S | re.M):
        for raw in block.splitlines():
            line = raw.strip()
            if not line.startswith("accessctl "):
                continue
            mark = MARK.search(line)
            expected: int | None = 0
            if mark:
                expected = None if mark.group(1) == "skip" else int(mark.group(2))
            found.append((line, expected))
    return found


def test_the_readme_has_examples() -> None:
    examples = _examples()
    assert len(examples) >= 10
    assert any(expected == 2 for _, expected in examples)


def test_skipped_examples_name_real_commands() -> None:
    for line, expected in _examples():
        if expected is None:
            words = shlex.split(line, comments=True)[1:]
            command = "accessctl " + words[0]
            if isinstance(_lookup(command), click.Group):
                command += " " + words[1]
            _lookup(command)


def test_readme_examples_run(emulators: EmulatorPool, warm_cli: WarmCli, tmp_path: Path) -> None:
    """`accessctl` is the warm command line (`support/warm_cli`): each line still runs in a
    process of its own, with its own descriptors, environment and folder."""
    (tmp_path / "config-examples").symlink_to(ROOT / "config-examples")
    (tmp_path / "access").mkdir()
    emu = emulators.get(SEED)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ACCESSCTL_", "GITHUB_"))},
        "PATH": os.pathsep.join([str(warm_cli.bin), str(BIN), os.environ["PATH"]]),
        "ACCESSCTL_API_URL": emu.base_url,
        "ACME_EU_TOKEN": DEMO_TOKEN,
        "NO_COLOR": "1",
    }
    for line, expected in _examples():
        if expected is None:
            continue
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", line],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        shown = f"$ {line}\n{result.stdout}{result.stderr}"
        assert "Traceback" not in shown, shown
        assert "unexpected error" not in shown, shown
        assert result.returncode == expected, shown
        assert DEMO_TOKEN not in shown, "the token was printed"


def test_every_diagnostic_code_is_in_the_readme() -> None:
    from reconciler.config.codes import CODES

    missing = [code for code in CODES if f"| `{code}` |" not in README]
    assert not missing, f"README lacks diagnostic codes: {missing}"


def test_the_yaml_example_validates(tmp_path: Path) -> None:
    """The example under "The YAML" is a config a newcomer copies: it must be valid as written."""
    import datetime

    from reconciler.config import load

    section = README.split("## The YAML", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "acme-eu.yaml"
    path.write_text(example, encoding="utf-8")
    result = load([path], today=datetime.date(2026, 11, 22))
    assert [d for d in result.diagnostics if d.is_error] == []
    assert result.orgs[0].config.organization == "acme-eu"
