"""The PR-comment plan: summary first, risks highlighted, always under GitHub's limit."""

from __future__ import annotations

import io

from test_plan_builders import ROOT, desired, empty_plan, live_state, live_user, sample_plan

from reconciler.pipeline import plan_org
from reconciler.plan import Plan
from reconciler.render.markdown import GITHUB_LIMIT, render


def _md(plan: Plan, **kw: int) -> str:
    out = io.StringIO()
    render(plan, out, **kw)
    return out.getvalue()


def test_summary_table_comes_first_and_risks_are_highlighted() -> None:
    text = _md(sample_plan())
    lines = text.splitlines()
    assert lines[2].startswith("**Plan: 3 to add, 3 to change, 2 to remove.**")
    assert ":x: **1 safety violation" in lines[2]
    assert lines[6] == "| acme-eu | 3 | 3 | 2 | 1 | 1 |"
    attention = text.split("#### Needs a second look")[1].split("<details>")[0]
    assert "`users/bob@acme.example` grants Admin (acme.yaml:21)" in attention
    assert "`settings/technical_support_access` turns technical support access off" in attention
    assert "`ip_ranges/Old` deletes an allowed IP range" in attention
    assert "**error** `max_removals`" in attention
    assert "<details><summary>acme-eu: 7 changes, 2 findings</summary>" in text
    assert '| `~` | `users/bob@acme.example` | role: "User" → "Admin"<br>stores: + MID2 |' in text


def test_no_changes() -> None:
    text = _md(empty_plan())
    assert "**No changes. Live state matches the configuration.**" in text
    assert "<details>" not in text


def _big_plan(n: int) -> Plan:
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID0000001"])]
        + [live_user(f"user{i:05d}@acme.example", "User") for i in range(n)],
        stores=tuple(f"MID{i:07d}" for i in range(200)),
    )
    users = [{"email": ROOT, "role": "Super Admin", "stores": ["MID0000001"]}]
    users += [
        {"email": f"user{i:05d}@acme.example", "role": "Admin", "stores": "all"} for i in range(n)
    ]
    return Plan(config_digest="d", orgs=[plan_org(desired(users=users), live)])


def test_two_thousand_changes_stay_under_the_limit_and_say_what_changed() -> None:
    plan = _big_plan(2000)
    text = _md(plan)
    assert len(text) < GITHUB_LIMIT
    assert "**Plan: 0 to add, 2000 to change, 0 to remove.**" in text
    assert "| acme-eu | 0 | 2000 | 0 | 0 | 0 |" in text
    assert "- … and 1950 more (see the details below)" in text
    assert "more changes not listed (comment size limit): " in text
    assert "1757 users update (role changes: User → Admin: 1757)." in text
    # every table is closed: the overflow note follows a blank line, never a half row
    before_note = text.split("… and ")[-1]
    assert before_note
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_small_budget_summarises_instead_of_cutting() -> None:
    text = _md(sample_plan(), budget=900)
    assert "more changes not listed" in text
    table_rows = [x for x in text.splitlines() if x.startswith("| `")]
    assert all(r.endswith("|") for r in table_rows)
