"""Names, emails and values from the live API cannot drive the terminal: `visible` escapes their
control and bidi characters, and the dry-run listing shows requests through it. The hostile plan
and the check live in `support.terminal`."""

from __future__ import annotations

import pytest
from support.terminal import PLAIN, assert_shown_safely, hostile_plan

from reconciler.annotations import AnnotationContext
from reconciler.apply.dryrun import RecordedRequest
from reconciler.apply.runs import OrgRun, dry_run
from reconciler.display import visible


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

    from reconciler.config import config_problem, render_text

    out = io.StringIO()
    diag = config_problem("a\x1b.yaml", 3, 7, "unknown_role", "unknown role `A\x1b[2K\nB`", "\r")
    render_text([diag], out)
    assert out.getvalue() == (
        "a\\x1b.yaml:3:7: error[unknown_role]: unknown role `A\\x1b[2K\\nB`\n"
        "    hint: \\r\n"
        "1 error, 0 warnings\n"
    )
