"""`range_impact`: a plan that removes or narrows an allowed range names the users whose recent
logins came from addresses no end state range holds, in every format; `policy.range_impact:
refuse` makes the plan unsafe; a plan that takes no address away reads no audit event."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from support.apply import TOKEN, TOKEN_ENV, accessctl
from support.emulators import EmulatorPool
from support.logins import acme_with_logins, live_org

from reconciler.emulator.testing import EmulatorProcess
from reconciler.logins import Login
from reconciler.model import Policy
from reconciler.range_impact import needs_logins, range_impact

TODAY = "2026-06-01"  # the 30-day window starts on 2026-05-02
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
LOGINS = [
    {"email": "alice@acme.example", "ip": "10.0.0.5", "at": "2026-05-30T08:00:00Z"},
    {"email": "bob@acme.example", "ip": "10.0.0.6", "at": "2026-05-31T08:00:00Z"},
    {"email": "bob@acme.example", "ip": "192.0.2.10", "at": "2026-05-20T08:00:00Z"},
    {"email": "carol@acme.example", "ip": "198.51.100.200", "at": "2026-05-25T08:00:00Z"},
    {"email": "dave@acme.example", "ip": "198.51.100.20", "at": "2026-05-25T08:00:00Z"},
    {"email": "erin@acme.example", "ip": "192.0.2.11", "at": "2026-04-20T08:00:00Z"},
    {"email": "frank@acme.example", "ip": "192.0.2.12", "at": "2026-05-29T08:00:00Z"},
]
LIVE_RANGES = [
    {"name": "Loopback", "cidr": "127.0.0.0/8"},
    {"name": "Office", "cidr": "10.0.0.0/24"},
    {"name": "Campus", "cidr": "10.0.0.0/16"},
    {"name": "Branch", "cidr": "192.0.2.0/24"},
    {"name": "Lab", "cidr": "198.51.100.0/24"},
]
AFFECTED = {"bob@acme.example", "carol@acme.example"}


def impact_seed() -> dict[str, Any]:
    return acme_with_logins(
        stores=[{"id": "MID1", "name": "Web"}],
        ranges=LIVE_RANGES,
        users=[
            {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
            *[{"email": f"{u}@acme.example", "role": "User", "stores": []} for u in USERS],
        ],
        tokens=[{"token": TOKEN, "email": "root@acme.example"}],
        logins=LOGINS,
    )


def config(tmp_path: Path, ranges: str, policy: str = "") -> Path:
    users = "\n".join(
        f"  - {{email: {u}@acme.example, role: User, stores: []}}" for u in USERS if u != "frank"
    )
    body = textwrap.dedent(f"""\
        organization: acme
        api: {{url: http://127.0.0.1:1/api/v1, token_env: {TOKEN_ENV}}}
        policy: {{unmanaged_users: remove, max_removals: 100%{policy}}}
        stores: {{MID1: Web}}
        ip_ranges:
        """) + textwrap.indent(textwrap.dedent(ranges), "  ")
    body += "users:\n  - {email: root@acme.example, role: Super Admin, stores: all}\n" + users
    path = tmp_path / "acme.yaml"
    path.write_text(body + "\n", encoding="utf-8")
    return path


# Office goes, but Campus still holds its addresses; Branch goes; Lab narrows to its lower half.
CUT = """\
    - {name: Loopback, cidr: 127.0.0.0/8}
    - {name: Campus, cidr: 10.0.0.0/16}
    - {name: Lab, cidr: 198.51.100.0/25}
    """
SAME = "\n".join(f"- {{name: {r['name']}, cidr: {r['cidr']}}}" for r in LIVE_RANGES) + "\n"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(impact_seed())


def named(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+@acme\.example", text))


def plan(emu: EmulatorProcess, path: Path, fmt: str) -> Any:
    return accessctl(emu, "plan", str(path), "--today", TODAY, "--format", fmt)


def test_json_names_exactly_the_users_cut_off(emu: EmulatorProcess, tmp_path: Path) -> None:
    result = plan(emu, config(tmp_path, CUT), "json")
    assert result.exit_code == 0, result.output
    (org,) = json.loads(result.stdout)["orgs"]
    found = [f for f in org["findings"] if f["code"] == "range_impact"]
    assert all(f["severity"] == "warning" for f in found)
    assert [named(f["message"]) for f in found] == [{"bob@acme.example"}, {"carol@acme.example"}]
    bob, carol = (f["message"] for f in found)
    assert "192.0.2.10 (last 2026-05-20T08:00:00.000000Z)" in bob and "10.0.0.6" not in bob
    assert "198.51.100.200" in carol and "token expires" in carol
    assert [f["address"] for f in found] == ["ip_ranges/Branch", "ip_ranges/Lab"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "github"])
def test_every_format_shows_them(emu: EmulatorProcess, tmp_path: Path, fmt: str) -> None:
    result = plan(emu, config(tmp_path, CUT), fmt)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "range_impact" in line]
    assert named("\n".join(lines)) == AFFECTED, result.stdout


def test_refuse_makes_the_plan_unsafe(emu: EmulatorProcess, tmp_path: Path) -> None:
    path = config(tmp_path, CUT, ", range_impact: refuse")
    result = plan(emu, path, "json")
    assert result.exit_code == 1
    (org,) = json.loads(result.stdout)["orgs"]
    found = [f for f in org["findings"] if f["code"] == "range_impact"]
    assert {f["severity"] for f in found} == {"error"} and len(found) == 2


def test_login_window_days_from_policy(emu: EmulatorProcess, tmp_path: Path) -> None:
    path = config(tmp_path, CUT, ", login_window_days: 60")  # erin's login of 2026-04-20 counts
    result = plan(emu, path, "json")
    (org,) = json.loads(result.stdout)["orgs"]
    found = [f for f in org["findings"] if f["code"] == "range_impact"]
    assert set().union(*(named(f["message"]) for f in found)) == {*AFFECTED, "erin@acme.example"}


@pytest.mark.parametrize(
    "ranges",
    [SAME, SAME + "- {name: New, cidr: 203.0.113.0/24}\n",
     SAME.replace("Office, cidr: 10.0.0.0/24", "Office, cidr: 10.0.0.0/23")],
    ids=["unchanged", "added", "widened"],
)  # fmt: skip
def test_no_address_taken_away_no_audit_read(
    emu: EmulatorProcess, tmp_path: Path, ranges: str
) -> None:
    emu.reset_request_counts()
    result = plan(emu, config(tmp_path, ranges), "json")
    assert result.exit_code == 0, result.output
    assert not any("audit" in k for k in emu.request_counts()), emu.request_counts()
    emu.reset_request_counts()
    plan(emu, config(tmp_path, CUT), "json")
    audit = {k: v for k, v in emu.request_counts().items() if "audit" in k}
    assert sum(audit.values()) == 1, audit


def test_a_first_range_cuts_off_everyone_outside_it() -> None:
    from reconciler.plan import Change

    state = live_org("x", ["a@x.example", "b@x.example"], cidrs=[])
    create = Change(kind="ip_ranges", action="create", address="ip_ranges/Office",
                    after={"name": "Office", "cidr": "10.0.0.0/24"})  # fmt: skip
    assert needs_logins(state, [create])
    logins = [Login("a@x.example", "10.0.0.1", "2026-05-01T00:00:00Z"),
              Login("b@x.example", "203.0.113.9", "2026-05-01T00:00:00Z")]  # fmt: skip
    found = range_impact(state, [create], logins, Policy())
    assert [named_x(f.message) for f in found] == [{"b@x.example"}]


def test_the_newest_login_is_named_first_whatever_its_zone() -> None:
    from reconciler.plan import Change

    state = live_org("x", ["a@x.example"], cidrs=["10.0.0.0/24", "10.0.1.0/24", "127.0.0.0/8"])
    deletes = [
        Change(kind="ip_ranges", action="delete", address=f"ip_ranges/R{i}", id=f"r{i}",
               before={"name": f"R{i}", "cidr": f"10.0.{i}.0/24"})
        for i in (0, 1)
    ]  # fmt: skip
    # 01:00 at +02:00 is 23:00 UTC the day before: older than 23:30 UTC, though its text sorts
    # after it. Before: named first, and its range's change blamed.
    logins = [Login("a@x.example", "10.0.0.1", "2026-05-02T01:00:00+02:00"),
              Login("a@x.example", "10.0.1.1", "2026-05-01T23:30:00Z")]  # fmt: skip
    [found] = range_impact(state, deletes, logins, Policy())
    assert found.address == "ip_ranges/R1"
    assert "from 10.0.1.1 (last 2026-05-01T23:30:00Z), 10.0.0.1 (last " in found.message


def named_x(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+@x\.example", text))


def test_coverage_of_ranges() -> None:
    from reconciler.coverage import Coverage

    ranges = Coverage(["10.0.0.0/24", "2001:db8::/48", "192.0.2.7/32"])
    assert ranges.holds("10.0.0.255") and not ranges.holds("10.0.1.0")
    assert ranges.holds("::ffff:10.0.0.3")  # an IPv4-mapped caller is its IPv4 address
    assert ranges.holds("2001:db8:0:ffff::1") and not ranges.holds("2001:db9::1")
    assert ranges.holds("192.0.2.7") and not ranges.holds("192.0.2.8")
    assert not ranges.holds("not-an-ip")
    assert Coverage([]).holds("203.0.113.1")  # no ranges: every address is allowed
