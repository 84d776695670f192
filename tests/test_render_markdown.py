"""The PR-comment plan: summary first, risks highlighted, always under GitHub's limit."""

from __future__ import annotations

import functools
import io
from typing import Any

import pytest
from support.plan_builders import (
    ROOT,
    desired,
    empty_plan,
    live_state,
    live_user,
    root_decl,
    sample_plan,
)

from reconciler.pipeline import plan_org
from reconciler.plan import Finding, OrgPlan, Plan
from reconciler.render.markdown import GITHUB_LIMIT, render


def _md(plan: Plan, **kw: int) -> str:
    out = io.StringIO()
    render(plan, out, **kw)
    return out.getvalue()


def test_summary_table_comes_first_and_risks_are_highlighted() -> None:
    text = _md(sample_plan())
    lines = text.splitlines()
    assert lines[2].startswith(
        "**Plan: 3 to add, 3 to change, 2 to remove. Drift too: 1 live user is not declared "
        "(kept by policy.unmanaged_users: report): stray@acme.example.**"
    )
    assert ":x: **1 safety violation" in lines[2]
    assert lines[6] == "| acme-eu | 3 | 3 | 2 | 1 | 1 |"
    attention = text.split("#### Needs a second look")[1].split("<details>")[0]
    assert "`users/bob@acme.example` grants Admin (acme.yaml:21)" in attention
    assert "`settings/technical_support_access` turns technical support access off" in attention
    assert "`ip_ranges/Old` deletes an allowed IP range" in attention
    assert "**error** `max_removals`" in attention
    assert "<details><summary>acme-eu: 7 changes, 2 findings</summary>" in text
    assert '| `~` | `users/bob@acme.example` | role: "User" → "Admin"<br>stores: + MID2 |' in text


def test_a_removal_of_an_undeclared_user_says_why() -> None:
    text = _md(sample_plan(policy={}))
    assert (
        '| `-` | `users/stray@acme.example` | type: "internal"<br>role: "User"<br>stores: '
        '["MID1"] | not declared; policy.unmanaged_users: remove |'
    ) in text
    assert "Drift too" not in text


def test_no_changes() -> None:
    text = _md(empty_plan())
    assert "**No changes. Live state matches the configuration.**" in text
    assert "<details>" not in text


def _big_plan(n: int) -> Plan:
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID0000001"])]
        + [live_user(f"user{i:05d}@acme.example", "User", ["MID0000001"]) for i in range(n)],
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
    listed = sum(1 for line in text.splitlines() if line.startswith("| `~` | `users/"))
    assert listed > 200
    rest = 2000 - listed
    assert f"… and {rest} more changes not listed (comment size limit): " in text
    assert f"{rest} users update (role changes: User → Admin: {rest})." in text
    # every table is closed: the overflow note follows a blank line, never a half row
    before_note = text.split("… and ")[-1]
    assert before_note
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_small_budget_summarises_instead_of_cutting() -> None:
    text = _md(sample_plan(), budget=1000)
    assert len(text) <= 1000
    assert "7 changes not listed (comment size limit)" in text
    table_rows = [x for x in text.splitlines() if x.startswith("| `")]
    assert all(r.endswith("|") for r in table_rows)


def _org_plan(name: str, *, unsafe: bool = False) -> OrgPlan:
    """About 120 changes: 60 promotions to Admin and 60 invites; `unsafe` also removes 40 users
    past `policy.max_removals`."""
    live = [live_user(ROOT, "Super Admin", ["MID1"])]
    live += [live_user(f"u{i:03d}@{name}.example") for i in range(60)]
    users = [root_decl()]
    users += [
        {"email": f"u{i:03d}@{name}.example", "role": "Admin", "stores": "all"} for i in range(60)
    ]
    users += [{"email": f"new{i:03d}@{name}.example", "stores": ["MID1"]} for i in range(60)]
    config: dict[str, Any] = {"organization": name, "users": users}
    if unsafe:
        live += [live_user(f"gone{i:03d}@{name}.example") for i in range(40)]
        config["policy"] = {"unmanaged_users": "remove", "max_removals": 5}
    return plan_org(desired(**config), live_state(live, name=name))


@functools.cache
def _many_orgs(n: int, unsafe: int) -> Plan:
    orgs = [_org_plan(f"org-{i:04d}", unsafe=i == unsafe) for i in range(n)]
    return Plan(plan_id="p-many", config_digest="d", orgs=orgs)


def test_many_organizations_keep_the_table_and_the_violations() -> None:
    plan = _many_orgs(45, unsafe=17)
    assert [f.code for f in plan.orgs[17].violations] == ["max_removals"]
    text = _md(plan)
    assert len(text) < GITHUB_LIMIT
    assert "too many to list" not in text
    assert ":x: **1 safety violation: this plan will not be applied.**" in text
    for i, org in enumerate(plan.orgs):
        n = len(org.changes)
        assert f"| org-{i:04d} | 60 | 60 | {40 if i == 17 else 0} | {int(i == 17)} |" in text
        assert f"<details><summary>org-{i:04d}: {n} changes," in text
    attention = text.split("#### Needs a second look")[1].split("<details>")[0]
    assert "- :x: org-0017: **error** `max_removals` the plan removes 40 users" in attention
    # the first organizations are listed change by change, the last ones counted
    assert '| `~` | `users/u000@org-0000.example` | role: "User" → "Admin"' in text
    assert "`users/u000@org-0044.example`" not in text
    last = text.split("<details><summary>org-0044")[1].split("</details>")[0]
    assert "120 changes not listed (comment size limit): 60 users create, 60 users update" in last
    assert "(role changes: User → Admin: 60)" in last
    unsafe = text.split("<details><summary>org-0017")[1].split("</details>")[0]
    assert "40 users delete" in unsafe or "`users/gone000@org-0017.example`" in unsafe
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def _copies(org: OrgPlan, n: int, every: int) -> Plan:
    """`n` organizations like `org`, every `every`-th one with a lockout violation."""
    lockout = Finding(severity="error", code="lockout", message="the ranges leave 203.0.113.10 out")
    orgs = [
        org.model_copy(
            update={
                "organization": f"org-{i:04d}",
                "findings": [*org.findings, *([lockout] if i % every == 0 else [])],
            }
        )
        for i in range(n)
    ]
    return Plan(plan_id="p-copies", config_digest="d", orgs=orgs)


@pytest.mark.parametrize("budget", [1_500, 3_000, 8_000, 20_000, 40_000, 60_000])
def test_any_budget_is_kept_and_tables_are_closed(budget: int) -> None:
    text = _md(_many_orgs(45, unsafe=17), budget=budget)
    assert len(text) <= budget
    assert "max_removals" in text and "org-0017" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_more_organizations_than_details_fit_keep_the_table_and_violations() -> None:
    plan = _copies(_org_plan("base"), 40, every=10)
    text = _md(plan, budget=5_000)
    assert len(text) <= 5_000
    assert "<details>" not in text
    assert "The changes and findings of each organization are not listed" in text
    for i in range(40):
        assert f"| org-{i:04d} | 60 | 60 | 0 | {int(i % 10 == 0)} | 0 |" in text
    for i in (0, 10, 20, 30):
        assert f"- :x: org-{i:04d}: **error** `lockout` the ranges leave 203.0.113.10 out" in text


def test_too_many_organizations_for_a_table_still_name_the_unsafe_ones() -> None:
    plan = _copies(_org_plan("base"), 200, every=5)
    text = _md(plan, budget=1_000)
    assert len(text) <= 1_000
    assert ":x: **40 safety violations: this plan will not be applied.**" in text
    assert "The plan covers 200 organizations, too many to list in a comment" in text
    named = [x for x in text.splitlines() if x.startswith("- :x: ")]
    assert named[:3] == [f"- :x: org-{i:04d}: 1 `lockout`" for i in (0, 5, 10)]
    assert text.endswith(f"- … and {40 - len(named)} more unsafe organizations\n")
