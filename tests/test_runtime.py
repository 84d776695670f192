"""The command line sets the garbage collector for a short, allocation-heavy run."""

from __future__ import annotations

import gc

import pytest

import reconciler.cli as cli_module
from reconciler.runtime import COLLECTOR_THRESHOLDS


def test_the_command_line_collects_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(cli_module.cli, "main", lambda **_: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    try:
        cli_module.main()
    finally:
        gc.set_threshold(*before)
    assert seen == [COLLECTOR_THRESHOLDS]
    assert COLLECTOR_THRESHOLDS[0] > before[0]
