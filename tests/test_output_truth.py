"""Output that tells the truth: a refused connection fails fast and names one request and the URL;
a read-only token's refusal points at the token, not the configuration; a plan the live state
cannot hold never says "No changes"."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.apply import BASE_USERS, TOKEN_ENV, seed, standard_org, write_config
from support.emulators import EmulatorPool

from reconciler.cli import cli


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_fails_after_two_quick_retries_naming_the_url(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    config = str(write_config(tmp_path, BASE_USERS))
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["plan", config], env={TOKEN_ENV: "tok", "ACCESSCTL_API_URL": url}
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert elapsed < 3, elapsed
    retry, error, hint = result.stderr.splitlines()
    assert retry.startswith("accessctl: GET /organization: connection refused, retrying in 0.")
    assert retry.endswith("s (attempt 2 of 3)")
    assert error == (
        "Error: GET /organization: could not reach the access API after 3 attempts: "
        f"connection refused by {url}"
    )
    assert url in hint


READ_ONLY = seed(users=[{"email": "ro@acme.example", "role": "Read Only", "stores": "all"}])
READ_ONLY["organizations"][0]["tokens"].append({"token": "tok-ro", "email": "ro@acme.example"})


@pytest.mark.e2e
def test_a_read_only_token_is_told_to_use_an_admin_token(
    emulators: EmulatorPool, tmp_path: Path
) -> None:
    config = str(
        write_config(
            tmp_path,
            BASE_USERS + "  - {email: ro@acme.example, role: User, stores: all}\n",
        )
    )
    emu = emulators.get(READ_ONLY)
    env = {TOKEN_ENV: "tok-ro", "ACCESSCTL_API_URL": emu.base_url}
    result = CliRunner().invoke(cli, ["apply", config, "--yes"], env=env)
    assert result.exit_code == 1
    assert "insufficient_role" in result.stderr
    assert result.stderr.rstrip().endswith(
        f"Hint: use an Admin token (a Super Admin's to grant or revoke Super Admin) in "
        f"${TOKEN_ENV}, then plan and apply again; the configuration is fine"
    )
    assert "fix the configuration" not in result.stderr


STANDARD = {"organizations": [standard_org("acme")]}
RANGES = """\
organization: acme
api: {token_env: TOK}
stores: {MID-acme: Web}
ip_ranges:
  - {name: HQ, cidr: 203.0.113.0/24}
users:
  - {email: root@acme.example, role: Super Admin, stores: all}
"""


@pytest.mark.e2e
@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_required_never_sits_beside_no_changes(
    emulators: EmulatorPool, tmp_path: Path, output_format: str
) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(RANGES)
    emu = emulators.get(STANDARD)
    env = {"TOK": "tok-acme", "ACCESSCTL_API_URL": emu.base_url}
    result = CliRunner().invoke(cli, ["plan", str(config), "--format", output_format], env=env)
    assert result.exit_code == 1
    assert "plan_required" in result.stdout
    assert "No changes" not in result.stdout
    assert "No plan: 1 error to fix first" in result.stdout
