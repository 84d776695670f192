"""`accessctl emulator serve` given wrong flags, seeds or addresses: one clear error, exit 1, and
no traceback or uvicorn log line."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

SEED_HINT = "Hint: see the seed's shape in `accessctl emulator serve --help`\n"


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["emulator", "serve", *args])
    return result.exit_code, result.output


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_port_in_use(busy_port: int) -> None:
    assert _serve("--port", str(busy_port)) == (
        1,
        f"Error: port {busy_port} on 127.0.0.1 is already in use (another emulator?)\n"
        "Hint: stop it, pick another --port, or use --port 0 for a free one\n",
    )


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_port_out_of_range(port: str) -> None:
    code, output = _serve("--port", port)
    assert code == 1
    assert f"Error: Invalid value for '--port': {port} is not in the range 0<=x<=65535." in output


def test_host_that_does_not_resolve() -> None:
    code, output = _serve("--host", "no-such-host.invalid", "--port", "0")
    assert code == 1
    assert output.startswith("Error: --host no-such-host.invalid: not an address of this machine")
    assert output.endswith("Hint: use 127.0.0.1 (the default) or another local address\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "2"], "Error: --error-rate: Input should be less than or equal to 1\n"),
        (
            ["--latency-ms", "-5"],
            "Error: --latency-ms: Input should be greater than or equal to 0\n",
        ),
    ],
)
def test_fault_options_are_named(args: list[str], message: str) -> None:
    assert _serve(*args, "--port", "0") == (1, message)


def test_db_in_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "no" / "emu.db"
    assert _serve("--db", str(db), "--port", "0") == (
        1,
        f"Error: --db {db}: cannot open the SQLite database (unable to open database file)\n"
        "Hint: name a file in a folder that exists and you may write, or leave out --db\n",
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "seed.json",
            b"{bad",
            ":1:2: invalid JSON: Expecting property name enclosed in double quotes",
        ),
        (
            "seed.yaml",
            b"organizations:\n  - name: [x\n",
            ":3:1: invalid YAML: did not find expected ',' or ']'",
        ),
        ("seed.yaml", b"\xff\xfe", ": not UTF-8 text"),
        (
            "seed.json",
            b'{"organizations": [{"name": "x", "plan": "gold"}]}',
            ": invalid seed: organizations[0].plan: Input should be 'standard' or 'ultimate'",
        ),
        (
            "seed.yaml",
            b"organizations:\n  - name: x\n    users: [{email: a@x.example, role: Boss}]\n",
            ": invalid seed: organizations[0].users[0].role: unknown role 'Boss'",
        ),
    ],
)
def test_bad_seed_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    seed = tmp_path / name
    seed.write_bytes(content)
    code, output = _serve("--seed", str(seed), "--port", "0")
    assert code == 1
    assert output == f"Error: {seed}{message}\n{SEED_HINT}"


def test_help_shows_the_seed_shape() -> None:
    output = CliRunner().invoke(cli, ["emulator", "serve", "--help"]).output
    assert "A seed (YAML or JSON)" in output
    assert "tokens: [{token: demo-owner, email: owner@acme-eu.example, ip: 203.0.113.10}]" in output
