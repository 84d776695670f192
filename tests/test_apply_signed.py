"""A saved plan carries a signature per organization, keyed with its API token: `apply` refuses
a plan edited after `plan` wrote it, or made with another token, before sending any request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.apply import (
    BASE_USERS,
    HAND_TOKEN,
    TOKEN,
    TOKEN_ENV,
    env,
    make_plan,
    seed,
    write_config,
)
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess
from reconciler.plan import save_plan, sign, signature_holds

pytestmark = pytest.mark.e2e

SEED = seed(users=[{"email": "dana@acme.example", "role": "User", "stores": ["MID1"]}])
CONFIG = BASE_USERS + "  - {email: dana@acme.example, role: Read Only, stores: [MID1]}\n"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


@pytest.fixture
def saved(emu: EmulatorProcess, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CONFIG)), path)
    emu.reset_request_counts()
    return path


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _promote(data: dict[str, Any]) -> None:
    data["orgs"][0]["changes"][0]["after"]["role"] = "Super Admin"


def _redirect(data: dict[str, Any]) -> None:
    data["orgs"][0]["api_url"] = "http://127.0.0.1:9/api/v1"
    data["orgs"][0]["token_env"] = "SOME_OTHER_SECRET"


def _unsign(data: dict[str, Any]) -> None:
    data["orgs"][0]["signature"] = ""


def _new_id(data: dict[str, Any]) -> None:
    data["plan_id"] = "0" * 32  # the idempotency keys derive from it


@pytest.mark.parametrize("tamper", [_promote, _redirect, _unsign, _new_id])
def test_an_edited_plan_is_refused_before_any_request(
    emu: EmulatorProcess, saved: Path, tamper: Callable[[dict[str, Any]], None]
) -> None:
    _edit(saved, tamper)
    environment = {**env(emu), "SOME_OTHER_SECRET": "ghp_notThisOneEither1234"}
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(cli, ["apply", str(saved), "--yes", *extra], env=environment)
        assert result.exit_code == 1, result.output
        assert "is not the one `accessctl plan` wrote for the token in" in result.output
        assert "nothing was sent" in result.output
        assert "ghp_notThisOneEither1234" not in result.output
    assert emu.request_counts() == {}  # not even GET /me


def test_a_plan_applied_with_another_token_is_refused(emu: EmulatorProcess, saved: Path) -> None:
    result = CliRunner().invoke(
        cli, ["apply", str(saved), "--yes"], env={**env(emu), TOKEN_ENV: HAND_TOKEN}
    )
    assert result.exit_code == 1, result.output
    assert f"for the token in {TOKEN_ENV}: it was edited since, or made with another token" in (
        result.output
    )
    assert emu.request_counts() == {}


def test_the_untouched_plan_applies(emu: EmulatorProcess, saved: Path) -> None:
    result = CliRunner().invoke(cli, ["apply", str(saved), "--yes"], env=env(emu))
    assert result.exit_code == 0, result.output
    assert "Apply complete: 1 applied, 0 failed, 0 skipped." in result.output


def test_every_field_is_covered(emu: EmulatorProcess, tmp_path: Path) -> None:
    plan = make_plan(emu, write_config(tmp_path, CONFIG))
    org = plan.orgs[0]
    assert org.signature.startswith("hmac-sha256:")
    assert signature_holds(plan, org, TOKEN)
    assert not signature_holds(plan, org, HAND_TOKEN)
    for field, value in [
        ("organization", "globex"),
        ("live_fingerprint", "sha256:0"),
        ("api_url", "http://127.0.0.1:9/api/v1"),
        ("caller", org.caller.model_copy(update={"ip": "10.9.9.9"})),
        ("changes", []),
    ]:
        edited = org.model_copy(update={field: value})
        assert not signature_holds(plan, edited, TOKEN), field
    # Which key signed it is covered too: a token-signed plan cannot pass as a plan-key one.
    relabelled = plan.model_copy(update={"signed_with": "ACCESSCTL_PLAN_KEY"})
    assert not signature_holds(relabelled, org, TOKEN)
    resigned = sign(plan, lambda _org: TOKEN)
    assert resigned.orgs[0].signature == org.signature  # deterministic


def test_the_list_of_organizations_is_signed_too(emu: EmulatorProcess, tmp_path: Path) -> None:
    one = make_plan(emu, write_config(tmp_path, CONFIG))
    other = one.orgs[0].model_copy(update={"organization": "globex", "signature": ""})
    plan = sign(one.model_copy(update={"orgs": [one.orgs[0], other]}), lambda _org: TOKEN)
    first, second = plan.orgs
    assert signature_holds(plan, first, TOKEN) and signature_holds(plan, second, TOKEN)
    for orgs in ([first], [second, first], [first, first, second]):
        edited = plan.model_copy(update={"orgs": orgs})
        assert not any(signature_holds(edited, org, TOKEN) for org in orgs), orgs


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_saved_plan_goes_only_to_the_api_it_was_made_against(
    emu: EmulatorProcess, saved: Path, how: str
) -> None:
    elsewhere = "http://127.0.0.1:9/api/v1"
    args = ["apply", str(saved), "--yes", "--dry-run"]
    environment = env(emu)
    if how == "flag":
        args += ["--api-url", elsewhere]
    else:
        environment = {**environment, "ACCESSCTL_API_URL": elsewhere}
    result = CliRunner().invoke(cli, args, env=environment)
    assert result.exit_code == 1, result.output
    where = "--api-url" if how == "flag" else "$ACCESSCTL_API_URL"
    assert result.output.startswith(
        f"Error: {where} names another access API than the one the saved plan for acme was "
        "made against; a saved plan is applied only there; nothing was sent\n"
    )
    assert emu.request_counts() == {}
