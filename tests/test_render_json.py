"""The JSON plan round-trips and matches the published schema."""

from __future__ import annotations

import io
import json
from pathlib import Path

from support.plan_builders import sample_plan

from reconciler.plan import Plan, plan_json_schema
from reconciler.render.json import render

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json"


def test_json_is_the_plan_dump() -> None:
    plan = sample_plan()
    out = io.StringIO()
    render(plan, out)
    data = json.loads(out.getvalue())
    assert data["format_version"] == "1"
    assert Plan.model_validate(data) == plan
    change = next(c for c in data["orgs"][0]["changes"] if c["address"] == "users/bob@acme.example")
    assert change["source"] == {"file": "acme.yaml", "line": 21}
    assert change["etag"] == "e-bob"


def test_json_names_undeclared_users_and_why_a_user_is_removed() -> None:
    out = io.StringIO()
    render(sample_plan(), out)
    (finding,) = [
        f
        for f in json.loads(out.getvalue())["orgs"][0]["findings"]
        if f["code"] == "unmanaged_user"
    ]
    assert (finding["severity"], finding["address"]) == ("warning", "users/stray@acme.example")
    out = io.StringIO()
    render(sample_plan(policy={}), out)
    changes = json.loads(out.getvalue())["orgs"][0]["changes"]
    removed = next(c for c in changes if c["address"] == "users/stray@acme.example")
    assert (removed["action"], removed["source"], removed["reason"]) == (
        "delete",
        None,
        "not declared",
    )
    assert all(c["reason"] is None for c in changes if c is not removed)


def test_schema_file_is_fresh() -> None:
    expected = json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA.read_text(encoding="utf-8") == expected, (
        "schemas/plan.schema.json is stale: run "
        "`.venv/bin/python -m reconciler.plan > schemas/plan.schema.json`"
    )
