"""`accessctl validate`: the exact text a user sees, per format, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

MIXED = """\
organization: t
users:
  - email: a@t.example
    role: ReadOnly
    stores: all
  - email: b@partner.example
    type: external
    expires: 2026-12-01
    stores: []
"""
CLEAN = "organization: t\nusers:\n  - {email: a@t.example, role: Admin, stores: all}\n"
SOON = (
    "organization: t\nusers:\n"
    "  - {email: b@p.example, type: external, expires: 2026-12-01, stores: []}\n"
)
# access ended on `expires`: a warning, so validate exits 0 (the day must break no pipeline)
ENDED = (
    "organization: t\nusers:\n"
    "  - {email: b@p.example, type: external, expires: 2026-11-22, stores: []}\n"
)


def _run(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path), "--today", "2026-11-22", *args])
    return result.exit_code, result.output, str(path)


def test_text(tmp_path: Path) -> None:
    code, output, path = _run(tmp_path, MIXED)
    assert code == 1
    assert output == (
        f"{path}:4:11: error[unknown_role]: unknown role `ReadOnly`\n"
        "    hint: did you mean `Read Only`?\n"
        f"{path}:8:14: warning[expiry_soon]: external user `b@partner.example` loses access "
        "in 9 days (2026-12-01)\n"
        "    hint: extend `expires:` if the access is still needed\n"
        "1 error, 1 warning in 1 file\n"
    )


def test_json(tmp_path: Path) -> None:
    code, output, path = _run(tmp_path, MIXED, "--format", "json")
    assert code == 1
    assert json.loads(output) == {
        "diagnostics": [
            {
                "file": path,
                "line": 4,
                "column": 11,
                "severity": "error",
                "code": "unknown_role",
                "message": "unknown role `ReadOnly`",
                "hint": "did you mean `Read Only`?",
            },
            {
                "file": path,
                "line": 8,
                "column": 14,
                "severity": "warning",
                "code": "expiry_soon",
                "message": "external user `b@partner.example` loses access in 9 days (2026-12-01)",
                "hint": "extend `expires:` if the access is still needed",
            },
        ]
    }


def test_github(tmp_path: Path) -> None:
    code, output, path = _run(tmp_path, MIXED, "--format", "github")
    assert code == 1
    prop_path = path.replace(":", "%3A").replace(",", "%2C")
    assert output == (
        f"::error file={prop_path},line=4,col=11,title=unknown_role::unknown role `ReadOnly`"
        "%0Ahint: did you mean `Read Only`?\n"
        f"::warning file={prop_path},line=8,col=14,title=expiry_soon::external user "
        "`b@partner.example` loses access in 9 days (2026-12-01)%0Ahint: extend `expires:` if "
        "the access is still needed\n"
    )


def test_github_escaping() -> None:
    from io import StringIO

    from reconciler.config import config_problem, render_github

    stream = StringIO()
    diag = config_problem("a,b:c.yaml", 1, 2, "x_y", "100% bad\r\nreally", "fix: it")
    render_github([diag], stream)
    assert stream.getvalue() == (
        "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=x_y::"
        "100%25 bad%0D%0Areally%0Ahint: fix: it\n"
    )


@pytest.mark.parametrize(
    ("text", "args", "expected_code", "expected_output"),
    [
        (CLEAN, (), 0, "no problems found in 1 file\n"),
        (CLEAN, ("--format", "json"), 0, '{\n  "diagnostics": []\n}\n'),
        (CLEAN, ("--format", "github"), 0, ""),
        (SOON, (), 0, None),
        (SOON, ("--strict",), 1, None),
        (ENDED, (), 0, None),
        (ENDED, ("--strict",), 1, None),
        ("organization: [\n", (), 1, None),
    ],
)
def test_exit_codes(
    tmp_path: Path,
    text: str,
    args: tuple[str, ...],
    expected_code: int,
    expected_output: str | None,
) -> None:
    code, output, _ = _run(tmp_path, text, *args)
    assert code == expected_code, output
    if expected_output is not None:
        assert output == expected_output


def test_bad_today_is_a_usage_error(tmp_path: Path) -> None:
    code, output, _ = _run(tmp_path, CLEAN, "--today", "tomorrow")
    assert code == 1  # a usage error is an error: 2 means "changes" (test_ux_exit_codes)
    assert "Invalid value for '--today'" in output


def test_missing_path_is_a_diagnostic(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.output == (
        f"{tmp_path / 'nope.yaml'}:1:1: error[path_not_found]: no such file or folder\n"
        "1 error, 0 warnings in 0 files\n"
    )


def test_examples_folder_is_clean() -> None:
    root = Path(__file__).parent.parent / "config-examples"
    paths = [str(root / "acme-eu.yaml"), str(root / "initech.yaml"), str(root / "globex")]
    result = CliRunner().invoke(cli, ["validate", *paths, "--today", "2026-11-22", "--strict"])
    assert result.exit_code == 0, result.output
    assert result.output == "no problems found in 5 files\n"


def test_the_examples_folder_validates_clean_as_a_whole() -> None:
    result = CliRunner().invoke(cli, ["validate", "config-examples/", "--strict"])
    assert result.exit_code == 0, result.output
    assert result.output == "no problems found in 5 files\n"


def test_a_date_near_the_end_of_time_is_no_crash(tmp_path: Path) -> None:
    text = (
        "organization: t\nusers:\n"
        "  - {email: j@t.example, type: external, expires: 9999-12-31, stores: []}\n"
    )
    path = tmp_path / "far.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path), "--today", "9999-12-20"])
    assert result.exit_code == 0
    assert result.output == (
        f"{path}:3:51: warning[expiry_soon]: external user `j@t.example` loses access in 11 days "
        "(9999-12-31)\n"
        "    hint: extend `expires:` if the access is still needed\n"
        "0 errors, 1 warning in 1 file\n"
    )


def test_a_non_string_key_is_reported_where_it_is(tmp_path: Path) -> None:
    text = "organization: t\nusers:\n  - {email: a@t.example, role: Admin, stores: all}\ntrue: x\n"
    code, output, path = _run(tmp_path, text)
    assert code == 1
    assert output == (
        f"{path}:4:1: error[unknown_field]: unknown field `true` in the top level: keys must be "
        "plain words\n"
        "    hint: YAML reads `true` as a boolean; allowed here: organization, api, settings, "
        "policy, stores, ip_ranges, users\n"
        "1 error, 0 warnings in 1 file\n"
    )
