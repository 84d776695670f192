from __future__ import annotations

import pytest

from reconciler.model import Policy, normalise_email


@pytest.mark.parametrize(
    ("limit", "live", "allowed"),
    [("10%", 5, 1), ("10%", 0, 0), ("10%", 100, 10), ("25%", 10, 3), (3, 1000, 3), ("0%", 50, 0)],
)
def test_removal_limit_counts_or_rounds_a_percentage_up(
    limit: int | str, live: int, allowed: int
) -> None:
    assert Policy(max_removals=limit).removal_limit(live) == allowed


def test_emails_compare_without_case_but_keep_their_letters() -> None:
    assert normalise_email("  Alice@Acme.Example ") == "alice@acme.example"
    assert normalise_email("Straße@Example.de") == "straße@example.de"
