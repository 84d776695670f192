"""One email holds one role across organizations: a user moved from one organization to another
in one apply converges in that apply (the invitation refused with role_conflict is tried again
once the other organization has removed them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.apply import standard_org
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e


# `alpha` sorts first, so its invitation runs before beta's removal and is refused once.
SEED = {
    "organizations": [
        standard_org("alpha", []),
        standard_org("beta", [{"email": "mover@x.example", "role": "Read Only", "stores": "all"}]),
    ]
}


def _config(name: str, extra: str = "") -> str:
    return (
        f"organization: {name}\n"
        f"api: {{token_env: {name.upper()}_TOKEN}}\n"
        f"stores: {{MID-{name}: Web}}\n"
        "policy: {unmanaged_users: remove, max_removals: 5}\n"
        "users:\n"
        f"  - {{email: root@{name}.example, role: Super Admin, stores: all}}\n" + extra
    )


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def test_a_user_moved_between_organizations_converges_in_one_apply(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    (tmp_path / "alpha.yaml").write_text(
        _config("alpha", "  - {email: mover@x.example, role: User, stores: all}\n"),
        encoding="utf-8",
    )
    (tmp_path / "beta.yaml").write_text(_config("beta"), encoding="utf-8")
    environ = {
        "ALPHA_TOKEN": "tok-alpha",
        "BETA_TOKEN": "tok-beta",
        "ACCESSCTL_API_URL": emu.base_url,
    }
    result = CliRunner().invoke(cli, ["apply", str(tmp_path), "--yes"], env=environ)
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith(("failed ", "applied users/m"))]
    assert lines[0].startswith("failed users/mover@x.example (create)")
    assert "role_conflict" in lines[0] or "another organization" in lines[0]
    assert lines[1].startswith("applied users/mover@x.example (delete)")
    assert lines[2].startswith("applied users/mover@x.example (create)")
    assert "Apply complete: 2 applied, 0 failed, 0 skipped." in result.output
    again = CliRunner().invoke(cli, ["plan", str(tmp_path), "--detailed-exitcode"], env=environ)
    assert again.exit_code == 0, again.output


SHARED = {"email": "shared@x.example", "role": "User", "stores": "all"}
TERMINATED = {"email": "term@x.example", "role": "Terminated", "stores": "all"}
SEED_SHARED = {
    "organizations": [standard_org("alpha", [SHARED]), standard_org("beta", [SHARED, TERMINATED])]
}


@pytest.fixture
def emu_shared(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED_SHARED)


def _plan_json(emu: EmulatorProcess, folder: Path) -> dict[str, list[tuple[str, str]]]:
    environ = {
        "ALPHA_TOKEN": "tok-alpha",
        "BETA_TOKEN": "tok-beta",
        "ACCESSCTL_API_URL": emu.base_url,
    }
    result = CliRunner().invoke(cli, ["plan", str(folder), "--format", "json"], env=environ)
    assert result.exit_code == 0, result.output
    return {
        org["organization"]: [
            (f["code"], f["message"]) for f in org["findings"] if f["code"] == "role_conflict"
        ]
        for org in json.loads(result.output)["orgs"]
    }


def test_a_role_changed_in_two_organizations_at_once_is_flagged(
    emu_shared: EmulatorProcess, tmp_path: Path
) -> None:
    admin = "  - {email: shared@x.example, role: Admin, stores: all}\n"
    (tmp_path / "alpha.yaml").write_text(_config("alpha", admin), encoding="utf-8")
    (tmp_path / "beta.yaml").write_text(_config("beta", admin), encoding="utf-8")
    findings = _plan_json(emu_shared, tmp_path)
    for here, there in (("alpha", "beta"), ("beta", "alpha")):
        ((code, message),) = findings[here]
        assert code == "role_conflict"
        assert message.startswith(
            f"shared@x.example holds the role User in {there}: the platform keeps one role per "
            f"email, so Admin here will be refused ({there} changes it to Admin too"
        )


def test_a_user_kept_elsewhere_is_not_flagged_when_nothing_disagrees(
    emu_shared: EmulatorProcess, tmp_path: Path
) -> None:
    same = "  - {email: shared@x.example, role: User, stores: all}\n"
    (tmp_path / "alpha.yaml").write_text(_config("alpha", same), encoding="utf-8")
    (tmp_path / "beta.yaml").write_text(_config("beta"), encoding="utf-8")  # removed there
    assert _plan_json(emu_shared, tmp_path) == {"alpha": [], "beta": []}


def test_an_email_terminated_in_another_organization_is_flagged(
    emu_shared: EmulatorProcess, tmp_path: Path
) -> None:
    users = (
        "  - {email: shared@x.example, role: User, stores: all}\n"
        "  - {email: term@x.example, role: Admin, stores: all}\n"
    )
    (tmp_path / "alpha.yaml").write_text(_config("alpha", users), encoding="utf-8")
    same = "  - {email: shared@x.example, role: User, stores: all}\n"
    (tmp_path / "beta.yaml").write_text(_config("beta", same), encoding="utf-8")
    findings = _plan_json(emu_shared, tmp_path)
    ((_code, message),) = findings["alpha"]
    assert message.startswith(
        "term@x.example holds the role Terminated in beta: the platform keeps one role per "
        "email, so Admin here will be refused (beta keeps Terminated"
    )
    assert findings["beta"] == []


def test_a_change_still_refused_after_the_retry_says_it_was_tried_again(
    emu_shared: EmulatorProcess, tmp_path: Path
) -> None:
    promote = "  - {email: shared@x.example, role: Admin, stores: all}\n"
    # alpha makes progress (a setting) and leaves shared@ alone as User (unmanaged, ignored), so
    # beta's promotion stays refused
    alpha = _config("alpha").replace(
        "policy: {unmanaged_users: remove, max_removals: 5}",
        "settings: {technical_support_access: true}\npolicy: {unmanaged_users: ignore}",
    )
    (tmp_path / "alpha.yaml").write_text(alpha, encoding="utf-8")
    (tmp_path / "beta.yaml").write_text(_config("beta", promote), encoding="utf-8")
    environ = {
        "ALPHA_TOKEN": "tok-alpha",
        "BETA_TOKEN": "tok-beta",
        "ACCESSCTL_API_URL": emu_shared.base_url,
    }
    result = CliRunner().invoke(cli, ["apply", str(tmp_path), "--yes"], env=environ)
    assert result.exit_code == 1, result.output
    failed = [x for x in result.output.splitlines() if x.startswith("failed users/shared")]
    assert len(failed) == 2, result.output
    assert "tried again after the other organizations" not in failed[0]
    assert ": tried again after the other organizations: " in failed[1]
    assert "Apply complete: 1 applied, 1 failed, 0 skipped." in result.output
