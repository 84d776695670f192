"""The command-line habits Terraform users bring: `show` for a saved plan, `--org` wherever PATHS
are taken, global options after the command, `--no-color`/NO_COLOR/FORCE_COLOR, a typed `yes`,
apply's lines above the progress bar on a terminal, and examples at the end of every `--help`."""

from __future__ import annotations

import inspect
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from support.apply import (
    BASE_USERS,
    TOKEN,
    TOKEN_ENV,
    accessctl,
    changes_made,
    seed,
    write_config,
)
from support.emulators import EmulatorPool

from reconciler.cli import apply as apply_cli
from reconciler.cli import cli, hoist_global_options
from reconciler.emulator.testing import EmulatorProcess

SEED = seed(users=[{"email": "dana@acme.example", "role": "User", "stores": ["MID1"]}])
CHANGED = BASE_USERS + (
    "  - {email: dana@acme.example, role: Read Only, stores: [MID1]}\n"
    "      - {email: erin@acme.example, role: User, stores: [MID2]}\n"
)
ANSI = "\033["


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


@pytest.fixture
def saved(emu: EmulatorProcess, tmp_path: Path) -> Path:
    plan = tmp_path / "plan.json"
    made = accessctl(emu, "plan", str(write_config(tmp_path, CHANGED)), "-o", str(plan))
    assert made.exit_code == 0, made.output
    return plan


def _offline(*args: str, **env: str) -> click.testing.Result:
    """The CLI with neither a token nor an API URL in its environment."""
    clean = {TOKEN_ENV: None, "ACCESSCTL_API_URL": None, "ACCESSCTL_PLAN_KEY": None, **env}
    return CliRunner().invoke(cli, list(args), env=clean)


# -- show ------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("output_format", ["text", "markdown", "json", "github"])
def test_show_renders_a_saved_plan_offline_in_every_format(
    emu: EmulatorProcess, saved: Path, output_format: str
) -> None:
    emu.reset_request_counts()
    result = _offline("show", str(saved), "--format", output_format)
    assert result.exit_code == 0, result.output
    assert emu.request_counts() == {}  # no network
    out = result.stdout
    if output_format == "json":
        shown = json.loads(out)
        assert [c["address"] for c in shown["orgs"][0]["changes"]] == [
            "users/dana@acme.example",
            "users/erin@acme.example",
        ]
    elif output_format == "github":
        assert "::notice" in out or "::warning" in out or "erin@acme.example" in out
    else:
        assert "erin@acme.example" in out and "dana@acme.example" in out
    if output_format == "text":
        assert "Plan: 1 to add, 1 to change, 0 to remove." in out
    if output_format == "markdown":
        assert "|" in out
    assert result.stderr == (
        f"acme: signature not checked here (it needs ${TOKEN_ENV} or $ACCESSCTL_PLAN_KEY)\n"
    )


@pytest.mark.e2e
def test_show_checks_the_signature_when_the_token_or_plan_key_is_at_hand(saved: Path) -> None:
    held = _offline("show", str(saved), **{TOKEN_ENV: TOKEN})
    assert (held.exit_code, held.stderr) == (0, "acme: signature holds\n")
    assert TOKEN not in held.output
    edited = json.loads(saved.read_text())
    edited["orgs"][0]["changes"][0]["after"]["role"] = "Super Admin"
    saved.write_text(json.dumps(edited))
    refused = _offline("show", str(saved), **{TOKEN_ENV: TOKEN})
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"acme: signature does NOT hold for ${TOKEN_ENV}: ")
    other_key = _offline("show", str(saved), ACCESSCTL_PLAN_KEY="not-the-key")
    assert other_key.exit_code == 1
    assert "does NOT hold for $ACCESSCTL_PLAN_KEY" in other_key.stderr


def test_show_refuses_what_is_not_a_plan(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE_USERS)
    result = _offline("show", str(config))
    assert result.exit_code == 1
    assert f"Error: {config}:1:1: not a plan file (invalid JSON" in result.stderr
    shaped = tmp_path / "plan.json"
    shaped.write_text('{"format_version": 1, "orgs": "no"}')
    wrong = _offline("show", str(shaped))
    assert wrong.exit_code == 1
    assert "Traceback" not in wrong.output


# -- --org on every command that takes PATHS ------------------------------------------------

TWO = {
    "acme-eu.yaml": "organization: acme-eu\napi: {token_env: ACME_TOKEN}\nusers:\n"
    "  - {email: a@acme.example, role: Admin, stores: all}\n",
    "globex.yaml": "organization: globex\napi: {token_env: GLOBEX_TOKEN}\nusers:\n"
    "  - {email: b@globex.example, role: Bogus, stores: all}\n",
}


@pytest.fixture
def two(tmp_path: Path) -> Path:
    for name, text in TWO.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _takes_paths(command: click.Command) -> bool:
    return any(p.name == "paths" for p in command.params if isinstance(p, click.Argument))


def test_every_command_that_takes_paths_has_org() -> None:
    commands = [c for c in cli.commands.values() if _takes_paths(c)]
    assert {c.name for c in commands} >= {"validate", "plan", "apply", "audit", "orgs", "fmt"}
    for command in commands:
        assert any("--org" in p.opts for p in command.params), command.name


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "audit", "orgs", "fmt"])
def test_org_names_an_organization_the_config_declares(two: Path, command: str) -> None:
    result = _offline(command, str(two), "--org", "initech")
    assert result.exit_code == 1
    assert "initech" in result.stderr and "acme-eu" in result.stderr
    assert "Traceback" not in result.output


def test_org_narrows_validate_orgs_and_fmt(two: Path) -> None:
    everything = _offline("validate", str(two))
    assert everything.exit_code == 1 and "unknown_role" in everything.stdout
    acme = _offline("validate", str(two), "--org", "acme-eu")
    assert acme.exit_code == 0, acme.output
    assert "unknown_role" not in acme.stdout
    listed = _offline("orgs", str(two), "--org", "acme-eu", "--format", "json")
    assert listed.exit_code == 0, listed.output  # globex's error is not acme-eu's
    assert [o["organization"] for o in json.loads(listed.stdout)] == ["acme-eu"]
    assert _offline("orgs", str(two), "--org", "globex").exit_code == 1
    (two / "acme-eu.yaml").write_text(TWO["acme-eu.yaml"].replace("  - ", "    - "))
    (two / "globex.yaml").write_text(TWO["globex.yaml"].replace("  - ", "    - "))
    formatted = _offline("fmt", str(two), "--org", "acme-eu", "--check")
    assert f"would reformat {two / 'acme-eu.yaml'}" in formatted.stdout
    assert "globex" not in formatted.stdout


@pytest.mark.e2e
def test_apply_org_takes_one_organization_of_a_saved_plan(saved: Path) -> None:
    result = _offline("apply", str(saved), "--org", "globex", "--yes", **{TOKEN_ENV: TOKEN})
    assert result.exit_code == 1
    assert "--org globex: the saved plan has no such organization (it has: acme)" in result.stderr


# -- global options after the command, colour ------------------------------------------------


def test_global_options_are_moved_before_the_command() -> None:
    assert hoist_global_options(["plan", "a/", "-vv", "--no-color", "--org", "x"]) == [
        "-vv",
        "--no-color",
        "plan",
        "a/",
        "--org",
        "x",
    ]
    assert hoist_global_options(["-v", "plan", "a/"]) == ["-v", "plan", "a/"]
    assert hoist_global_options(["plan", "--", "-v"]) == ["plan", "--", "-v"]


@pytest.mark.e2e
def test_verbose_after_the_command_logs_each_request(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, CHANGED))
    result = accessctl(emu, "plan", config, "-v")
    assert result.exit_code == 0, result.output
    assert "accessctl: DEBUG accessctl" in result.stderr
    assert "GET " in result.stderr and "/users" in result.stderr


@pytest.mark.e2e
def test_no_color_after_the_command_beats_force_color(saved: Path) -> None:
    forced = _offline("show", str(saved), FORCE_COLOR="1")
    assert ANSI in forced.stdout
    plain = _offline("show", str(saved), "--no-color", FORCE_COLOR="1")
    assert plain.exit_code == 0
    assert ANSI not in plain.stdout
    by_env = _offline("show", str(saved), FORCE_COLOR="1", NO_COLOR="1")
    assert ANSI not in by_env.stdout


# -- the typed `yes` ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("answer", ["yes", "y", ""])
def test_apply_asks_for_yes_typed_out(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    monkeypatch.setattr(apply_cli, "_can_ask", lambda: True)
    config = str(write_config(tmp_path, CHANGED))
    env = {TOKEN_ENV: TOKEN, "ACCESSCTL_API_URL": emu.base_url}
    result = CliRunner().invoke(cli, ["apply", config], env=env, input=f"{answer}\n")
    host = emu.base_url.split("/")[2]
    assert (
        "Do you want to apply these changes?\n"
        f"  acme at {host}: 1 to add, 1 to change, 0 to remove\n"
        "  Only 'yes' will be accepted to approve.\n\n"
        "  Enter a value: "
    ) in result.stderr
    if answer == "yes":
        assert result.exit_code == 0, result.output
        assert "Apply complete: 2 applied, 0 failed, 0 skipped." in result.stdout
        assert len(changes_made(emu)) == 2
    else:
        assert result.exit_code == 1
        assert "Error: Apply cancelled (only 'yes' approves); nothing was sent." in result.stderr
        assert changes_made(emu) == []


# -- apply on a terminal ----------------------------------------------------------------------


@pytest.mark.e2e
def test_apply_on_a_terminal_prints_each_change_above_the_bar(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = str(write_config(tmp_path, CHANGED))
    main, child = pty.openpty()
    env = {**os.environ, TOKEN_ENV: TOKEN, "ACCESSCTL_API_URL": emu.base_url}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "apply", config, "--yes"],
        stdout=child,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    assert process.wait(timeout=10) == 0
    os.close(main)
    screen = b"".join(chunks).decode()
    erase = "\r\033[K"
    dana = f"{erase}applied users/dana@acme.example (update) {config}:"
    erin = f"{erase}applied users/erin@acme.example (create) {config}:"
    assert dana in screen and erin in screen
    assert f"{erase}Applying [{'#' * 30}] 2/2" in screen
    # Each change line comes before the bar that counts it.
    assert screen.index("Applying [") > min(screen.index(dana), screen.index(erin))


# -- --help ends with examples ----------------------------------------------------------------


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _all_commands(cli), ids=lambda p: " ".join(p) or "accessctl")
def test_every_help_ends_with_examples(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    text = inspect.cleandoc(command.help or "")
    assert "\nExamples:\n" in text, f"{' '.join(path) or 'accessctl'} --help has no examples"
    examples = text.split("\nExamples:\n")[-1].strip().splitlines()
    assert examples and all(line.strip().startswith("accessctl ") for line in examples), examples
