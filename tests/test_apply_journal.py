"""The apply journal of a saved plan: a re-run after an interrupted apply resumes where it stopped,
however many times it is interrupted, and still notices changes made by someone else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.plan_builders import ROOT, desired, live_state, live_user, root_decl

from reconciler.annotations import AnnotationContext
from reconciler.apply import JournalWriter, apply_runs, check_saved, journal_path, read_journal
from reconciler.apply.calls import ApplyClient
from reconciler.errors import ApiError, StalePlanError
from reconciler.live import LiveState
from reconciler.pipeline import plan_org
from reconciler.plan import OrgPlan, Plan


class FlakyApi:
    """Invites succeed; deletes fail with a 503 until `deletes_work` is set."""

    def __init__(self) -> None:
        self.deletes_work = False
        self.invited: list[str] = []

    def get(self, path: str) -> Any:
        raise AssertionError(f"unexpected read of {path}")

    def post(self, path: str, body: dict[str, Any], **_: Any) -> Any:
        self.invited.append(body["email"])
        return {"id": "u-new", "etag": "e-new-1", **body}

    def patch(self, path: str, body: dict[str, Any], **_: Any) -> Any:
        raise AssertionError(f"unexpected PATCH {path}")

    def delete(self, path: str, **_: Any) -> Any:
        if not self.deletes_work:
            raise ApiError("DELETE: 503 unavailable", status=503, code="unavailable")
        return None


LIVE = live_state([live_user(ROOT, "Super Admin"), live_user("leaver@acme.example")])
# After the first run: the invite landed, the removal did not.
LIVE_AFTER_INVITE = LiveState.model_validate(
    {
        **LIVE.model_dump(),
        "users": [
            *(u.model_dump() for u in LIVE.users),
            {**live_user("new@acme.example", id="u-new").model_dump(), "etag": "e-new-1"},
        ],
    }
)


def _plan() -> Plan:
    org = desired(
        users=[root_decl(), {"email": "new@acme.example", "role": "User", "stores": ["MID1"]}],
        policy={"unmanaged_users": "remove", "max_removals": 5},
        api={"url": "http://127.0.0.1:9/api/v1", "token_env": "T"},
    )
    org_plan = plan_org(org, LIVE, api_url="http://127.0.0.1:9/api/v1", token_env="T")
    assert not org_plan.violations
    assert {(c.address, c.action) for c in org_plan.changes} == {
        ("users/new@acme.example", "create"),
        ("users/leaver@acme.example", "delete"),
    }
    return Plan(config_digest="sha256:x", orgs=[org_plan])


def _apply_saved(plan: Plan, saved: Path, live: LiveState, api: FlakyApi) -> bool:
    """What `accessctl apply plan.json` does once the plan is loaded."""
    path = journal_path(saved)
    journal = read_journal(path, plan.plan_id)
    runs = check_saved(plan, lambda org: live, journal)
    writer = JournalWriter(path, plan.plan_id)

    def client_for(org: OrgPlan) -> ApplyClient:
        return api

    try:
        result = apply_runs(
            runs,
            client_for,
            plan_id=plan.plan_id,
            annotations=AnnotationContext(),
            parallelism=2,
            on_event=lambda event: None,
            journal=writer,
        )
    finally:
        writer.close()
    return result.ok


def test_a_plan_interrupted_twice_still_resumes(tmp_path: Path) -> None:
    plan, saved, api = _plan(), tmp_path / "plan.json", FlakyApi()
    assert not _apply_saved(plan, saved, LIVE, api)  # invite applied, removal failed
    assert not _apply_saved(plan, saved, LIVE_AFTER_INVITE, api)  # resumed, removal failed again
    api.deletes_work = True
    assert _apply_saved(plan, saved, LIVE_AFTER_INVITE, api)  # the third run finishes the job
    assert api.invited == ["new@acme.example"]  # once


def test_a_hand_change_after_two_interrupted_runs_is_stale(tmp_path: Path) -> None:
    plan, saved, api = _plan(), tmp_path / "plan.json", FlakyApi()
    assert not _apply_saved(plan, saved, LIVE, api)
    assert not _apply_saved(plan, saved, LIVE_AFTER_INVITE, api)
    by_hand = LIVE_AFTER_INVITE.model_copy(
        update={
            "users": [
                u.model_copy(update={"etag": "e-new-2"}) if u.id == "u-new" else u
                for u in LIVE_AFTER_INVITE.users
            ]
        }
    )
    with pytest.raises(StalePlanError):
        _apply_saved(plan, saved, by_hand, api)
