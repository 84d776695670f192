"""The reviewed plan is the applied plan (issue 10, point 6), and audit that a header cannot fool
(point 3), on the emulator over loopback: a plan made with a read-only token and
$ACCESSCTL_PLAN_KEY is applied with the Admin token; a tampered one is refused before any
request; the rules that depend on who calls are checked again for the principal that applies; and
`audit` counts a change as accessctl's only when its sealed annotation checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.apply import HAND_TOKEN, TOKEN, TOKEN_ENV, seed, write_config
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

READ_TOKEN = "tok-e2e-auditor"
PLAN_KEY = "0123456789abcdef0123456789abcdef-e2e"
SEED = seed(
    users=[
        {"email": "auditor@acme.example", "role": "Read Only", "stores": ["MID1"]},
        {"email": "dana@acme.example", "role": "User", "stores": ["MID1"]},
    ]
)
SEED["organizations"][0]["tokens"].append({"token": READ_TOKEN, "email": "auditor@acme.example"})
USERS = """\
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: auditor@acme.example, role: Read Only, stores: [MID1]}
"""
PROMOTE_DANA = USERS + "      - {email: dana@acme.example, role: Admin, stores: [MID1, MID2]}\n"
DANA_SUPER = USERS + "      - {email: dana@acme.example, role: Super Admin, stores: [MID1]}\n"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def run(emu: EmulatorProcess, token: str, *args: str, key: str | None = PLAN_KEY) -> Result:
    environ = {TOKEN_ENV: token, "ACCESSCTL_API_URL": emu.base_url}
    if key is not None:
        environ["ACCESSCTL_PLAN_KEY"] = key
    return CliRunner().invoke(cli, list(args), env=environ)


def read_only_plan(emu: EmulatorProcess, tmp_path: Path, body: str) -> Path:
    emu.reset()
    config, saved = write_config(tmp_path, body), tmp_path / "plan.json"
    result = run(emu, READ_TOKEN, "plan", str(config), "-o", str(saved), "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    emu.reset_request_counts()
    return saved


def mutations(emu: EmulatorProcess) -> dict[str, int]:
    return {k: n for k, n in emu.request_counts().items() if not k.startswith("GET ")}


def dana(emu: EmulatorProcess) -> dict[str, Any]:
    users = emu.api(TOKEN).all_items("/users")
    return next(u for u in users if u["email"] == "dana@acme.example")


def test_a_read_only_plan_is_applied_with_the_admin_token(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = read_only_plan(emu, tmp_path, PROMOTE_DANA)
    assert json.loads(saved.read_text(encoding="utf-8"))["signed_with"] == "ACCESSCTL_PLAN_KEY"
    result = run(emu, HAND_TOKEN, "apply", str(saved), "--yes")
    assert result.exit_code == 0, result.output
    assert "Apply complete: 1 applied, 0 failed, 0 skipped." in result.output
    assert (dana(emu)["role"], dana(emu)["stores"]) == ("Admin", ["MID1", "MID2"])


def test_without_the_shared_key_the_admin_token_cannot_apply_it(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = read_only_plan(emu, tmp_path, PROMOTE_DANA)
    result = run(emu, HAND_TOKEN, "apply", str(saved), "--yes", key=None)
    assert result.exit_code == 1, result.output
    assert "the saved plan was signed with $ACCESSCTL_PLAN_KEY, which is not set here" in (
        result.output
    )
    other = run(emu, HAND_TOKEN, "apply", str(saved), "--yes", key="z" * 40)
    assert other.exit_code == 1, other.output
    assert "is not the one `accessctl plan` wrote for $ACCESSCTL_PLAN_KEY" in other.output
    assert "z" * 40 not in other.output
    assert emu.request_counts() == {}  # not even GET /me
    assert dana(emu)["role"] == "User"


@pytest.mark.parametrize("field", ["role", "token_env"])
def test_a_tampered_plan_is_refused_before_any_request(
    emu: EmulatorProcess, tmp_path: Path, field: str
) -> None:
    saved = read_only_plan(emu, tmp_path, PROMOTE_DANA)
    data = json.loads(saved.read_text(encoding="utf-8"))
    if field == "role":
        data["orgs"][0]["changes"][0]["after"]["role"] = "Super Admin"
    else:
        data["orgs"][0]["token_env"] = "SOME_OTHER_SECRET"
    saved.write_text(json.dumps(data), encoding="utf-8")
    for extra in ([], ["--dry-run"]):
        result = run(emu, HAND_TOKEN, "apply", str(saved), "--yes", *extra)
        assert result.exit_code == 1, result.output
        assert "it was edited since, or made with another key; nothing was sent" in result.output
    assert emu.request_counts() == {}
    assert dana(emu)["role"] == "User"


def test_super_admin_rules_are_checked_for_the_principal_that_applies(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = read_only_plan(emu, tmp_path, DANA_SUPER)
    result = run(emu, HAND_TOKEN, "apply", str(saved), "--yes")  # an Admin, not a Super Admin
    assert result.exit_code == 1, result.output
    assert "is unsafe for hand@acme.example (Admin) applying from 127.0.0.1" in result.output
    assert "super_admin_required: dana@acme.example: only a Super Admin may grant" in result.output
    assert mutations(emu) == {}
    result = run(emu, TOKEN, "apply", str(saved), "--yes")  # the Super Admin may
    assert result.exit_code == 0, result.output
    assert dana(emu)["role"] == "Super Admin"


def test_self_removal_is_checked_for_the_principal_that_applies(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    # Declares neither hand@ nor dana@: the read-only planner may plan their removal.
    body = (
        "users:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "  - {email: auditor@acme.example, role: Read Only, stores: [MID1]}\n"
    )
    saved = read_only_plan(emu, tmp_path, body)
    result = run(emu, HAND_TOKEN, "apply", str(saved), "--yes")
    assert result.exit_code == 1, result.output
    assert "self_change: hand@acme.example is the token's own principal" in result.output
    assert mutations(emu) == {}
    assert run(emu, TOKEN, "apply", str(saved), "--yes").exit_code == 0


def _forge(emu: EmulatorProcess, token: str, annotation: dict[str, Any], stores: list[str]) -> None:
    """Change dana@'s stores with `token`, sending `annotation` (which claims accessctl)."""
    api = emu.api(token)
    user = dana(emu)
    answer = api.patch(
        f"/users/{user['id']}",
        json={"stores": stores},
        headers={"X-Audit-Annotation": json.dumps(annotation, separators=(",", ":"))},
    )
    assert answer.status_code == 200, answer.text


def _audit(emu: EmulatorProcess, config: Path, token: str, key: str | None) -> Result:
    return run(emu, token, "audit", str(config), "--since", "1h", "--detailed-exitcode",
               "--format", "json", key=key)  # fmt: skip


def test_a_genuine_apply_is_accessctl_s_and_a_forged_header_is_hand_made(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = read_only_plan(emu, tmp_path, PROMOTE_DANA)
    assert run(emu, TOKEN, "apply", str(saved), "--yes").exit_code == 0  # root applies
    config = tmp_path / "acme.yaml"

    clean = _audit(emu, config, READ_TOKEN, PLAN_KEY)  # the drift job: read-only token + key
    assert clean.exit_code == 0, clean.output
    (org,) = json.loads(clean.output)["organizations"]
    assert [e["target"] for e in org["by_accessctl"]] == ["user dana@acme.example"]
    assert org["by_hand"] == []
    genuine = org["by_accessctl"][0]["annotation"]
    assert genuine["sig"].startswith("hmac-sha256:")

    # Another principal sends a header that names accessctl, then one copied from the genuine
    # event (its seal included); then the applying principal's own token replays the copy by
    # hand: all three are hand-made, and say they claimed to be accessctl.
    note = {"tool": "accessctl", "plan": genuine["plan"], "source": "acme.yaml:9"}
    _forge(emu, HAND_TOKEN, note, ["MID2"])
    _forge(emu, HAND_TOKEN, genuine, ["MID1"])
    _forge(emu, TOKEN, genuine, ["MID1", "MID2"])
    forged = _audit(emu, config, READ_TOKEN, PLAN_KEY)
    assert forged.exit_code == 2, forged.output
    (org,) = json.loads(forged.output)["organizations"]
    assert [e["target"] for e in org["by_accessctl"]] == ["user dana@acme.example"]
    hand = org["by_hand"]
    assert [(e["actor"], e["claimed_accessctl"]) for e in hand] == [
        ("hand@acme.example", True),
        ("hand@acme.example", True),
        ("root@acme.example", True),
    ]
    assert hand[0]["not_verified"] == "its annotation carries no signature"
    assert hand[1]["not_verified"].startswith(
        "its signature does not check with $ACCESSCTL_PLAN_KEY for hand@acme.example"
    )
    assert hand[2]["not_verified"].startswith("its signature was already used by the change at")

    text = run(emu, READ_TOKEN, "audit", str(config), "--since", "1h")
    assert text.exit_code == 0, text.output
    assert "Made by accessctl (1):" in text.output
    assert "[claimed to be accessctl, but its annotation carries no signature]" in text.output
    assert "Hand-made changes: 3 (3 claimed to be accessctl's and could not be verified)." in (
        text.output
    )


def test_without_the_key_a_read_only_reader_cannot_vouch_for_any_change(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = read_only_plan(emu, tmp_path, PROMOTE_DANA)
    assert run(emu, HAND_TOKEN, "apply", str(saved), "--yes").exit_code == 0
    result = _audit(emu, tmp_path / "acme.yaml", READ_TOKEN, None)
    assert result.exit_code == 2, result.output
    (org,) = json.loads(result.output)["organizations"]
    assert org["by_accessctl"] == []
    assert org["by_hand"][0]["not_verified"].startswith(
        f"its signature does not check with the token in {TOKEN_ENV}"
    )


def test_without_a_plan_key_the_applying_token_vouches_for_its_own_changes(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    emu.reset()
    config = write_config(tmp_path, PROMOTE_DANA)
    assert run(emu, TOKEN, "apply", str(config), "--yes", key=None).exit_code == 0
    assert _audit(emu, config, TOKEN, None).exit_code == 0
    assert _audit(emu, config, HAND_TOKEN, None).exit_code == 2  # another token cannot check


def test_a_short_plan_key_is_refused_before_any_request(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    emu.reset()
    emu.reset_request_counts()
    config = write_config(tmp_path, PROMOTE_DANA)
    for args in (["plan"], ["apply", "--yes"], ["audit"]):
        result = run(emu, TOKEN, args[0], str(config), *args[1:], key="short-key")
        assert result.exit_code == 1, (args, result.output)
        assert "$ACCESSCTL_PLAN_KEY is too short (9 characters)" in result.output
        assert "short-key" not in result.output
    assert emu.request_counts() == {}
