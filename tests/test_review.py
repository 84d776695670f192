"""`accessctl review` on the emulator with seeded login history: each finding exactly for the
users that earn it, the newest login's time and IP, and the JSON, CSV and markdown shapes."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from support.apply import HAND_TOKEN, TOKEN, TOKEN_ENV, accessctl, line_of
from support.emulators import EmulatorPool
from support.logins import acme_with_logins, live_org

from reconciler.emulator.testing import EmulatorProcess
from reconciler.live import AuditEvent, LiveState
from reconciler.render.review import BUDGET, CSV_COLUMNS, render_markdown
from reconciler.review import OrgReview, build

TODAY = "2026-06-01"  # the window of 90 days starts on 2026-03-03

SEED_USERS = [
    {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
    {"email": "hand@acme.example", "role": "Admin", "stores": "all"},
    {"email": "boss@acme.example", "role": "Super Admin", "stores": "all"},
    {"email": "old@acme.example", "role": "User", "stores": ["MID1"]},
    {"email": "away@acme.example", "role": "User", "stores": ["MID2"]},
    {"email": "pending@acme.example", "role": "Read Only", "stores": [], "status": "invited"},
    {"email": "contractor@acme.example", "type": "external", "expires_at": "2026-06-10",
     "stores": ["MID1"]},
    {"email": "later@acme.example", "type": "external", "expires_at": "2026-07-30",
     "stores": ["MID1"]},
    {"email": "stray@acme.example", "role": "User", "stores": []},
]  # fmt: skip
LOGINS = [  # deliberately not in time order: the newest wins, not the last written
    {"email": "hand@acme.example", "ip": "10.0.0.5", "at": "2026-05-20T08:00:00Z"},
    {"email": "hand@acme.example", "ip": "10.0.0.9", "at": "2026-04-01T08:00:00Z"},
    {"email": "boss@acme.example", "ip": "10.0.0.7", "at": "2026-05-30T09:15:00Z"},
    {"email": "old@acme.example", "ip": "10.0.0.6", "at": "2026-01-10T12:00:00Z"},
    {"email": "away@acme.example", "ip": "198.51.100.4", "at": "2026-05-25T07:30:00Z"},
    {"email": "away@acme.example", "ip": "10.0.0.4", "at": "2026-05-01T07:30:00Z"},
    {"email": "contractor@acme.example", "ip": "10.0.0.8", "at": "2026-05-28T10:00:00Z"},
    {"email": "later@acme.example", "ip": "10.0.0.10", "at": "2026-05-27T10:00:00Z"},
    {"email": "stray@acme.example", "ip": "10.0.0.3", "at": "2026-05-29T10:00:00Z"},
]
EXPECTED = {
    "root@acme.example": ["super_admins"],
    "hand@acme.example": [],
    "boss@acme.example": ["super_admins"],
    "old@acme.example": ["inactive"],
    "away@acme.example": ["login_outside_ranges"],
    "pending@acme.example": ["never_logged_in"],
    "contractor@acme.example": ["expiring"],
    "later@acme.example": [],
    "stray@acme.example": ["undeclared"],
}
CONFIG = f"""\
    organization: acme
    api: {{url: http://127.0.0.1:1/api/v1, token_env: {TOKEN_ENV}}}
    policy: {{max_super_admins: 1}}
    stores: {{MID1: Web, MID2: POS}}
    ip_ranges:
      - {{name: Office, cidr: 10.0.0.0/24}}
      - {{name: Loopback, cidr: 127.0.0.0/8}}
    users:
      - {{email: root@acme.example, role: Super Admin, stores: all}}
      - {{email: hand@acme.example, role: Admin, stores: all}}
      - {{email: boss@acme.example, role: Super Admin, stores: all}}
      - {{email: old@acme.example, role: User, stores: [MID1]}}
      - {{email: away@acme.example, role: User, stores: [MID2]}}
      - {{email: pending@acme.example, role: Read Only, stores: []}}
      - {{email: contractor@acme.example, type: external, expires: 2026-06-10, stores: [MID1]}}
      - {{email: later@acme.example, type: external, expires: 2026-07-30, stores: [MID1]}}
    """


def review_seed() -> dict[str, Any]:
    return acme_with_logins(
        stores=[{"id": "MID1", "name": "Web"}, {"id": "MID2", "name": "POS"}],
        ranges=[
            {"name": "Office", "cidr": "10.0.0.0/24"},
            {"name": "Loopback", "cidr": "127.0.0.0/8"},
        ],
        users=SEED_USERS,
        tokens=[
            {"token": TOKEN, "email": "root@acme.example"},
            {"token": HAND_TOKEN, "email": "hand@acme.example"},
        ],
        logins=LOGINS,
    )


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(review_seed())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_review_config(tmp_path, CONFIG)


def write_review_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def review_json(emu: EmulatorProcess, config: Path, *extra: str) -> dict[str, Any]:
    result = accessctl(emu, "review", str(config), "--today", TODAY, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_each_finding_exactly_for_the_users_that_earn_it(
    emu: EmulatorProcess, config: Path
) -> None:
    data = review_json(emu, config)
    (org,) = data["organizations"]
    assert {u["email"]: u["findings"] for u in org["users"]} == EXPECTED


def test_json_shape_and_the_newest_login(emu: EmulatorProcess, config: Path) -> None:
    data = review_json(emu, config)
    assert list(data) == ["organizations"]
    (org,) = data["organizations"]
    assert list(org) == ["organization", "reviewed_at", "window_days", "users"]
    assert (org["organization"], org["reviewed_at"], org["window_days"]) == ("acme", TODAY, 90)
    users = {u["email"]: u for u in org["users"]}
    hand = users["hand@acme.example"]
    assert list(hand) == ["email", "role", "type", "stores", "status", "expires", "declared",
                          "source", "last_login", "last_login_ip", "findings"]  # fmt: skip
    assert (hand["last_login"], hand["last_login_ip"]) == (
        "2026-05-20T08:00:00.000000Z",
        "10.0.0.5",
    )
    away = users["away@acme.example"]
    assert (away["last_login"], away["last_login_ip"]) == ("2026-05-25T07:30:00.000000Z",
                                                          "198.51.100.4")  # fmt: skip
    assert users["old@acme.example"]["last_login"] is None  # before the window
    assert hand["source"] == f"{config}:{line_of(config, 'hand@acme.example')}"
    assert hand["declared"] is True and hand["stores"] == ["MID1", "MID2"]
    stray = users["stray@acme.example"]
    assert (stray["declared"], stray["source"]) == (False, None)
    contractor = users["contractor@acme.example"]
    assert (contractor["type"], contractor["role"], contractor["expires"]) == (
        "external", "External User", "2026-06-10")  # fmt: skip
    assert users["pending@acme.example"]["status"] == "invited"


def test_a_login_recorded_now_becomes_the_last_login(emu: EmulatorProcess, config: Path) -> None:
    emu.record_login("acme", "OLD@acme.example", "10.0.0.66")
    try:
        # recorded at the real time, after the window's start: the newest login of old@
        result = accessctl(emu, "review", str(config), "--today", TODAY, "--format", "json")
        assert result.exit_code == 0, result.output
        users = {u["email"]: u for u in json.loads(result.stdout)["organizations"][0]["users"]}
        assert users["old@acme.example"]["last_login_ip"] == "10.0.0.66"
        assert "inactive" not in users["old@acme.example"]["findings"]
    finally:
        emu.reset()


def test_inactive_days_option_and_policy(emu: EmulatorProcess, tmp_path: Path) -> None:
    # hand's last login (2026-05-20) is 12 days old on 2026-06-01; later's is 5 days old.
    body = CONFIG.replace("{max_super_admins: 1}", "{inactive_days: 10}")
    config = write_review_config(tmp_path, body)
    data = review_json(emu, config)
    found = {u["email"]: u["findings"] for u in data["organizations"][0]["users"]}
    assert found["hand@acme.example"] == ["inactive"]
    assert "inactive" not in found["later@acme.example"]
    assert "super_admins" not in found["root@acme.example"]  # no max_super_admins: no finding
    data = review_json(emu, config, "--inactive-days", "3")
    assert data["organizations"][0]["window_days"] == 3
    found = {u["email"]: u["findings"] for u in data["organizations"][0]["users"]}
    assert found["later@acme.example"] == ["inactive"]


def test_csv_has_stable_columns_one_row_per_user(emu: EmulatorProcess, config: Path) -> None:
    result = accessctl(emu, "review", str(config), "--today", TODAY, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = {r[1]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert len(rows) == 1 + len(SEED_USERS) and set(body) == set(EXPECTED)
    away = body["away@acme.example"]
    assert (away["last_login_ip"], away["findings"], away["declared"]) == (
        "198.51.100.4", "login_outside_ranges", "yes")  # fmt: skip
    assert body["stray@acme.example"]["declared"] == "no"
    assert body["hand@acme.example"]["stores"] == "MID1 MID2"


def test_markdown_summary_and_flagged_first(emu: EmulatorProcess, config: Path) -> None:
    result = accessctl(emu, "review", str(config), "--today", TODAY, "--format", "markdown")
    text = result.stdout
    assert "| `inactive` | 1 |" in text and "| `super_admins` | 2 |" in text
    assert "| `never_logged_in` | 1 |" in text and "**7 flagged.**" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "@" in line]
    flagged = [r for r in rows if r.removesuffix("|").split(" | ")[-1].strip()]
    assert rows[: len(flagged)] == flagged and len(flagged) == 7
    assert rows[-1].split("|")[1].strip() in ("hand@acme.example", "later@acme.example")


def test_text_and_detailed_exitcode(emu: EmulatorProcess, config: Path, tmp_path: Path) -> None:
    result = accessctl(emu, "review", str(config), "--today", TODAY, "--detailed-exitcode")
    assert result.exit_code == 2
    assert "9 users, 7 flagged" in result.stdout
    assert "old@acme.example (User, active; no login in the window): inactive" in result.stdout
    out = tmp_path / "review.csv"
    result = accessctl(emu, "review", str(config), "--today", TODAY, "--format", "csv",
                       "-o", str(out))  # fmt: skip
    assert result.exit_code == 0 and out.read_text().startswith("organization,email,")


def test_review_reads_list_pages_and_one_audit_query(emu: EmulatorProcess, config: Path) -> None:
    emu.reset_request_counts()
    review_json(emu, config)
    counts = emu.request_counts()
    audit = {k: v for k, v in counts.items() if "audit" in k}
    assert sum(audit.values()) == 1, counts
    assert not any("/users/" in k for k in counts), counts


def live_with(n_users: int) -> LiveState:
    return live_org("big", [f"user{i:05d}@big.example" for i in range(n_users)])


def review_of(tmp_path: Path, live: LiveState, events: list[dict[str, Any]]) -> OrgReview:
    """The review on 2026-06-01 (90 days) of `live` and its audit `events`, for a YAML that
    declares nobody."""
    from reconciler.config import load

    path = tmp_path / "big.yaml"
    path.write_text("organization: big\n", encoding="utf-8")
    desired = load([str(path)], today=date(2026, 6, 1)).orgs[0]
    since = datetime.fromisoformat("2026-03-03T00:00:00+00:00")
    read = [AuditEvent.model_validate(event) for event in events]  # as `fetch_events` reads them
    return build(desired, live, read, today=date(2026, 6, 1), since=since, days=90)


def test_markdown_of_a_big_organization_fits_an_issue_body(tmp_path: Path) -> None:
    review = review_of(tmp_path, live_with(5000), [])
    stream = io.StringIO()
    render_markdown([review], stream)
    text = stream.getvalue()
    assert len(text) < 65_536 and len(text) <= BUDGET
    assert "| `inactive` | 5000 |" in text
    assert "more users are not listed here" in text


def test_never_logged_in_shows_the_invitation_age(tmp_path: Path) -> None:
    from reconciler.render.review import render_text

    live = live_with(2)
    invited = live.users[1].model_copy(update={"status": "invited"})
    live = live.model_copy(update={"users": [live.users[0], invited]})
    events = [{"action": "user.invited", "at": "2026-05-01T10:00:00Z", "actor": "root@big.example",
               "ip": "10.0.0.1", "target": {"type": "user", "id": "usr_2",
                                            "name": "user00001@big.example"}}]  # fmt: skip
    review: OrgReview = review_of(tmp_path, live, events)
    assert [u.findings for u in review.users] == [["undeclared", "inactive"],
                                                  ["undeclared", "never_logged_in"]]  # fmt: skip
    stream = io.StringIO()
    render_text([review], stream)
    assert "never_logged_in (invited 31 days ago)" in stream.getvalue()


@pytest.mark.parametrize(
    ("at", "days"),
    [("2026-05-01t10:00:00z", 31), ("2026-05-31T22:00:00-05:00", 0), ("2026-05-31T23:59:60Z", 0)],
)
def test_the_invitation_age_is_counted_in_utc_days(tmp_path: Path, at: str, days: int) -> None:
    # Before: a time RFC 3339 allows (`t`, `z`, a leap second) showed no age, and an offset's
    # local day was counted (22:00 at -05:00 on May 31 is June 1 in UTC: 0 days, not 1).
    live = live_with(1)
    live = live.model_copy(
        update={"users": [live.users[0].model_copy(update={"status": "invited"})]}
    )
    target = {"type": "user", "id": "usr_1", "name": "user00000@big.example"}
    events = [
        {"action": "user.invited", "at": at, "actor": "root@big.example", "ip": "10.0.0.1"}
        | {"target": target}
    ]
    review: OrgReview = review_of(tmp_path, live, events)
    assert [u.invited_days for u in review.users] == [days]


def test_values_from_the_api_are_shown_not_obeyed(tmp_path: Path) -> None:
    from support.terminal import assert_shown_safely

    from reconciler.render.review import render_csv, render_text

    base = live_with(1)
    evil = base.users[0].model_copy(
        update={"email": "=cmd|' /C calc'!A0\x1b[2J@x.example", "role": "User\u202e\r| fake |"}
    )
    live = base.model_copy(update={"users": [evil]})
    # (A login's `ip` is an IP address, or the whole audit answer is refused: see
    # test_hostile_api.py.)
    events = [{"action": "login", "actor": evil.email, "ip": "10.0.0.1",
               "at": "2026-05-30T00:00:00Z",
               "target": {"type": "user", "id": "usr_1", "name": evil.email}}]  # fmt: skip
    review = review_of(tmp_path, live, events)
    text, md, sheet = io.StringIO(), io.StringIO(), io.StringIO()
    render_text([review], text)
    render_markdown([review], md)
    render_csv([review], sheet)
    assert_shown_safely(text.getvalue())
    assert_shown_safely(md.getvalue())
    row = next(line for line in md.getvalue().splitlines() if "calc" in line)
    assert row.count(" | ") == 9  # the role's `|` cannot add a column
    assert list(csv.reader(io.StringIO(sheet.getvalue(), newline="")))[1][1].startswith("'=")
