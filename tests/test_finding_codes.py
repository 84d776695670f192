"""Plan finding codes are declared in code (`reconciler.finding_codes`), and the README's "Plan
findings" table lists exactly them."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.finding_codes import FINDING_CODES
from reconciler.plan import UNDECLARED

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_plan_codes() -> list[str]:
    section = README.split("Plan findings", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_the_readme_lists_exactly_the_declared_finding_codes() -> None:
    listed = _readme_plan_codes()
    assert len(listed) == len(set(listed)), "a code is listed twice"
    assert sorted(listed) == sorted(FINDING_CODES)


def test_every_code_the_plan_emits_is_declared() -> None:
    emitted = {UNDECLARED}
    source = ROOT / "reconciler"
    paths = [*sorted((source / "safety").glob("*.py"))]
    paths += [source / name for name in ("diff.py", "pipeline.py", "range_impact.py")]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'(?:_finding|add)\(\s*"(\w+)"', text))
        emitted |= set(re.findall(r'code="(\w+)"', text))
    assert emitted == set(FINDING_CODES)
