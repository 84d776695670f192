"""The hand-built states of `support.plan_builders` are what the pipeline expects."""

from __future__ import annotations

from support.plan_builders import ROOT, desired, live_state, root_decl


def test_builders_make_a_consistent_world() -> None:
    live = live_state()
    org = desired(users=[root_decl()])
    assert live.me.email == org.config.users[0].email
    assert org.user_sources[ROOT].line == 20
    assert live_state(plan="standard").ip_ranges is None
