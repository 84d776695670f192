"""Fetching live state: the fewest requests, fail-closed, and readable errors for bad answers.

Recorded pages of one organization live in `tests/fixtures/api/acme-eu/`.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from reconciler.api import AccessApiClient, fetch_live_state, fetch_many
from reconciler.errors import ApiError

BASE = "http://api.test/api/v1"
TOKEN = "tok_fetch_SECRET_1234"
FIXTURES = Path(__file__).parent / "fixtures" / "api" / "acme-eu"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def make_client(base: str = BASE) -> AccessApiClient:
    return AccessApiClient(base, TOKEN, sleep=lambda _s: None, max_retries=2, rng=random.Random(3))


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def page(
    rsps: responses.RequestsMock,
    path: str,
    body: dict[str, Any],
    cursor: str | None = None,
    *,
    base: str = BASE,
    status: int = 200,
) -> None:
    params = {"limit": "200"} if cursor is None else {"limit": "200", "cursor": cursor}
    rsps.get(base + path, json=body, status=status, match=[matchers.query_param_matcher(params)])


def serve_org(
    rsps: responses.RequestsMock,
    *,
    plan: str = "ultimate",
    base: str = BASE,
    ranges: bool = True,
) -> None:
    organization = recorded("organization") | {"plan": plan}
    rsps.get(base + "/me", json=recorded("me"))
    rsps.get(base + "/organization", json=organization)
    page(rsps, "/stores", recorded("stores"), base=base)
    users_1 = recorded("users-1")
    page(rsps, "/users", users_1, base=base)
    page(rsps, "/users", recorded("users-2"), users_1["next_cursor"], base=base)
    if ranges:
        page(rsps, "/ip-ranges", recorded("ip-ranges"), base=base)


@pytest.mark.parametrize("concurrent", [True, False])
def test_fetch_reads_everything_in_pages_plus_two_requests(
    rsps: responses.RequestsMock, concurrent: bool
) -> None:
    serve_org(rsps)
    client = make_client()
    live = fetch_live_state(client, concurrent=concurrent)

    pages = 1 + 2 + 1  # stores, users, ip-ranges
    assert client.request_count == pages + 2
    assert live.me.email == "owner@acme.example"
    assert live.organization.name == "acme-eu"
    assert live.organization.plan == "ultimate"
    assert [s.id for s in live.stores] == ["MID1234567", "MID7654321"]
    assert [u.id for u in live.users] == ["usr_1", "usr_2", "usr_3", "usr_4"]
    auditor = live.users[2]
    assert (auditor.type, auditor.expires_at, auditor.status) == (
        "external",
        date(2027, 3, 31),
        "invited",
    )
    assert live.ip_ranges is not None
    assert [(r.name, r.cidr, r.etag) for r in live.ip_ranges] == [
        ("Stockholm office", "203.0.113.0/24", '"r1-1"')
    ]
    # The list answer's caller_ip wins over /me's `ip`.
    assert live.caller_ip == "203.0.113.40"
    paths = [c.request.path_url.split("?")[0] for c in rsps.calls]
    assert paths.count("/api/v1/me") == paths.count("/api/v1/organization") == 1


def test_standard_plan_skips_ip_ranges(rsps: responses.RequestsMock) -> None:
    serve_org(rsps, plan="standard", ranges=False)
    client = make_client()
    live = fetch_live_state(client)
    assert live.ip_ranges is None
    assert live.caller_ip == "198.51.100.7"  # from /me
    assert client.request_count == 3 + 2


def test_plan_required_from_ip_ranges_of_an_ultimate_organization_is_refused(
    rsps: responses.RequestsMock,
) -> None:
    # Before: read as "no ranges" although /organization says ultimate, so `review` found no
    # login outside the organization's ranges and the plan checked no lockout.
    serve_org(rsps, ranges=False)
    rsps.get(
        BASE + "/ip-ranges",
        status=403,
        json={
            "type": "about:blank",
            "title": "Plan required",
            "status": 403,
            "detail": "IP ranges need the ultimate plan",
            "code": "plan_required",
        },
    )
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "incoherent_live_state"
    assert "GET /organization says the organization is on the ultimate plan" in str(info.value)


def test_other_ip_range_errors_fail_the_fetch(rsps: responses.RequestsMock) -> None:
    serve_org(rsps, ranges=False)
    rsps.get(
        BASE + "/ip-ranges",
        status=403,
        json={
            "status": 403,
            "code": "ip_not_allowed",
            "detail": "caller IP 192.0.2.1",
            "title": "",
        },
    )
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "ip_not_allowed"


@pytest.mark.parametrize("concurrent", [True, False])
def test_a_failed_page_fails_the_whole_fetch(
    concurrent: bool,
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(BASE + "/me", json=recorded("me"))
        rsps.get(BASE + "/organization", json=recorded("organization"))
        page(rsps, "/stores", recorded("stores"))
        page(rsps, "/ip-ranges", recorded("ip-ranges"))
        users_1 = recorded("users-1")
        page(rsps, "/users", users_1)
        page(
            rsps,
            "/users",
            {"status": 500, "code": "server_error", "title": "", "detail": "db down"},
            users_1["next_cursor"],
            status=500,
        )
        with pytest.raises(ApiError) as info:
            fetch_live_state(make_client(), concurrent=concurrent)
    assert info.value.status == 500
    assert info.value.attempts == 3
    assert str(info.value).startswith("GET /users: 500 server_error — db down")


def _users_with(mutate: dict[str, Any]) -> dict[str, Any]:
    users = copy.deepcopy(recorded("users-2"))
    users["items"][1] |= mutate
    return users


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/users",
            _users_with({"role": None}),
            "GET /users: the access API answered with data accessctl cannot read: "
            "items[1].role: Input should be a valid string",
        ),
        (
            "/users",
            _users_with({"expires_at": "someday"}),
            "GET /users: the access API answered with data accessctl cannot read: "
            "items[1].expires_at: Input should be a valid date",
        ),
    ],
)
def test_unreadable_items_become_a_clear_error(
    rsps: responses.RequestsMock, path: str, body: dict[str, Any], expected: str
) -> None:
    rsps.get(BASE + "/me", json=recorded("me"))
    rsps.get(BASE + "/organization", json=recorded("organization"))
    page(rsps, "/stores", recorded("stores"))
    page(rsps, "/ip-ranges", recorded("ip-ranges"))
    page(rsps, path, body)
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "invalid_response"
    assert str(info.value).startswith(expected)


def test_unreadable_organization() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(BASE + "/me", json=recorded("me"))
        rsps.get(BASE + "/organization", json=recorded("organization") | {"plan": "gold"})
        page(rsps, "/stores", recorded("stores"))
        page(rsps, "/users", {"items": [], "next_cursor": None})
        with pytest.raises(ApiError) as info:
            fetch_live_state(make_client())
    assert str(info.value) == (
        "GET /organization: the access API answered with data accessctl cannot read: "
        "plan: Input should be 'standard' or 'ultimate'"
    )


def test_duplicate_ids_across_pages_are_refused(rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "/me", json=recorded("me"))
    rsps.get(BASE + "/organization", json=recorded("organization") | {"plan": "standard"})
    page(rsps, "/stores", recorded("stores"))
    users_1 = recorded("users-1")
    page(rsps, "/users", users_1)
    page(rsps, "/users", recorded("users-1") | {"next_cursor": None}, users_1["next_cursor"])
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "invalid_response"
    assert "same id appears more than once" in str(info.value)


def test_fetch_many_keeps_order(rsps: responses.RequestsMock) -> None:
    other = "http://other.test/api/v1"
    serve_org(rsps)
    serve_org(rsps, base=other, plan="standard", ranges=False)
    first, second = fetch_many([make_client(), make_client(other)])
    assert first.ip_ranges is not None
    assert second.ip_ranges is None
    assert fetch_many([]) == []


def test_fetch_many_raises_the_first_failure() -> None:
    other = "http://other.test/api/v1"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_org(rsps)
        rsps.get(other + "/organization", status=401, json={"status": 401, "code": "unauthorized"})
        rsps.get(other + "/me", status=401, json={"status": 401, "code": "unauthorized"})
        rsps.get(other + "/stores", status=401, json={"status": 401, "code": "unauthorized"})
        rsps.get(other + "/users", status=401, json={"status": 401, "code": "unauthorized"})
        with pytest.raises(ApiError) as info:
            fetch_many([make_client(), make_client(other)], max_workers=2)
    assert info.value.status == 401


def test_ten_thousand_users_in_fifty_pages(rsps: responses.RequestsMock) -> None:
    stores = [f"MID{i:07d}" for i in range(200)]
    users = [
        {
            "id": f"usr_{i}",
            "email": f"user{i}@acme.example",
            "type": "internal",
            "role": "User",
            "stores": stores[: 1 + i % 200],
            "expires_at": None,
            "status": "active",
            "etag": f'"{i}"',
        }
        for i in range(10_000)
    ]
    rsps.get(BASE + "/me", json=recorded("me"))
    rsps.get(BASE + "/organization", json=recorded("organization") | {"plan": "standard"})
    page(rsps, "/stores", {"items": [{"id": s, "name": s} for s in stores], "next_cursor": None})
    for n in range(50):
        cursor = None if n == 0 else f"p{n}"
        following = f"p{n + 1}" if n < 49 else None
        page(
            rsps,
            "/users",
            {"items": users[n * 200 : (n + 1) * 200], "next_cursor": following},
            cursor,
        )
    client = make_client()
    live = fetch_live_state(client)  # timed in benchmarks/plan_bench.py, not here
    assert len(live.users) == 10_000
    assert len(live.users[9_999].stores) == 200
    assert client.request_count == 1 + 50 + 2


def _serve_with(
    rsps: responses.RequestsMock,
    *,
    ranges: list[dict[str, str]] | None = None,
    extra_user: dict[str, Any] | None = None,
    org_name: str | None = None,
) -> None:
    organization = recorded("organization") | {"plan": "ultimate"}
    if org_name is not None:
        organization["name"] = org_name
    rsps.get(BASE + "/me", json=recorded("me"))
    rsps.get(BASE + "/organization", json=organization)
    page(rsps, "/stores", recorded("stores"))
    users_1 = recorded("users-1")
    users_2 = copy.deepcopy(recorded("users-2"))
    if extra_user is not None:
        users_2["items"].append(extra_user)
    page(rsps, "/users", users_1)
    page(rsps, "/users", users_2, users_1["next_cursor"])
    listed = recorded("ip-ranges")
    if ranges is not None:
        listed = listed | {
            "items": [{"id": f"r{i}", "etag": '"1"', **r} for i, r in enumerate(ranges)]
        }
    page(rsps, "/ip-ranges", listed)


def test_live_names_and_networks_are_read_as_a_config_writes_them(
    rsps: responses.RequestsMock,
) -> None:
    _serve_with(
        rsps,
        ranges=[
            {"name": " Office ", "cidr": "10.0.0.1/8"},
            {"name": "VPN", "cidr": "2001:db8::1/32"},
        ],
        org_name=" acme-eu ",
    )
    live = fetch_live_state(make_client())
    assert live.ip_ranges is not None
    assert [(r.name, r.cidr) for r in live.ip_ranges] == [
        ("Office", "10.0.0.0/8"),
        ("VPN", "2001:db8::/32"),
    ]
    assert live.organization.name == "acme-eu"


def test_a_range_that_is_not_a_network_is_unreadable(rsps: responses.RequestsMock) -> None:
    _serve_with(rsps, ranges=[{"name": "Broken", "cidr": "garbage"}])
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "invalid_response"
    assert "the range 'Broken' has a cidr that is not a network ('garbage')" in info.value.message


def test_two_users_with_one_email_are_unreadable(rsps: responses.RequestsMock) -> None:
    first = recorded("users-1")["items"][0]
    twin = first | {"id": "usr_twin", "email": first["email"].upper()}
    _serve_with(rsps, extra_user=twin)
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "invalid_response"
    assert "two users have the email" in info.value.message


def test_two_live_ranges_one_name_once_trimmed_are_unreadable(rsps: responses.RequestsMock) -> None:
    _serve_with(
        rsps,
        ranges=[
            {"name": " Office", "cidr": "10.0.0.0/24"},
            {"name": "Office ", "cidr": "10.1.0.0/24"},
        ],
    )
    with pytest.raises(ApiError) as info:
        fetch_live_state(make_client())
    assert info.value.code == "invalid_response"
    assert "two ranges are named 'Office' once the blanks around their names are trimmed" in (
        info.value.message
    )
