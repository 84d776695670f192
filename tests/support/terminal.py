"""Hostile names and values a terminal would act on, and the check that output shows none of
them raw (shared by the terminal-safety, text renderer and audit report tests)."""

from __future__ import annotations

import re
from typing import Any

from support.plan_builders import ROOT, desired, live_range, live_state, live_user, root_decl

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
