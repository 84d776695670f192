"""`accessctl plan` end to end: the real emulator on a free loopback port, one test per safety
rule and per output format, exit codes, and the exact text a user sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "ultimate",
            "technical_support_access": True,
            "stores": [{"id": "MID1", "name": "Web"}, {"id": "MID2", "name": "POS"}],
            "ip_ranges": [{"name": "HQ", "cidr": "203.0.113.0/24"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": ["MID1", "MID2"]},
                {"email": "admin@acme.example", "role": "Admin", "stores": ["MID1"]},
                {"email": "reader@acme.example", "role": "Read Only", "stores": ["MID1"]},
                {"email": "bob@acme.example", "role": "User", "stores": ["MID1"]},
                {"email": "gone@acme.example", "role": "Terminated", "stores": ["MID1"]},
            ],
            "tokens": [
                {"token": "tok-root", "email": "root@acme.example", "ip": "203.0.113.10"},
                {"token": "tok-admin", "email": "admin@acme.example", "ip": "203.0.113.11"},
                {"token": "tok-reader", "email": "reader@acme.example", "ip": "203.0.113.12"},
            ],
        },
        {
            "name": "globex",
            "plan": "standard",
            "technical_support_access": False,
            "stores": [{"id": "MID7", "name": "Shop"}],
            "users": [{"email": "root@globex.example", "role": "Super Admin", "stores": ["MID7"]}],
            "tokens": [{"token": "tok-globex", "email": "root@globex.example"}],
        },
    ]
}

USERS = [
    "  - {email: root@acme.example, role: Super Admin, stores: all}",
    "  - {email: admin@acme.example, role: Admin, stores: [MID1]}",
    "  - {email: reader@acme.example, role: Read Only, stores: [MID1]}",
    "  - {email: bob@acme.example, role: User, stores: [MID1]}",
]


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def config(
    *,
    users: list[str] = USERS,
    ranges: list[str] | None = None,
    org: str = "acme-eu",
    policy: str = "",
    settings: str = "",
    stores: str = "  MID1: Web\n  MID2: POS\n",
    token_env: str = "ACME_TOKEN",
) -> str:
    if ranges is None:
        ranges = ["  - {name: HQ, cidr: 203.0.113.0/24}"]
    text = f"organization: {org}\napi:\n  url: http://127.0.0.1:9/api/v1\n"
    text += f"  token_env: {token_env}\n"
    if settings:
        text += f"settings:\n{settings}"
    if policy:
        text += f"policy:\n{policy}"
    text += f"stores:\n{stores}"
    if ranges:
        text += "ip_ranges:\n" + "\n".join(ranges) + "\n"
    return text + "users:\n" + "\n".join(users) + "\n"


def run(
    emu: EmulatorProcess,
    tmp_path: Path,
    text: str,
    *args: str,
    token: str = "tok-root",
    env: dict[str, str] | None = None,
) -> Result:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(
        cli,
        ["plan", str(path), "--api-url", emu.base_url, "--today", "2025-06-01", *args],
        env={
            "ACME_TOKEN": token,
            "GLOBEX_TOKEN": "tok-globex",
            "NO_COLOR": None,
            "ACCESSCTL_API_URL": None,
            "GITHUB_STEP_SUMMARY": None,
            **(env or {}),
        },
    )


def test_no_changes_exits_0_even_with_detailed_exitcode(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    result = run(emu, tmp_path, config(), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("No changes. Live state matches the configuration.\n")
    assert "info[terminated_user] users/gone@acme.example" in result.stdout


def _changed() -> str:
    return config(
        users=[
            *USERS[:3],
            "  - {email: bob@acme.example, role: Admin, stores: all}",
            "  - {email: new@acme.example, role: Disputes, stores: [MID2]}",
        ],
        settings="  technical_support_access: false\n",
    )


def test_text_format_exact(emu: EmulatorProcess, tmp_path: Path) -> None:
    result = run(emu, tmp_path, _changed(), "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    where = tmp_path / "acme.yaml"
    assert result.stdout == (
        "Organization acme-eu (as root@acme.example, Super Admin, from 203.0.113.10)\n"
        "\n"
        "  # settings\n"
        f"    ~ settings/technical_support_access  ({where}:5)\n"
        "        technical_support_access: true → false\n"
        "\n"
        "  # users\n"
        f"    ~ users/bob@acme.example  ({where}:16)\n"
        '        role: "User" → "Admin"\n'
        "        stores: + MID2\n"
        f"    + users/new@acme.example  ({where}:17)\n"
        '        type: "internal"\n'
        '        role: "Disputes"\n'
        '        stores: ["MID2"]\n'
        "\n"
        "  Findings:\n"
        "    info[terminated_user] users/gone@acme.example: gone@acme.example is Terminated on "
        "the platform (cancelled agreement): accessctl never changes it\n"
        "\n"
        "Plan: 1 to add, 2 to change, 0 to remove.\n"
    )
    assert run(emu, tmp_path, _changed()).exit_code == 0


def test_markdown_format(emu: EmulatorProcess, tmp_path: Path) -> None:
    result = run(emu, tmp_path, _changed(), "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("### accessctl plan\n\n**Plan: 1 to add, 2 to change")
    assert "`users/bob@acme.example` grants Admin" in result.stdout
    assert "turns technical support access off" in result.stdout


def test_json_format_and_saved_plan(emu: EmulatorProcess, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run(emu, tmp_path, _changed(), "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format_version"] == "1"
    assert json.loads(out.read_text(encoding="utf-8")) == data
    (org,) = data["orgs"]
    assert org["token_env"] == "ACME_TOKEN" and org["api_url"] == emu.base_url
    assert "tok-root" not in out.read_text(encoding="utf-8")
    assert sorted(c["address"] for c in org["changes"]) == [
        "settings/technical_support_access",
        "users/bob@acme.example",
        "users/new@acme.example",
    ]


def test_github_format_and_step_summary(emu: EmulatorProcess, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = run(
        emu,
        tmp_path,
        _changed(),
        "--format",
        "github",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 0, result.output
    where = tmp_path / "acme.yaml"
    assert f"::warning file={where},line=16,title=accessctl plan%3A update::" in result.stdout
    assert f"::notice file={where},line=17,title=accessctl plan%3A create::" in result.stdout
    assert summary.read_text(encoding="utf-8").startswith("### accessctl plan")


def test_colour_never_without_a_tty(emu: EmulatorProcess, tmp_path: Path) -> None:
    assert "\033[" not in run(emu, tmp_path, _changed()).stdout


def test_config_errors_print_diagnostics_and_exit_1(emu: EmulatorProcess, tmp_path: Path) -> None:
    bad = config(users=[*USERS, "  - {email: x@acme.example, role: Read Olny}"])
    emu.reset_request_counts()
    result = run(emu, tmp_path, bad)
    assert result.exit_code == 1
    assert f"{tmp_path / 'acme.yaml'}:" in result.stderr
    assert "Read Only" in result.stderr
    assert emu.request_counts() == {}  # refused before any request
    assert "Organization" not in result.stdout


def _unsafe(result: Result, code: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"error[{code}]" in result.stdout
    assert "Unsafe plan:" in result.stdout


def test_rule_lockout(emu: EmulatorProcess, tmp_path: Path) -> None:
    text = config(ranges=["  - {name: HQ, cidr: 198.51.100.0/24}"])
    _unsafe(run(emu, tmp_path, text), "lockout")


def test_rule_max_removals_and_force(emu: EmulatorProcess, tmp_path: Path) -> None:
    text = config(users=USERS[:2], policy="  unmanaged_users: remove\n  max_removals: 1\n")
    _unsafe(run(emu, tmp_path, text), "max_removals")
    forced = run(emu, tmp_path, text, "--force", "--detailed-exitcode")
    assert forced.exit_code == 2, forced.output
    assert "warning[max_removals]" in forced.stdout


def test_rule_protected_user(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = [USERS[0], "  - {email: admin@acme.example, role: User, stores: [MID1]}", *USERS[2:]]
    text = config(users=users, policy="  protected: [admin@acme.example]\n")
    _unsafe(run(emu, tmp_path, text), "protected_user")


def test_rule_own_principal(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = [USERS[0], "  - {email: admin@acme.example, role: User, stores: [MID1]}", *USERS[2:]]
    _unsafe(run(emu, tmp_path, config(users=users), token="tok-admin"), "self_change")


def test_rule_last_super_admin(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = ["  - {email: root@acme.example, role: Admin, stores: all}", *USERS[1:]]
    _unsafe(run(emu, tmp_path, config(users=users)), "last_super_admin")


def test_rule_super_admin_needs_super_admin_token(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = [*USERS[:3], "  - {email: bob@acme.example, role: Super Admin, stores: [MID1]}"]
    _unsafe(run(emu, tmp_path, config(users=users), token="tok-admin"), "super_admin_required")


def test_rule_terminated_user_is_reported_not_changed(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = [*USERS, "  - {email: gone@acme.example, role: User, stores: [MID1]}"]
    result = run(emu, tmp_path, config(users=users), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "warning[terminated_user] users/gone@acme.example" in result.stdout
    assert "No changes." in result.stdout


def test_rule_organization_mismatch(emu: EmulatorProcess, tmp_path: Path) -> None:
    result = run(emu, tmp_path, config(org="acme-us"))
    _unsafe(result, "organization_mismatch")
    # no diff against the wrong organization: the reason is all there is to read
    assert "# users" not in result.stdout and "error[" in result.stdout
    assert result.stdout.count("error[") == 1
    assert "No changes" not in result.stdout  # nothing was compared, so none can be claimed
    assert (
        "Not compared: the token is not acme-us's (see the findings); nothing was diffed.\n"
        in result.stdout
    )


def test_rule_store_not_live(emu: EmulatorProcess, tmp_path: Path) -> None:
    users = [*USERS[:3], "  - {email: bob@acme.example, role: User, stores: [MID1, MID9]}"]
    text = config(users=users, stores="  MID1: Web\n  MID2: POS\n  MID9: Nowhere\n")
    _unsafe(run(emu, tmp_path, text), "unknown_store")


def test_a_store_not_live_of_a_user_whose_access_ended_does_not_stop_the_plan(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    # Without `stores:`, the YAML does not list the organization's stores; only the live
    # state tells that MID9 is none of them.
    gone = "  - {email: gone@ext.example, type: external, expires: 2020-01-01, stores: [MID9]}"
    text = config(users=[*USERS, gone]).replace("stores:\n  MID1: Web\n  MID2: POS\n", "")
    assert "stores:\n" not in text
    result = run(emu, tmp_path, text, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "warning[unknown_store] users/gone@ext.example" in result.stdout
    assert "warning[expiry_in_past] users/gone@ext.example" in result.stdout


def test_rule_more_than_50_ranges(emu: EmulatorProcess, tmp_path: Path) -> None:
    ranges = [f"  - {{name: r{i}, cidr: 10.0.{i}.0/24}}" for i in range(50)]
    ranges.append("  - {name: HQ, cidr: 203.0.113.0/24}")
    result = run(emu, tmp_path, config(ranges=ranges))
    assert result.exit_code == 1
    assert "50" in result.stderr  # refused by validation, before any request


def test_rule_principal_without_admin_role(emu: EmulatorProcess, tmp_path: Path) -> None:
    """A read-only token plans (exit 2: changes) with a warning; apply refuses the plan."""
    result = run(emu, tmp_path, _changed(), "--detailed-exitcode", token="tok-reader")
    assert result.exit_code == 2, result.output
    assert "warning[insufficient_role]" in result.stdout
    applied = CliRunner().invoke(
        cli,
        ["apply", str(tmp_path / "acme.yaml"), "--yes", "--api-url", emu.base_url,
         "--today", "2025-06-01"],
        env={"ACME_TOKEN": "tok-reader", "NO_COLOR": "1"},
    )  # fmt: skip
    assert applied.exit_code == 1, applied.output
    assert "insufficient_role" in applied.output and "nothing was sent" in applied.output


def test_rule_ranges_on_a_standard_plan(emu: EmulatorProcess, tmp_path: Path) -> None:
    text = config(
        org="globex",
        users=["  - {email: root@globex.example, role: Super Admin, stores: [MID7]}"],
        stores="  MID7: Shop\n",
        token_env="GLOBEX_TOKEN",
    )
    result = run(emu, tmp_path, text)
    _unsafe(result, "plan_required")
    assert "lockout" not in result.stdout and "ip_ranges/" not in result.stdout.split("Findings")[0]


def test_plan_uses_pages_plus_two_requests(emu: EmulatorProcess, tmp_path: Path) -> None:
    emu.reset_request_counts()
    run(emu, tmp_path, config())
    assert emu.request_counts() == {
        "GET /me": 1,
        "GET /organization": 1,
        "GET /stores": 1,
        "GET /users": 1,
        "GET /ip-ranges": 1,
    }


def test_a_retry_is_reported_once_without_verbose(emu: EmulatorProcess, tmp_path: Path) -> None:
    # the next two API requests are answered 429 with `Retry-After: 0`: two retries, one notice
    emu.set_faults(rate_limit_burst=2, retry_after=0)
    try:
        result = run(emu, tmp_path, config(), "--detailed-exitcode")
    finally:
        emu.clear_faults()
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(notices) == 1, result.stderr
    assert notices[0].startswith("accessctl: GET /")
    assert ": 429, retrying in 0.00s (attempt 2 of 6)" in notices[0]
    assert "tok-root" not in result.stderr
    assert result.stdout.endswith("No changes. Live state matches the configuration.\n")


def test_a_config_warning_keeps_its_column_and_hint_in_every_format(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """A warning `validate` reports with `file:line:column` and a hint is carried into the plan
    whole: the text, markdown, GitHub and JSON plans show its column and hint too."""
    temp = "  - {email: temp@partner.example, type: external, expires: 2025-06-04, stores: [MID1]}"
    text = config(users=[*USERS, temp])
    where = f"{tmp_path / 'acme.yaml'}:15:{temp.index('2025-06-04') + 1}"
    message = "external user `temp@partner.example` loses access in 3 days (2025-06-04)"
    hint = "extend `expires:` if the access is still needed"

    shown = run(emu, tmp_path, text)
    assert shown.exit_code == 0, shown.output
    assert f"    warning[expiry_soon] ({where}): {message}\n        hint: {hint}\n" in shown.stdout

    markdown = run(emu, tmp_path, text, "--format", "markdown").stdout
    assert f"- **warning** `expiry_soon` ({where}): {message}<br>hint: {hint}\n" in markdown

    github = run(emu, tmp_path, text, "--format", "github").stdout
    file, line, column = where.rsplit(":", 2)
    assert (
        f"::warning file={file},line={line},col={column},title=accessctl expiry_soon::"
        f"{message}%0Ahint: {hint}\n"
    ) in github

    (org,) = json.loads(run(emu, tmp_path, text, "--format", "json").stdout)["orgs"]
    (warning,) = [f for f in org["findings"] if f["code"] == "expiry_soon"]
    assert warning["source"] == {"file": file, "line": 15, "column": int(column)}
    assert warning["hint"] == hint
    invite = next(c for c in org["changes"] if c["address"] == "users/temp@partner.example")
    assert invite["source"] == {"file": file, "line": 15}  # a change cites its line, as before
