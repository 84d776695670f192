"""GitHub annotations on the YAML lines, and the markdown step summary."""

from __future__ import annotations

import io
from pathlib import Path

from support.plan_builders import (
    ROOT,
    desired,
    live_range,
    live_state,
    live_user,
    root_decl,
    sample_plan,
)

from reconciler.pipeline import plan_org
from reconciler.plan import Plan
from reconciler.render.github import MAX_ANNOTATIONS, annotation, render


def test_annotations_pin_changes_and_findings_to_lines(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    out = io.StringIO()
    render(sample_plan(), out, step_summary=summary)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("::error title=accessctl max_removals::the plan removes 2")
    assert (
        "::warning file=acme.yaml,line=21,title=accessctl plan%3A update::"
        '~ users/bob@acme.example: role: "User" → "Admin"; stores: + MID2 (grants Admin)'
    ) in lines
    assert (
        "::notice file=acme.yaml,line=23,title=accessctl plan%3A create::"
        '+ users/new@acme.example: type: "internal"; role: "Read Only"; stores: ["MID1", "MID2"]'
    ) in lines
    assert lines[-1] == (
        "Plan: 3 to add, 3 to change, 2 to remove. Drift too: 1 live user is not declared (kept "
        "by policy.unmanaged_users: report): stray@acme.example."
    )
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### accessctl plan\n")


def test_undeclared_users_are_annotated_whether_kept_or_removed() -> None:
    out = io.StringIO()
    render(sample_plan(), out)  # report: kept, a warning naming the user
    assert (
        "::warning title=accessctl unmanaged_user::users/stray@acme.example: stray@acme.example "
        "(User) has access but is not declared: this is drift; declare it in the YAML, or remove "
        "it (policy.unmanaged_users: remove, the default)"
    ) in out.getvalue().splitlines()
    out = io.StringIO()
    render(sample_plan(policy={}), out)  # the default: removed, and the annotation says why
    assert (
        "::notice title=accessctl plan%3A delete::- users/stray@acme.example: "
        'type: "internal"; role: "User"; stores: ["MID1"] (not declared; '
        "policy.unmanaged_users: remove)"
    ) in out.getvalue().splitlines()


def test_no_summary_file_when_not_given(tmp_path: Path) -> None:
    out = io.StringIO()
    render(sample_plan(), out)
    assert "### accessctl plan" not in out.getvalue()


def test_escaping() -> None:
    assert annotation("notice", "a%b\nc", None, "t: x,y") == "::notice title=t%3A x%2Cy::a%25b%0Ac"


def _crowded_plan() -> Plan:
    """2,000 invites, 400 Admin grants, 1,000 removals past policy.max_removals (one error) and
    49 range deletions (warnings): more than 200 annotations, most of them notices."""
    live = [live_user(ROOT, "Super Admin")]
    live += [live_user(f"ops{i:04d}@acme.example") for i in range(400)]
    live += [live_user(f"gone{i:04d}@acme.example") for i in range(1000)]
    users = [root_decl()]
    users += [
        {"email": f"ops{i:04d}@acme.example", "role": "Admin", "stores": ["MID1"]}
        for i in range(400)
    ]
    users += [{"email": f"dev{i:04d}@acme.example", "stores": ["MID1"]} for i in range(2000)]
    office = {"name": "Office", "cidr": "203.0.113.0/24"}  # holds the caller's IP
    ranges = [live_range("Office", office["cidr"])]
    ranges += [live_range(f"Old {i:02d}", f"198.51.100.{i}/32") for i in range(49)]
    config = desired(users=users, ip_ranges=[office], policy={"unmanaged_users": "remove"})
    return Plan(config_digest="d", orgs=[plan_org(config, live_state(live, ranges))])


def test_truncated_annotations_keep_the_most_severe_first() -> None:
    out = io.StringIO()
    render(_crowded_plan(), out)
    lines = out.getvalue().splitlines()
    levels = [line.split(" ", 1)[0] for line in lines[:MAX_ANNOTATIONS]]
    assert levels == ["::error"] + ["::warning"] * 199
    assert lines[1].startswith("::warning file=acme.yaml,line=21,title=accessctl plan%3A update::")
    assert '~ users/ops0000@acme.example: role: "User" → "Admin"' in lines[1]
    warned = [line.split("::")[2].split(":")[0] for line in lines[1:MAX_ANNOTATIONS]]
    assert warned == sorted(warned)  # plan order within a severity: users by address
    assert lines[MAX_ANNOTATIONS] == (
        "::notice title=accessctl plan::3250 more annotations not shown: 250 warnings, 3000 notices"
    )
    assert len(lines) == MAX_ANNOTATIONS + 2
    assert lines[-1] == "Plan: 2000 to add, 400 to change, 1049 to remove."


def test_under_the_cap_every_annotation_is_shown_most_severe_first() -> None:
    plan = sample_plan()
    out = io.StringIO()
    render(plan, out)
    lines = out.getvalue().splitlines()
    levels = [line.split(" ", 1)[0] for line in lines[:-1]]
    assert (
        levels == ["::error", "::warning", "::warning", "::warning", "::warning"] + ["::notice"] * 4
    )
    assert len(levels) == len(plan.orgs[0].findings) + len(plan.orgs[0].changes)
    assert "more annotations not shown" not in out.getvalue()
