"""Range changes against the real emulator, whose lockout rule checks every single request: the
caller's IP must stay inside some allowed range at every step of an apply, not only at its end.
With `--parallelism 1` the order within a phase is the plan's (by address), so these tests are
deterministic: an ordering that relies on luck fails every time."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.apply import (
    BASE_USERS,
    TOKEN,
    accessctl,
    changes_made,
    make_plan,
    seed,
    write_config,
)
from support.emulators import EmulatorPool

from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

# The emulator sees the tests' requests from 127.0.0.1.
SEED_NO_RANGES = seed()
SEED_MOVE = seed(
    ranges=[
        {"name": "A loopback", "cidr": "127.0.0.0/8"},
        {"name": "B branch", "cidr": "10.0.0.0/8"},
    ]
)


@pytest.fixture
def empty_emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED_NO_RANGES)


@pytest.fixture
def move_emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED_MOVE)


@pytest.mark.parametrize("parallelism", ["1", "8"])
def test_first_ranges_cover_the_caller_before_any_other_is_created(
    empty_emu: EmulatorProcess, tmp_path: Path, parallelism: str
) -> None:
    """No live ranges: the first range created must hold the caller's IP, or the platform refuses
    it as a lockout. "A branch" sorts before "Z loopback"."""
    config = write_config(
        tmp_path,
        "    ip_ranges:\n"
        "      - {name: A branch, cidr: 10.0.0.0/8}\n"
        "      - {name: Z loopback, cidr: 127.0.0.0/8}\n" + BASE_USERS,
    )
    result = accessctl(empty_emu, "apply", str(config), "--yes", "--parallelism", parallelism)
    assert result.exit_code == 0, result.output
    created = [e["target"]["name"] for e in changes_made(empty_emu)]
    assert created == ["Z loopback", "A branch"]
    assert not make_plan(empty_emu, config).has_changes


@pytest.mark.parametrize("parallelism", ["1", "8"])
def test_a_range_moved_onto_the_caller_lands_before_the_old_one_goes(
    move_emu: EmulatorProcess, tmp_path: Path, parallelism: str
) -> None:
    """ "B branch" moves to a network that holds the caller's IP and "A loopback" (the only range
    holding it now) goes: the move must land first, though both narrow the allowed set."""
    config = write_config(
        tmp_path, "    ip_ranges:\n      - {name: B branch, cidr: 127.0.0.0/16}\n" + BASE_USERS
    )
    result = accessctl(move_emu, "apply", str(config), "--yes", "--parallelism", parallelism)
    assert result.exit_code == 0, result.output
    order = [(e["action"], e["target"]["name"]) for e in changes_made(move_emu)]
    assert order == [("ip_range.updated", "B branch"), ("ip_range.deleted", "A loopback")]
    assert not make_plan(move_emu, config).has_changes


FULL = [{"name": "Loopback", "cidr": "127.0.0.0/8"}] + [
    {"name": f"Branch {n:02d}", "cidr": f"10.0.{n}.0/24"} for n in range(49)
]


@pytest.fixture
def full_emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(seed(ranges=FULL))


@pytest.mark.parametrize("parallelism", ["1", "8"])
def test_swapping_ranges_at_the_limit_never_holds_51(
    full_emu: EmulatorProcess, tmp_path: Path, parallelism: str
) -> None:
    """50 live ranges, the most the platform allows: replacing two of them must not create the
    new ones while the old ones still count (422 limit_exceeded), though the end state has 50."""
    kept = [r for r in FULL if r["name"] not in ("Branch 47", "Branch 48")]
    wanted = [
        *kept,
        {"name": "New A", "cidr": "192.168.0.0/24"},
        {"name": "New B", "cidr": "192.168.1.0/24"},
    ]
    body = "    ip_ranges:\n" + "".join(
        f"      - {{name: {r['name']}, cidr: {r['cidr']}}}\n" for r in wanted
    )
    config = write_config(tmp_path, body + BASE_USERS)
    assert not make_plan(full_emu, config).orgs[0].violations
    result = accessctl(full_emu, "apply", str(config), "--yes", "--parallelism", parallelism)
    assert result.exit_code == 0, result.output
    assert not make_plan(full_emu, config).has_changes


@pytest.mark.parametrize("parallelism", ["1", "8"])
def test_the_callers_old_range_is_released_last(
    move_emu: EmulatorProcess, tmp_path: Path, parallelism: str
) -> None:
    """Both live ranges go and a new one holds the caller: while any other range remains,
    deleting "A loopback" (the caller's) is allowed only once "Z loopback" holds the caller.
    "A loopback" sorts first, so only the phase order keeps it last."""
    config = write_config(
        tmp_path, "    ip_ranges:\n      - {name: Z loopback, cidr: 127.0.0.0/16}\n" + BASE_USERS
    )
    result = accessctl(move_emu, "apply", str(config), "--yes", "--parallelism", parallelism)
    assert result.exit_code == 0, result.output
    order = [(e["action"], e["target"]["name"]) for e in changes_made(move_emu)]
    assert order == [
        ("ip_range.created", "Z loopback"),
        ("ip_range.deleted", "B branch"),
        ("ip_range.deleted", "A loopback"),
    ]
    assert not make_plan(move_emu, config).has_changes


def test_emptying_an_allow_list_that_holds_the_caller_is_refused(
    move_emu: EmulatorProcess, tmp_path: Path
) -> None:
    """`ip_ranges: []` would delete "A loopback", the last range that holds the caller: the
    platform refuses that step (409 lockout), so the plan is refused before any request, even
    with --force, instead of failing at its very end."""
    config = write_config(tmp_path, "    ip_ranges: []\n" + BASE_USERS)
    plan = accessctl(move_emu, "plan", str(config), "--force")
    assert plan.exit_code == 1, plan.output
    assert (
        "error[lockout] ip_ranges/A loopback: this plan deletes every allowed IP range, "
        "including 'A loopback' (127.0.0.0/8), the last one that holds the caller's IP "
        "127.0.0.1" in plan.output
    )
    applied = accessctl(move_emu, "apply", str(config), "--yes", "--force")
    assert applied.exit_code == 1
    assert "the plan is unsafe; nothing was sent" in applied.output
    assert changes_made(move_emu) == []
    # what the platform would have answered at the last step: 409 lockout
    api = move_emu.api(TOKEN)
    ranges = {r["name"]: r["id"] for r in api.get("/ip-ranges").json()["items"]}
    assert api.delete(f"/ip-ranges/{ranges['B branch']}").status_code == 204
    answer = api.delete(f"/ip-ranges/{ranges['A loopback']}")
    assert (answer.status_code, answer.json()["code"]) == (409, "lockout")
    assert [r["name"] for r in api.get("/ip-ranges").json()["items"]] == ["A loopback"]
