"""No input crashes the loader or the CLI: arbitrary text and mutated valid YAML always give
diagnostics with a location, and exit 1 exactly when there are errors."""

from __future__ import annotations

import datetime
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config import load
from reconciler.config.codes import CODES

TODAY = datetime.date(2026, 11, 22)
SEED = """\
organization: acme
api: {url: "http://127.0.0.1:8765/api/v1", token_env: ACME_TOKEN}
settings: {technical_support_access: false}
policy: {unmanaged_users: report, max_removals: 10%, protected: [a@acme.example]}
stores: {MID1: Shop, MID2: Kiosk}
ip_ranges:
  - {name: Office, cidr: 203.0.113.0/24}
  - name: VPN
    cidr: 198.51.100.0/28
users:
  - email: a@acme.example
    role: Admin
    stores: all
  - {email: b@partner.example, type: external, expires: 2027-03-31, stores: [MID1]}
"""
TOKENS = [
    ":", "-", "- ", "[", "]", "{", "}", ",", "#", "&a", "*a", "!!str", "!x", "<<: *a", "'", '"',
    "\t", "\n", "  ", "---", "...", "?", "|", ">", "%YAML 1.2\n", "null", "~", "true", "1e9",
    "2027-02-30", "0x1f", "Terminated", "External User", "10.0.0.1/33", "users", "role",
    "\x00", "\ufeff", "é", "password: x",
    "\u2028", "\x85", "%YAML 1.1\n---\n", "yes", "~: x\n", "5: x\n", "&a ", "- *a\n", "<<: *a\n",
]  # fmt: skip


def _check(text: str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    result = load([path], today=TODAY)
    for diag in result.diagnostics:
        assert diag.source.file == str(path)
        assert diag.source.line >= 1 and diag.source.column >= 1
        assert diag.code in CODES, diag
        assert diag.message
    if not result.has_errors():
        assert result.orgs, "a file without errors yields its organization"


@st.composite
def _mutations(draw: st.DrawFn) -> str:
    text = SEED
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        token = draw(st.sampled_from(TOKENS))
        span = draw(st.integers(0, 6))
        if action == "insert":
            text = text[:at] + token + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + span :]
        else:
            text = text[:at] + token + text[at + span :]
    return text


_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(tmp_path: Path, text: str) -> None:
    _check(text, tmp_path)


@_settings
@given(_mutations())
def test_mutated_yaml_never_crashes(tmp_path: Path, text: str) -> None:
    _check(text, tmp_path)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(_mutations(), st.text(max_size=200)))
def test_cli_never_shows_a_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    for fmt in ("text", "json", "github"):
        result = CliRunner().invoke(
            cli, ["validate", str(path), "--today", "2026-11-22", "--format", fmt]
        )
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert "unexpected error" not in result.output
        errors = load([path], today=TODAY).has_errors()
        assert result.exit_code == (1 if errors else 0), result.output
        if errors and fmt == "text":
            assert f"{path}:" in result.output


def test_seed_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED, encoding="utf-8")
    assert load([path], today=TODAY).diagnostics == []


@_settings
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    for diag in load([path], today=TODAY).diagnostics:
        assert diag.source.line >= 1 and diag.source.column >= 1
        assert diag.code in CODES
