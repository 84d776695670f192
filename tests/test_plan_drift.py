"""Drift, end to end on the real emulator (issue 10): the YAML is authoritative by default, an
undeclared user is always drift unless ignored, every user declares its stores, and the day a
contractor's access ends breaks no pipeline."""

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

TODAY = "2026-06-01"
SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme",
            "plan": "ultimate",
            "technical_support_access": True,
            "stores": [{"id": "MID1", "name": "Web"}, {"id": "MID2", "name": "POS"}],
            "ip_ranges": [{"name": "HQ", "cidr": "203.0.113.0/24"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
                {"email": "ops@acme.example", "role": "Admin", "stores": "all"},
                {"email": "bob@acme.example", "role": "User", "stores": ["MID1"]},
                {"email": "ann@acme.example", "role": "Read Only", "stores": ["MID2"]},
                {  # access ended yesterday, still live
                    "email": "late@partner.example",
                    "type": "external",
                    "role": "External User",
                    "expires_at": "2026-05-31",
                    "stores": ["MID1"],
                },
            ],
            "tokens": [
                {"token": "tok-acme", "email": "root@acme.example", "ip": "203.0.113.10"},
                {"token": "tok-ops", "email": "ops@acme.example", "ip": "203.0.113.11"},
            ],
        },
        {
            "name": "globex",
            "plan": "standard",
            "technical_support_access": False,
            "stores": [{"id": "MID7", "name": "Shop"}],
            "users": [{"email": "root@globex.example", "role": "Super Admin", "stores": "all"}],
            "tokens": [{"token": "tok-globex", "email": "root@globex.example"}],
        },
    ]
}

ACME_USERS = {
    "root": "  - {email: root@acme.example, role: Super Admin, stores: all}",
    "ops": "  - {email: ops@acme.example, role: Admin, stores: all}",
    "bob": "  - {email: bob@acme.example, role: User, stores: [MID1]}",
    "ann": "  - {email: ann@acme.example, role: Read Only, stores: [MID2]}",
    "late": (
        "  - {email: late@partner.example, type: external, expires: 2026-05-31, stores: [MID1]}"
    ),
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    emulator = emulators.get(SEED)
    emulator.set_today(TODAY)
    return emulator


def acme(*users: str, policy: str = "") -> str:
    """acme's config with `users` (keys of ACME_USERS, or lines), and a `policy:` body."""
    lines = [ACME_USERS.get(u, u) for u in users]
    text = "organization: acme\napi: {url: http://127.0.0.1:9/api/v1, token_env: ACME_TOKEN}\n"
    if policy:
        text += f"policy:\n{policy}"
    text += "stores: {MID1: Web, MID2: POS}\nip_ranges:\n  - {name: HQ, cidr: 203.0.113.0/24}\n"
    return text + "users:\n" + "\n".join(lines) + "\n"


EVERYONE = ("root", "ops", "bob", "ann", "late")


def accessctl(emu: EmulatorProcess, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        list(args),
        env={
            "ACME_TOKEN": "tok-acme",
            "GLOBEX_TOKEN": "tok-globex",
            "ACCESSCTL_API_URL": emu.base_url,
            "NO_COLOR": None,
            "GITHUB_STEP_SUMMARY": None,
        },
    )


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def plan(emu: EmulatorProcess, path: Path, *args: str) -> Result:
    return accessctl(emu, "plan", str(path), "--today", TODAY, "--detailed-exitcode", *args)


def live_emails(emu: EmulatorProcess, token: str = "tok-acme") -> set[str]:
    api = emu.api(token)
    try:
        return {u["email"] for u in api.all_items("/users")}
    finally:
        api.close()


def test_an_admin_invited_by_hand_is_drift_and_planned_for_removal(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = write(tmp_path, acme(*EVERYONE))
    assert plan(emu, config).exit_code == 0  # in sync
    invited = emu.api("tok-ops").post(
        "/users",
        json={"email": "crony@acme.example", "type": "internal", "role": "Admin", "stores": []},
    )
    assert invited.status_code == 201, invited.text

    result = plan(emu, config)
    assert result.exit_code == 2, result.output
    assert (
        "    - users/crony@acme.example  (not declared; policy.unmanaged_users: remove)\n"
        '        type: "internal"\n'
        '        role: "Admin"\n'
    ) in result.stdout
    assert result.stdout.endswith("Plan: 0 to add, 0 to change, 1 to remove.\n")

    applied = accessctl(emu, "apply", str(config), "--today", TODAY, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "crony@acme.example" not in live_emails(emu)
    assert plan(emu, config).exit_code == 0


def test_deleting_a_users_lines_removes_the_user(emu: EmulatorProcess, tmp_path: Path) -> None:
    """Offboarding by pull request: the diff deletes bob's line, the plan removes bob."""
    config = write(tmp_path, acme("root", "ops", "ann", "late"))
    result = plan(emu, config)
    assert result.exit_code == 2, result.output
    assert "    - users/bob@acme.example  (not declared; policy.unmanaged_users: remove)\n" in (
        result.stdout
    )
    applied = accessctl(emu, "apply", str(config), "--today", TODAY, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "applied users/bob@acme.example (delete)" in applied.output
    assert "bob@acme.example" not in live_emails(emu)
    assert plan(emu, config).exit_code == 0


def test_removals_of_undeclared_users_stay_within_max_removals_and_protected(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """Deleting everybody's lines by mistake (a truncated file) is refused, and a protected user
    is never removed, whatever the YAML leaves out."""
    truncated = write(tmp_path, acme("root"))
    result = plan(emu, truncated)
    assert result.exit_code == 1
    assert "error[max_removals] the plan removes 4 users and ranges" in result.stdout
    protected = write(
        tmp_path,
        acme("root", "ops", "ann", "late", policy="  protected: [bob@acme.example]\n"),
    )
    result = plan(emu, protected)
    assert result.exit_code == 1
    assert "error[protected_user] users/bob@acme.example" in result.stdout
    assert live_emails(emu) >= {"bob@acme.example", "ops@acme.example"}


@pytest.mark.parametrize("output_format", ["text", "markdown", "json", "github"])
def test_report_keeps_undeclared_users_but_they_are_drift(
    emu: EmulatorProcess, tmp_path: Path, output_format: str
) -> None:
    config = write(
        tmp_path, acme("root", "ops", "ann", "late", policy="  unmanaged_users: report\n")
    )
    result = plan(emu, config, "--format", output_format)
    assert result.exit_code == 2, result.output  # no change to make, but drift all the same
    out = result.stdout
    named = (
        "1 live user is not declared (kept by policy.unmanaged_users: report): bob@acme.example."
    )
    if output_format == "json":
        findings = json.loads(out)["orgs"][0]["findings"]
        assert [
            (f["severity"], f["address"]) for f in findings if f["code"] == "unmanaged_user"
        ] == [("warning", "users/bob@acme.example")]
        assert json.loads(out)["orgs"][0]["changes"] == []
    elif output_format == "markdown":
        assert f"**No changes to make, but {named}**" in out
        assert "`unmanaged_user` `users/bob@acme.example`" in out
    elif output_format == "github":
        assert "::warning title=accessctl unmanaged_user::users/bob@acme.example: " in out
        assert out.endswith(f"No changes to make, but {named}\n")
    else:
        assert "warning[unmanaged_user] users/bob@acme.example: bob@acme.example (User)" in out
        assert out.endswith(f"No changes to make, but {named}\n")
    assert "bob@acme.example" in live_emails(emu)


def test_ignore_is_the_only_way_to_hide_undeclared_users(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = write(
        tmp_path, acme("root", "ops", "ann", "late", policy="  unmanaged_users: ignore\n")
    )
    result = plan(emu, config)
    assert result.exit_code == 0, result.output
    assert "bob@" not in result.stdout
    assert result.stdout.endswith("No changes. Live state matches the configuration.\n")


def test_a_user_without_stores_is_an_error_on_its_line(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = write(tmp_path, acme("root", "ops", "  - {email: bob@acme.example, role: User}"))
    emu.reset_request_counts()
    result = plan(emu, config)
    assert result.exit_code == 1
    assert (
        f"{config}:9:5: error[missing_field]: missing required field `stores` in users[2]\n"
        "    hint: add `stores: all`, or a list of store ids such as `stores: [MID1000001]` "
        "(`stores: []` for none)\n"
    ) in result.stderr
    assert "the configuration has 1 error; nothing was fetched" in result.stderr
    assert emu.request_counts() == {}  # validation stops before any request


def test_an_ended_contractor_warns_its_organization_and_other_organizations_plan(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """On the day a contractor's access ends, every pipeline keeps running: `validate` warns,
    acme plans without inviting anybody whose access has ended, globex plans its own change."""
    folder = tmp_path / "access"
    folder.mkdir()
    ended = "  - {email: gone@partner.example, type: external, expires: 2026-06-01, stores: []}"
    write(folder, acme(*EVERYONE, ended))
    write(
        folder,
        "organization: globex\n"
        "api: {url: http://127.0.0.1:9/api/v1, token_env: GLOBEX_TOKEN}\n"
        "users:\n"
        "  - {email: root@globex.example, role: Super Admin, stores: all}\n"
        "  - {email: new@globex.example, role: User, stores: [MID7]}\n",
        "globex.yaml",
    )
    validated = accessctl(emu, "validate", str(folder), "--today", TODAY)
    assert validated.exit_code == 0, validated.output
    assert "warning[expiry_in_past]: external user `gone@partner.example`: access ended on " in (
        validated.output
    )
    assert "warning[expiry_in_past]: external user `late@partner.example`" in validated.output

    result = plan(emu, folder)
    assert result.exit_code == 2, result.output  # globex's invite
    out = result.stdout
    assert (
        "warning[expiry_in_past] users/gone@partner.example "
        f"({folder / 'acme.yaml'}:12): gone@partner.example: access ended on 2026-06-01 "
        "(`expires` is the day access ends): not invited; remove it from the YAML"
    ) in out
    assert "users/late@partner.example" in out and ": left as it is; remove it from the YAML" in out
    assert "+ users/new@globex.example" in out
    assert "+ users/gone@partner.example" not in out

    applied = accessctl(emu, "apply", str(folder), "--today", TODAY, "--yes")
    assert applied.exit_code == 0, applied.output
    invited = [mail["to"] for mail in emu.outbox()]
    assert invited == ["new@globex.example"]  # nobody whose access ended
    assert "gone@partner.example" not in live_emails(emu)
    assert "late@partner.example" in live_emails(emu)  # left as it is until its lines go
    # deleting the ended contractor's lines is how it is removed
    write(folder, acme("root", "ops", "bob", "ann"))
    removal = plan(emu, folder)
    assert removal.exit_code == 2
    assert "    - users/late@partner.example  (not declared; policy.unmanaged_users: remove)\n" in (
        removal.stdout
    )
