"""Names, emails and values from the live API cannot drive the terminal: `visible` escapes their
control and bidi characters, and the dry-run listing shows requests through it. The hostile plan
and the check are shared with the text renderer's and the audit report's tests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

from reconciler.annotations import AnnotationContext
from reconciler.apply.dryrun import RecordedRequest
from reconciler.apply.run import OrgRun, dry_run
from reconciler.render.terminal import visible

# What a terminal acts on instead of showing: C0 (but the line feed a renderer ends lines with),
# DEL, C1, and the bidi embeddings, overrides and isolates.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SGR = re.compile("\x1b\\[[0-9;]*m")

ERASE = "Temp\r\x1b[2K\x1b[1A\x1b[2K"  # a range that erases the line above it
FAKE_LINE = "\nPlan: 0 to add, 0 to change, 0 to remove."
STORE = "X\x1b]8;;https://evil.example\x07" + FAKE_LINE  # a hyperlink, then a fake summary
STRAY = "eve\u202e@acme.example\x9b2K"  # right-to-left override, then C1 CSI
PLAIN = "Café ø 🚀 東京"  # ordinary non-ASCII text stays as it is


def assert_shown_safely(text: str) -> None:
    """No character a terminal would act on, but the line feeds between lines."""
    assert RAW.search(text) is None, repr(text)


def hostile_plan() -> Any:
    """Live ranges and a user named to erase lines, fake a line, link and reorder text."""
    from reconciler.pipeline import plan_org
    from reconciler.plan import Plan

    live = live_state(
        [
            live_user(ROOT, "Super Admin"),
            live_user("bob@acme.example", "User", ["MID1", STORE]),
            live_user(STRAY),
        ],
        [live_range(ERASE, "198.51.100.0/24"), live_range(PLAIN + "\u2066", "192.0.2.0/24")],
        me_role="Super Admin\x1b[1A",
    )
    org = desired(
        users=[root_decl(), {"email": "bob@acme.example", "role": "User", "stores": "all"}],
        ip_ranges=[{"name": "HQ", "cidr": "203.0.113.0/24"}],
        policy={"max_removals": 10, "unmanaged_users": "report"},  # eve named as drift
    )
    return Plan(
        plan_id="p-evil",
        created_at="2025-01-01T00:00:00+00:00",
        config_digest="sha256:0",
        orgs=[plan_org(org, live, api_url="http://127.0.0.1:1/api/v1", token_env="ACME_TOKEN")],
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\r\n\t", "\\r\\n\\t"),
        ("\x00\x1b[2K\x1f", "\\x00\\x1b[2K\\x1f"),
        ("\x7f\x80\x9b\x9f", "\\x7f\\x80\\x9b\\x9f"),
        ("a\u202ab\u202ec\u2066d\u2069", "a\\u202ab\\u202ec\\u2066d\\u2069"),
        (PLAIN + " \u00a0\u200d\u2028", PLAIN + " \u00a0\u200d\u2028"),
        ("C:\\temp\\x1b", "C:\\temp\\x1b"),
        ("a\u200bb\ufeffc\u200fd\u00ade", "a\\u200bb\\ufeffc\\u200fd\\xade"),
    ],
)  # fmt: skip
def test_visible_escapes_control_and_bidi_characters_only(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible(visible(raw)) == shown


def test_visible_leaves_no_character_a_terminal_acts_on() -> None:
    every = "".join(chr(c) for c in range(0x2100))
    assert_shown_safely(visible(every))


def test_dry_run_listing_shows_live_ids_etags_and_names_escaped() -> None:
    (org,) = hostile_plan().orgs
    requests = dry_run([OrgRun(org)], plan_id="p-evil", annotations=AnnotationContext())
    text = "\n\n".join(r.render("http://127.0.0.1:1/api/v1") for r in requests)
    assert_shown_safely(text)
    assert "DELETE http://127.0.0.1:1/api/v1/ip-ranges/r-Temp\\r\\x1b[2K\\x1b[1A\\x1b[2K\n" in text
    assert "If-Match: e-Temp\\r\\x1b[2K\\x1b[1A\\x1b[2K\n" in text
    assert f"DELETE http://127.0.0.1:1/api/v1/ip-ranges/r-{PLAIN}\\u2066\n" in text
    assert not any(line.startswith("Plan: 0") for line in text.splitlines())


def test_dry_run_body_shows_what_json_leaves_raw() -> None:
    body = {"name": "HQ\u202e\x7f\x85", "cidr": "203.0.113.0/24", "note": PLAIN}
    request = RecordedRequest("acme-eu", "POST", "/ip-ranges", {"If-Match": "e\r1"}, body)
    assert request.render() == (
        "POST /ip-ranges\n"
        "If-Match: e\\r1\n"
        "\n"
        f'{{"name":"HQ\\u202e\\x7f\\x85","cidr":"203.0.113.0/24","note":"{PLAIN}"}}'
    )
    assert request.as_dict()["body"] == body  # the JSON listing is not escaped twice


def test_validate_text_output_shows_control_characters_from_the_yaml() -> None:
    import io

    from reconciler.config import Diagnostic, render_text

    out = io.StringIO()
    diag = Diagnostic(
        "a\x1b.yaml", 3, 7, "error", "unknown_role", "unknown role `A\x1b[2K\nB`", "\r"
    )
    render_text([diag], out)
    assert out.getvalue() == (
        "a\\x1b.yaml:3:7: error[unknown_role]: unknown role `A\\x1b[2K\\nB`\n"
        "    hint: \\r\n"
        "1 error, 0 warnings\n"
    )
