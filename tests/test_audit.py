"""`accessctl audit`: accessctl's changes (from their annotation) apart from hand-made ones."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from support.apply import HAND_TOKEN, accessctl, line_of, seed, write_config
from support.emulators import EmulatorPool
from support.terminal import PLAIN, assert_shown_safely

from reconciler.annotations import seal_of
from reconciler.audit import (
    OrgAudit,
    Verifier,
    classify,
    describe,
    parse_duration,
    render_text,
)
from reconciler.emulator.testing import EmulatorProcess
from reconciler.errors import UsageError
from reconciler.live import AuditEvent

NOTE = {"tool": "accessctl", "plan": "0123456789abcdef", "commit": "abcdef1234567890",
        "pr": "17", "source": "acme.yaml:12"}  # fmt: skip
KEY = "k" * 40
VERIFIER = Verifier("acme-eu", KEY, "$ACCESSCTL_PLAN_KEY")


def event(**fields: Any) -> AuditEvent:
    """An event as the API sends it, read as `fetch_audit` reads it: what a test leaves out is
    filled in (a target without an id gets one)."""
    target = {"type": "user", "id": "usr_1", "name": "bob@x"} | fields.pop("target", {})
    base = {"at": "2026-05-01T10:00:00Z", "actor": "it@x", "action": "user.updated",
            "ip": "10.0.0.9", "target": target}  # fmt: skip
    return AuditEvent.model_validate(base | fields)


def sealed(note: dict[str, str], actor: str, key: str = KEY) -> dict[str, str]:
    return {**note, "sig": seal_of(key, "acme-eu", actor, note)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
     ("2w", timedelta(weeks=2))],
)  # fmt: skip
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "0d", "3 days", "-1h"])
def test_bad_duration_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_duration(text)


def test_classify_accessctl_hand_and_login() -> None:
    ours = classify(event(actor="root@x", action="user.invited", ip="1.2.3.4",
                          annotation=sealed(NOTE, "root@x")), VERIFIER)  # fmt: skip
    hand = classify(event(annotation={"tool": "other"}, before={"role": "User"},
                          after={"role": "Admin"}), VERIFIER)  # fmt: skip
    login = classify(event(action="login", annotation=None), VERIFIER)
    assert (ours.origin, hand.origin, login.origin) == ("accessctl", "hand", "login")
    assert describe(ours).endswith(
        "(by root@x via accessctl, commit abcdef123456, PR #17, plan 0123456789ab, acme.yaml:12)"
    )
    assert describe(hand).endswith('(by it@x from 10.0.0.9)  role: "User" → "Admin"')
    assert not hand.claimed and not hand.as_dict()["claimed_accessctl"]


@pytest.mark.parametrize(
    ("annotation", "verifier", "why"),
    [
        (NOTE, VERIFIER, "its annotation carries no signature"),
        # A genuine seal copied from accessctl's own change onto another principal's request.
        (sealed(NOTE, "root@x"), VERIFIER, "its signature does not check with "
         "$ACCESSCTL_PLAN_KEY for it@x: written or copied by another principal"),
        (sealed(NOTE, "it@x", key="x" * 40), VERIFIER, "its signature does not check"),
        (sealed({**NOTE, "pr": "18"}, "it@x") | {"pr": "17"}, VERIFIER, "does not check"),
        (sealed(NOTE, "it@x"), None, "there was no key to check its signature with"),
    ],
)  # fmt: skip
def test_a_claim_that_does_not_check_is_hand_made(
    annotation: dict[str, str], verifier: Verifier | None, why: str
) -> None:
    fields = {"actor": "it@x", "annotation": annotation}
    entry = classify(event(**fields), verifier)
    assert entry.origin == "hand"
    assert why in entry.claimed
    assert f"  [claimed to be accessctl, but {entry.claimed}]" in describe(entry)
    assert entry.as_dict()["claimed_accessctl"] is True
    lines = render_text([OrgAudit("acme-eu", "t0", [entry])])
    assert lines[-1] == (
        "Hand-made changes: 1 (1 claimed to be accessctl's and could not be verified). "
        "Review them, then put them in the config or revert them."
    )
    assert classify(event(**fields), verifier).origin == "hand"
    if verifier is not None and "copied" not in why:
        return
    # The same annotation, sealed for the actor that sent it: accessctl's.
    genuine = event(**fields | {"annotation": sealed(NOTE, "it@x")})
    assert classify(genuine, VERIFIER).origin == "accessctl"


def test_an_annotation_stored_as_its_json_text_is_read() -> None:
    # SPEC §2 stores the header verbatim: a server may send it back as the text it was sent.
    text = json.dumps(sealed(NOTE, "it@x"), separators=(",", ":"))
    assert classify(event(annotation=text), VERIFIER).origin == "accessctl"
    assert classify(event(annotation="not json"), VERIFIER).origin == "hand"


def test_text_report_shows_event_fields_instead_of_obeying_them() -> None:
    fake = "evil…\nHand-made changes: 0."
    events = [
        event(at="2026-05-01", actor="root@x", action="ip_range.created",
              target={"type": "ip_range", "name": f"{PLAIN}\u202e"},
              annotation=sealed({**NOTE, "source": "acme.yaml:12\x1b[1A\x1b[2K", "pr": "17\r"},
                                "root@x")),
        event(at="2026-05-02", actor="it@x\x1b[8m", action="ip_range.updated\x9b2K",
              ip="10.0.0.9\r", target={"type": "ip_range", "name": fake}, annotation=None,
              before={"name": "Lab", "n\x1bame": 1}, after={"name": "a\u2066\x85", "n\x1bame": 2}),
        event(at="2026-05-03", actor="eve\u202e@x\x07", action="login", ip="10.0.0.1"),
    ]  # fmt: skip
    audit = OrgAudit("acme-eu", "t0", [classify(e, VERIFIER) for e in events])
    lines = render_text([audit])
    assert_shown_safely("\n".join(lines))
    assert lines[2:6] == [
        f"    2026-05-01  ip_range.created       ip_range {PLAIN}\\u202e  (by root@x via "
        "accessctl, commit abcdef123456, PR #17\\r, plan 0123456789ab, "
        "acme.yaml:12\\x1b[1A\\x1b[2K)",
        "  Made by hand, outside accessctl (1):",
        "    2026-05-02  ip_range.updated\\x9b2K ip_range evil…\\nHand-made changes: 0.  "
        '(by it@x\\x1b[8m from 10.0.0.9\\r)  name: "Lab" → "a\\u2066\\u0085"; n\\x1bame: 1 → 2',
        "  Logins: 1 (eve\\u202e@x\\x07)",
    ]
    assert lines[-1] == (
        "Hand-made changes: 1. Review them, then put them in the config or revert them."
    )
    assert audit.as_dict()["by_hand"][0]["target"] == f"ip_range {fake}"  # JSON shows the data


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(seed(users=[{"email": "bob@acme.example", "role": "User"}]))


CONFIG = """\
    ip_ranges:
      - {name: Lab, cidr: 127.0.0.0/8}
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: bob@acme.example, role: Read Only, stores: []}
    """


@pytest.mark.e2e
@pytest.mark.parametrize("output_format", ["text", "json"])
def test_audit_separates_hand_made_changes(
    emu: EmulatorProcess, tmp_path: Path, output_format: str
) -> None:
    config = write_config(tmp_path, CONFIG)
    assert accessctl(emu, "audit", str(config), "--detailed-exitcode").exit_code == 0
    headers = {"Authorization": f"Bearer {HAND_TOKEN}"}
    lab = {"name": "Lab", "cidr": "127.0.0.0/16"}
    answer = requests.post(f"{emu.base_url}/ip-ranges", json=lab, headers=headers, timeout=10)
    assert answer.status_code == 201
    assert accessctl(emu, "apply", str(config), "--yes").exit_code == 0

    result = accessctl(emu, "audit", str(config), "--since", "1h", "--detailed-exitcode",
                       "--format", output_format)  # fmt: skip
    assert result.exit_code == 2, result.output
    if output_format == "json":
        (org,) = json.loads(result.output)["organizations"]
        assert [e["target"] for e in org["by_hand"]] == ["ip_range Lab"]
        ours = {e["target"]: e for e in org["by_accessctl"]}
        assert set(ours) == {"user bob@acme.example", "ip_range Lab"}  # Lab widened to its /8
        line = line_of(config, "bob@")
        assert ours["user bob@acme.example"]["annotation"]["source"] == f"{config}:{line}"
        assert {e["actor"] for e in org["logins"]} == {"root@acme.example", "hand@acme.example"}
    else:
        assert "Made by accessctl (2):" in result.output
        assert "Made by hand, outside accessctl (1):" in result.output
        assert "ip_range Lab  (by hand@acme.example from 127.0.0.1)" in result.output
        assert "Logins: 2 (hand@acme.example, root@acme.example)" in result.output
        assert "Hand-made changes: 1." in result.output


@pytest.mark.parametrize(
    ("at", "moment"),
    [
        ("2026-05-01t10:00:00z", "2026-05-01T10:00:00+00:00"),
        ("2026-05-01T10:00:00.123456789Z", "2026-05-01T10:00:00.123456+00:00"),
        ("2026-05-01 12:00:00+02:00", "2026-05-01T12:00:00+02:00"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00+00:00"),
        ("2016-12-31t23:59:60.5z", "2017-01-01T00:00:00.500000+00:00"),
        ("2016-12-31T23:59:60", "2017-01-01T00:00:00+00:00"),
    ],
)
def test_an_event_time_is_read_as_rfc_3339_writes_it(at: str, moment: str) -> None:
    # RFC 3339 allows a lower-case `t` and `z` and a leap second: a correct server's event was
    # refused, and with it the whole audit log (`audit`, `review` and a plan's range_impact).
    read = event(at=at)
    assert read.at == at  # shown as the API sent it
    assert read.moment.isoformat() == moment


@pytest.mark.parametrize("at", ["2026-05-01T10:00:61Z", "2026-05-01T10:60:00Z", "60", "later"])
def test_an_event_time_that_is_no_time_is_refused(at: str) -> None:
    with pytest.raises(ValueError, match="Input should be an ISO 8601 time"):
        event(at=at)


@pytest.mark.parametrize(
    ("change", "target", "origin"),
    [
        ("users/bob@x", {"type": "user", "name": "bob@x"}, "accessctl"),
        ("users/Bob@X", {"type": "user", "name": "bob@x"}, "accessctl"),
        ("users/jose\u0301@x", {"type": "user", "name": "jos\u00e9@x"}, "accessctl"),
        ("ip_ranges/HQ", {"type": "ip_range", "name": "Head office"}, "accessctl"),  # renamed
        ("settings/technical_support_access", {"type": "organization", "name": "acme-eu"},
         "accessctl"),
        ("users/alice@x", {"type": "store", "name": "MID1"}, "accessctl"),  # a type not known
        ("users/alice@x", {"type": "user", "name": "mallory@x"}, "hand"),
        ("ip_ranges/HQ", {"type": "user", "name": "mallory@x"}, "hand"),
        ("users/mallory@x", {"type": "organization", "name": "acme-eu"}, "hand"),
        ("settings/technical_support_access", {"type": "ip_range", "name": "Anywhere"}, "hand"),
    ],
)  # fmt: skip
def test_a_sealed_annotation_counts_only_for_the_change_it_was_sent_with(
    change: str, target: dict[str, str], origin: str
) -> None:
    # Before: the seal names the principal, not the object, so accessctl's header for alice's
    # invitation, sent again by hand with the same token on mallory's promotion (outside the
    # window, where the replay check does not see the original), was reported as accessctl's.
    note = sealed(NOTE | {"change": change}, "root@x")
    entry = classify(event(actor="root@x", annotation=note, target=target), VERIFIER)
    assert entry.origin == origin
    if origin == "hand":
        assert entry.claimed == (
            f"its annotation was sealed for the change {change}, not for this "
            f"{target['type']}: a header copied from another change"
        )
