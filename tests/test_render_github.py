"""GitHub annotations on the YAML lines, and the markdown step summary."""

from __future__ import annotations

import io
from pathlib import Path

from test_plan_builders import sample_plan

from reconciler.render.github import annotation, render


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
    assert lines[-1] == "Plan: 3 to add, 3 to change, 2 to remove."
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### accessctl plan\n")


def test_no_summary_file_when_not_given(tmp_path: Path) -> None:
    out = io.StringIO()
    render(sample_plan(), out)
    assert "### accessctl plan" not in out.getvalue()


def test_escaping() -> None:
    assert annotation("notice", "a%b\nc", None, "t: x,y") == "::notice title=t%3A x%2Cy::a%25b%0Ac"
