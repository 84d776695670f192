from __future__ import annotations

import pytest

from reconciler.model import Policy


@pytest.mark.parametrize(
    ("limit", "live", "allowed"),
    [("10%", 5, 1), ("10%", 0, 0), ("10%", 100, 10), ("25%", 10, 3), (3, 1000, 3), ("0%", 50, 0)],
)
def test_removal_limit_counts_or_rounds_a_percentage_up(
    limit: int | str, live: int, allowed: int
) -> None:
    assert Policy(max_removals=limit).removal_limit(live) == allowed
