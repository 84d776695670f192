"""The text plan, exactly as a person sees it."""

from __future__ import annotations

import io

import pytest
from support.plan_builders import empty_plan, sample_plan
from support.terminal import PLAIN, SGR, assert_shown_safely, hostile_plan

from reconciler.render import renderer
from reconciler.render.text import RESET, STYLE, render

EXPECTED = """\
Organization acme-eu (as root@acme.example, Super Admin, from 203.0.113.10)

  # settings
    ~ settings/technical_support_access  (acme.yaml:3)
        technical_support_access: true → false

  # allowed IP ranges
    ~ ip_ranges/HQ  (acme.yaml:10)
        name: "Office" → "HQ"
    + ip_ranges/VPN  (acme.yaml:11)
        name: "VPN"
        cidr: "192.0.2.0/28"
    - ip_ranges/Old
        name: "Old"
        cidr: "198.51.100.0/24"

  # users
    ~ users/bob@acme.example  (acme.yaml:21)
        role: "User" → "Admin"
        stores: + MID2
    + users/new@acme.example  (acme.yaml:23)
        type: "internal"
        role: "Read Only"
        stores: ["MID1", "MID2"]
  -/+ users/x@p.example  (acme.yaml:22)  # type cannot change in place: remove, then re-invite
        type: "internal" → "external"
        role: "User" → "External User"
        expires_at: null → "2030-01-01"

  Findings:
    error[max_removals] the plan removes 2 users and ranges; policy.max_removals (10% of 6 live) \
allows 1: check the removals, then re-run with --force, or raise the limit
    warning[unmanaged_user] users/stray@acme.example: stray@acme.example (User) has access but \
is not declared: this is drift; declare it in the YAML, or remove it (policy.unmanaged_users: \
remove, the default)

Plan: 3 to add, 3 to change, 2 to remove. Drift too: 1 live user is not declared (kept by \
policy.unmanaged_users: report): stray@acme.example.
Unsafe plan: 1 safety violation. Nothing will be applied until fixed.
"""


def _text(plan: object, **kw: bool) -> str:
    out = io.StringIO()
    render(plan, out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_exact_text() -> None:
    assert _text(sample_plan()) == EXPECTED


def test_a_removal_of_an_undeclared_user_says_why() -> None:
    """The default policy removes `stray@`: the change names why, in place of a source line."""
    text = _text(sample_plan(policy={}))
    assert (
        "    - users/stray@acme.example  (not declared; policy.unmanaged_users: remove)\n"
        '        type: "internal"\n'
        '        role: "User"\n'
    ) in text
    assert "warning[unmanaged_user]" not in text and "Drift too" not in text
    assert "Plan: 3 to add, 3 to change, 3 to remove.\n" in text


def test_undeclared_users_alone_are_named_as_drift() -> None:
    plan = sample_plan()
    org = plan.orgs[0].model_copy(update={"changes": [], "findings": plan.orgs[0].findings[1:]})
    text = _text(plan.model_copy(update={"orgs": [org]}))
    assert text.endswith(
        "No changes to make, but 1 live user is not declared (kept by policy.unmanaged_users: "
        "report): stray@acme.example.\n"
    )


def test_no_changes() -> None:
    assert _text(empty_plan()) == (
        "Organization acme-eu (as root@acme.example, Super Admin, from 203.0.113.10)\n\n"
        "No changes. Live state matches the configuration.\n"
    )


def test_colour_only_when_asked() -> None:
    assert "\033[" not in _text(sample_plan())
    coloured = _text(sample_plan(), color=True)
    assert "\033[32m    + ip_ranges/VPN" in coloured
    assert "\033[1;31merror[max_removals]" in coloured


def test_renderer_lookup() -> None:
    assert renderer("text") is render


def test_an_unchanged_organization_says_so_when_several_are_planned() -> None:
    changed, unchanged = sample_plan(), empty_plan()
    both = changed.model_copy(update={"orgs": [*changed.orgs, *unchanged.orgs]})
    text = _text(both)
    assert text.count("Organization acme-eu") == 2
    assert "  No changes.\n" in text
    assert "  No changes.\n" not in _text(changed)


@pytest.mark.parametrize("color", [False, True])
def test_live_names_are_shown_not_obeyed(color: bool) -> None:
    text = _text(hostile_plan(), color=color)
    if color:  # the renderer's own colours, and no other escape sequence
        assert set(SGR.findall(text)) <= {*STYLE.values(), RESET}
    else:
        assert "\033" not in text
    shown = SGR.sub("", text)
    assert_shown_safely(shown)
    lines = shown.splitlines()
    assert "    - ip_ranges/Temp\\r\\x1b[2K\\x1b[1A\\x1b[2K" in lines
    assert '        name: "Temp\\r\\u001b[2K\\u001b[1A\\u001b[2K"' in lines
    assert f"    - ip_ranges/{PLAIN}\\u2066" in lines
    link = "X\\x1b]8;;https://evil.example\\x07\\nPlan: 0 to add, 0 to change, 0 to remove."
    assert f"        stores: + MID2; - {link}" in lines
    assert "users/eve\\u202e@acme.example\\x9b2k: eve\\u202e@acme.example\\x9b2K (User)" in shown
    assert lines[0].endswith("(as root@acme.example, Super Admin\\x1b[1A, from 203.0.113.10)")
    assert [line for line in lines if line.startswith("Plan:")] == [
        "Plan: 1 to add, 1 to change, 2 to remove. Drift too: 1 live user is not declared (kept "
        "by policy.unmanaged_users: report): eve\\u202e@acme.example\\x9b2k."
    ]
