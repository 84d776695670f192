"""The apply session in the core (reconciler/apply/session.py), without the CLI: what it sends, asks
and keeps, told through its callbacks and its outcome. Against the real emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.apply import TODAY, changes_made, env, make_plan, seed, write_config
from support.emulators import EmulatorPool

from reconciler.apply import ApplyEvent, session
from reconciler.apply.session import ApplyInterrupted, ApplyOptions, apply_session
from reconciler.emulator.testing import EmulatorProcess
from reconciler.errors import AccessctlError, ApiError, UnsafePlanError
from reconciler.plan import Plan, save_plan

pytestmark = pytest.mark.e2e

SEED = seed(users=[{"email": "dana@acme.example", "role": "User", "stores": ["MID1"]}])
SAME = """\
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: dana@acme.example, role: User, stores: [MID1]}
    """
# Dana becomes Read Only, erin is invited: two changes.
CHANGED = """\
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: dana@acme.example, role: Read Only, stores: [MID1]}
      - {email: erin@acme.example, role: User, stores: [MID2]}
    """
# The caller (root) left out: removing yourself is unsafe.
UNSAFE = """\
    users:
      - {email: hand@acme.example, role: Admin, stores: all}
      - {email: dana@acme.example, role: User, stores: [MID1]}
    """


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _options(emu: EmulatorProcess, path: Path, **flags: bool) -> ApplyOptions:
    return ApplyOptions([str(path)], env(emu), TODAY, **flags)


def _never(plan: Plan) -> bool:
    raise AssertionError("the session asked for a confirmation it should not need")


def test_declining_the_confirmation_sends_nothing(emu: EmulatorProcess, tmp_path: Path) -> None:
    asked: list[Plan] = []

    def decline(plan: Plan) -> bool:
        asked.append(plan)
        return False

    with pytest.raises(AccessctlError, match=r"Apply cancelled .*; nothing was sent\."):
        apply_session(_options(emu, write_config(tmp_path, CHANGED)), confirm=decline)
    assert [len(plan.orgs[0].changes) for plan in asked] == [2]
    assert changes_made(emu) == []


def test_accepting_the_confirmation_applies_and_reports_each_change(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    todo: list[int] = []
    events: list[ApplyEvent] = []

    def reporter(count: int) -> Callable[[ApplyEvent], None]:
        todo.append(count)
        return events.append

    outcome = apply_session(
        _options(emu, write_config(tmp_path, CHANGED)),
        confirm=lambda plan: True,
        reporter=reporter,
    )
    assert outcome.ok and outcome.requests is None and outcome.journal is None
    assert (outcome.result.count("applied"), outcome.result.count("failed")) == (2, 0)
    assert todo == [2]
    assert sorted(e.status for e in events if e.status != "started") == ["applied", "applied"]
    assert len(changes_made(emu)) == 2


def test_a_dry_run_asks_nothing_and_sends_nothing(emu: EmulatorProcess, tmp_path: Path) -> None:
    emu.reset_request_counts()
    outcome = apply_session(
        _options(emu, write_config(tmp_path, CHANGED), dry=True), confirm=_never
    )
    assert outcome.ok and outcome.requests is not None
    assert sorted(r.method for r in outcome.requests) == ["PATCH", "POST"]
    assert outcome.result.results == []
    assert changes_made(emu) == []
    assert all(key.startswith("GET ") for key in emu.request_counts())


def test_the_plan_is_shown_before_an_unsafe_one_is_refused(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    shown: list[Plan] = []
    with pytest.raises(UnsafePlanError, match="nothing was sent"):
        apply_session(
            _options(emu, write_config(tmp_path, UNSAFE)), confirm=_never, show=shown.append
        )
    assert len(shown) == 1 and shown[0].has_changes
    assert changes_made(emu) == []


def test_a_saved_plan_applied_in_full_removes_its_journal(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    outcome = apply_session(_options(emu, saved), confirm=lambda plan: True)
    assert outcome.ok and outcome.result.count("applied") == 2
    assert outcome.journal == tmp_path / "plan.json.journal"
    assert not outcome.journal.exists()
    assert len(changes_made(emu)) == 2


def test_a_saved_plan_with_nothing_left_to_do_asks_nothing_and_drops_its_journal(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    plan = make_plan(emu, write_config(tmp_path, SAME))
    save_plan(plan, saved)
    journal = tmp_path / "plan.json.journal"  # this plan's, as an interrupted run leaves it
    journal.write_text(json.dumps({"type": "plan", "plan_id": plan.plan_id}) + "\n", "utf-8")
    outcome = apply_session(_options(emu, saved), confirm=_never)
    assert outcome.ok and not outcome.plan.has_changes and outcome.result.results == []
    assert not journal.exists()


def test_a_journal_of_another_plan_is_dropped(emu: EmulatorProcess, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    journal = tmp_path / "plan.json.journal"
    journal.write_text('{"type": "plan", "plan_id": "another"}\n', encoding="utf-8")
    outcome = apply_session(_options(emu, saved, dry=True), confirm=_never)
    assert outcome.requests is not None and len(outcome.requests) == 2
    assert not journal.exists()


def _interrupt(count: int) -> Callable[[ApplyEvent], None]:
    def on_event(event: ApplyEvent) -> None:
        if event.status == "applied":
            raise KeyboardInterrupt

    return on_event


def test_an_interrupted_saved_plan_keeps_its_journal_and_says_how_to_resume(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    options = ApplyOptions([str(saved)], env(emu), TODAY, parallelism=1)
    with pytest.raises(ApplyInterrupted) as raised:
        apply_session(options, confirm=lambda plan: True, reporter=_interrupt)
    journal = tmp_path / "plan.json.journal"
    assert raised.value.message == (
        f"Apply interrupted: progress is kept in {journal}; run `accessctl apply {saved}` "
        "again to resume."
    )
    assert isinstance(raised.value, KeyboardInterrupt)  # the CLI's handler: "Interrupted.", 130
    assert journal.exists()


def test_an_interrupted_apply_of_a_config_says_to_plan_again(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    options = ApplyOptions([str(write_config(tmp_path, CHANGED))], env(emu), TODAY, parallelism=1)
    with pytest.raises(ApplyInterrupted, match=r"run `accessctl plan` on the same paths"):
        apply_session(options, confirm=lambda plan: True, reporter=_interrupt)
    assert not list(tmp_path.glob("*.journal"))


class _RefusingClient:
    """Reads nothing and refuses every write with a 422, as an API would a change it rejects."""

    def get(self, path: str) -> Any:
        raise AssertionError(f"unexpected read of {path}")

    def post(self, path: str, body: dict[str, Any], **_headers: str | None) -> Any:
        raise ApiError(f"POST {path}: 422 invalid", status=422, code="invalid")

    def patch(self, path: str, body: dict[str, Any], **_headers: str | None) -> Any:
        raise ApiError(f"PATCH {path}: 422 invalid", status=422, code="invalid")

    def delete(self, path: str, **_headers: str | None) -> Any:
        raise ApiError(f"DELETE {path}: 422 invalid", status=422, code="invalid")


def test_a_saved_plan_that_fails_keeps_its_journal(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    monkeypatch.setattr(session, "open_plan_client", lambda *args, **kwargs: _RefusingClient())
    outcome = apply_session(_options(emu, saved), confirm=lambda plan: True)
    assert not outcome.ok and outcome.result.count("applied") == 0
    assert outcome.result.count("failed") >= 1
    assert outcome.journal == tmp_path / "plan.json.journal"
    assert outcome.journal.exists()  # a re-run resumes from it


def test_a_second_apply_of_a_saved_plan_is_refused_while_the_first_runs(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """Two applies of one saved plan at once shared its journal: the first to end removed it,
    and the other then said its progress was kept there. The second is refused, sending nothing,
    while the first holds the plan (here: while it asks for confirmation)."""
    saved = tmp_path / "plan.json"
    save_plan(make_plan(emu, write_config(tmp_path, CHANGED)), saved)
    refused: list[str] = []

    def confirm_after_a_second_try(plan: Plan) -> bool:
        with pytest.raises(AccessctlError) as raised:
            apply_session(_options(emu, saved), confirm=lambda plan: True)
        refused.append(raised.value.message)
        assert changes_made(emu) == []
        return True

    outcome = apply_session(_options(emu, saved), confirm=confirm_after_a_second_try)
    assert refused == [
        f"another `accessctl apply {saved}` is running (it holds the saved plan); nothing was sent"
    ]
    assert outcome.ok and outcome.result.count("applied") == 2
    assert len(changes_made(emu)) == 2 and not (tmp_path / "plan.json.journal").exists()


def test_a_file_system_without_locks_does_not_stop_an_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import fcntl

    from reconciler.apply.journal import one_apply_at_a_time

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    saved = tmp_path / "plan.json"
    saved.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    ran = []
    with one_apply_at_a_time(saved):
        ran.append(True)
    assert ran == [True]
