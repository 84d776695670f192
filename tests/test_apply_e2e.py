"""`accessctl apply` against the real emulator over loopback: ordering, staleness, ETags, dry
runs and audit annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from support.apply import (
    BASE_USERS,
    HAND_TOKEN,
    TOKEN,
    accessctl,
    changes_made,
    line_of,
    make_plan,
    seed,
    write_config,
)
from support.emulators import EmulatorPool

from reconciler.annotations import AnnotationContext
from reconciler.api import AccessApiClient
from reconciler.apply import execute
from reconciler.emulator.testing import EmulatorProcess
from reconciler.plan import save_plan

pytestmark = pytest.mark.e2e

SEED = seed(
    users=[
        {"email": "old.boss@acme.example", "role": "Super Admin", "stores": ["MID1"]},
        {"email": "dana@acme.example", "role": "User", "stores": ["MID1"]},
        {"email": "leaver@acme.example", "role": "Read Only", "stores": ["MID2"]},
    ],
    ranges=[
        {"name": "Loopback wide", "cidr": "127.0.0.0/8"},
        {"name": "Branch", "cidr": "10.0.0.0/8"},
    ],
)

CONFIG = """\
    settings: {technical_support_access: false}
    ip_ranges:
      - {name: Branch, cidr: 10.0.0.0/8}
      - {name: Loopback narrow, cidr: 127.0.0.0/16}
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: old.boss@acme.example, role: Admin, stores: [MID1]}
      - {email: dana@acme.example, role: Super Admin, stores: [MID1, MID2]}
      - {email: new.hire@acme.example, role: Settlement, stores: [MID2]}
    """


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def hand_patch(emu: EmulatorProcess, email: str, body: dict[str, object]) -> None:
    """Someone changes a user in the portal: no annotation, another principal."""
    headers = {"Authorization": f"Bearer {HAND_TOKEN}"}
    users = requests.get(f"{emu.base_url}/users", headers=headers, timeout=10).json()["items"]
    user = next(u for u in users if u["email"] == email)
    answer = requests.patch(
        f"{emu.base_url}/users/{user['id']}", json=body, headers=headers, timeout=10
    )
    assert answer.status_code == 200, answer.text


def test_apply_converges_in_safe_order(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    result = accessctl(emu, "apply", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert "Apply complete: 7 applied, 0 failed, 0 skipped." in result.output
    assert f"applied users/new.hire@acme.example (create) {config}:" in result.output

    events = changes_made(emu)
    order = [(e["action"], e["target"]["name"]) for e in events]
    # The caller's IP is in "Loopback wide" only: the narrow range must exist before it goes.
    assert order.index(("ip_range.created", "Loopback narrow")) < order.index(
        ("ip_range.deleted", "Loopback wide")
    )
    # Promote the new Super Admin before demoting the old one.
    assert order.index(("user.updated", "dana@acme.example")) < order.index(
        ("user.updated", "old.boss@acme.example")
    )
    assert order.index(("user.invited", "new.hire@acme.example")) < order.index(
        ("user.removed", "leaver@acme.example")
    )
    assert order[-1] == ("ip_range.deleted", "Loopback wide")
    assert not make_plan(emu, config).has_changes


def test_annotations_on_every_audit_event_name_the_declaration(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = write_config(tmp_path, CONFIG)
    result = accessctl(emu, "apply", str(config), "--yes", "--annotate", "ticket=SEC-9")
    assert result.exit_code == 0, result.output
    events = changes_made(emu)
    assert len(events) == 7
    expected = {
        "dana@acme.example": line_of(config, "dana@"),
        "new.hire@acme.example": line_of(config, "new.hire@"),
        "old.boss@acme.example": line_of(config, "old.boss@"),
        "Loopback narrow": line_of(config, "Loopback narrow"),
        "acme": line_of(config, "technical_support_access"),
    }
    for event in events:
        note = event["annotation"]
        assert note["tool"] == "accessctl" and note["ticket"] == "SEC-9", event
        assert len(note["plan"]) == 32
        name = event["target"]["name"]
        if name in expected:
            assert note["source"] == f"{config}:{expected[name]}", event
        else:  # removals have no declaration
            assert event["action"] in ("user.removed", "ip_range.deleted"), event


def test_dry_run_prints_requests_and_sends_none(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    before = emu.audit_events(TOKEN)  # also records the token's login first
    emu.reset_request_counts()
    result = accessctl(emu, "apply", str(config), "--dry-run")
    assert result.exit_code == 0, result.output
    assert emu.audit_events(TOKEN) == before
    assert all(k.startswith("GET ") for k in emu.request_counts()), emu.request_counts()
    assert f"POST {emu.base_url}/users\n" in result.output
    assert "Idempotency-Key: accessctl-" in result.output
    assert "If-Match: " in result.output
    assert '"email":"new.hire@acme.example"' in result.output
    assert "Dry run: 7 requests not sent." in result.output
    assert TOKEN not in result.output and "Authorization" not in result.output


def test_stale_saved_plan_is_refused(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, config), saved)
    hand_patch(emu, "dana@acme.example", {"stores": ["MID2"]})
    count = len(changes_made(emu))
    result = accessctl(emu, "apply", str(saved), "--yes")
    assert result.exit_code == 1
    assert (
        "saved plan is stale: the live state of acme changed since the plan was made; nothing was "
        "sent; run plan again" in result.output
    )
    assert len(changes_made(emu)) == count


def test_fresh_saved_plan_applies(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, config), saved)
    result = accessctl(emu, "apply", str(saved), "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["applied"], data["failed"], data["skipped"]) == (7, 0, 0)
    assert {c["status"] for c in data["changes"]} == {"applied"}
    assert not (tmp_path / "plan.json.journal").exists()


def test_changed_object_is_reported_412_and_not_overwritten(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, BASE_USERS + "  - {email: dana@acme.example, role: Admin, stores: []}\n"
    )
    plan = make_plan(emu, config)
    (org,) = plan.orgs
    hand_patch(emu, "dana@acme.example", {"role": "Disputes"})
    with AccessApiClient(emu.base_url, TOKEN) as client:
        result = execute(org, client, plan_id=plan.plan_id, annotations=AnnotationContext())
    dana = next(r for r in result.results if r.change.address == "users/dana@acme.example")
    assert dana.status == "failed" and dana.code == "precondition_failed"
    assert dana.message is not None and "changed since plan" in dana.message
    assert f"{config}:" in dana.message
    live = {e["target"]["name"]: e for e in changes_made(emu) if e["action"] == "user.updated"}
    assert live["dana@acme.example"]["after"]["role"] == "Disputes"  # the hand's change stands


def test_unsafe_plan_is_refused_before_any_request(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, "ip_ranges:\n  - {name: Elsewhere, cidr: 10.0.0.0/8}\n")
    result = accessctl(emu, "apply", str(config), "--yes")
    assert result.exit_code == 1
    assert "the plan is unsafe; nothing was sent" in result.output
    assert changes_made(emu) == []


def test_no_terminal_and_no_yes_is_refused(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    result = accessctl(emu, "apply", str(config))
    assert result.exit_code == 1
    assert "refusing to apply without confirmation" in result.output
    assert changes_made(emu) == []
