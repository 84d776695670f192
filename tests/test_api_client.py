"""The access API client against the contract (SPEC §2), with HTTP faked by `responses`.

No test sleeps: the client gets a fake clock and a fake `sleep` that only records and advances it.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from email.utils import formatdate

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError

from reconciler import __version__
from reconciler.api import AccessApiClient, client_from_env
from reconciler.api.retry import backoff_delay, parse_retry_after
from reconciler.errors import AccessctlError, ApiError

BASE = "http://api.test/api/v1"
TOKEN = "tok_live_9f8e7d6c5b4a-SECRET"


class FakeTime:
    """A monotonic clock that only moves when the client sleeps (unless frozen)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 1000.0
        self.frozen = frozen
        self.sleeps: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append((threading.current_thread().name, seconds))
            if not self.frozen:
                self.now += seconds

    @property
    def durations(self) -> list[float]:
        return [s for _, s in self.sleeps]


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(fake: FakeTime, **kwargs: object) -> AccessApiClient:
    return AccessApiClient(
        BASE,
        TOKEN,
        sleep=fake.sleep,
        clock=fake.clock,
        rng=random.Random(7),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(fake: FakeTime) -> Iterator[AccessApiClient]:
    with make_client(fake) as c:
        yield c


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def problem(status: int, code: str, detail: str, **extra: object) -> dict[str, object]:
    return {
        "type": f"https://errors.example/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def add_problem(
    rsps: responses.RequestsMock,
    method: str,
    path: str,
    status: int,
    code: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
    **extra: object,
) -> None:
    rsps.add(
        method,
        BASE + path,
        body=json.dumps(problem(status, code, detail, **extra)),
        status=status,
        content_type="application/problem+json",
        headers=headers,
    )


# --------------------------------------------------------------------------------------------
# Headers and verbs


def test_get_sends_auth_user_agent_and_accept(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.get(BASE + "/me", json={"email": "a@x.example"})
    assert client.get("/me") == {"email": "a@x.example"}
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == f"accessctl/{__version__}"
    assert headers["Accept"] == "application/json"
    assert "Idempotency-Key" not in headers
    assert client.request_count == 1


def test_write_verbs_send_body_and_headers(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.post(BASE + "/users", json={"id": "u1"}, status=201)
    rsps.patch(BASE + "/users/u1", json={"id": "u1", "role": "Admin"})
    rsps.delete(BASE + "/users/u1", status=204)
    annotation = '{"tool":"accessctl","plan":"p1"}'

    assert client.post(
        "/users", {"email": "b@x.example"}, idempotency_key="p1:users/b", annotation=annotation
    ) == {"id": "u1"}
    assert client.patch("/users/u1", {"role": "Admin"}, if_match='"e1"', annotation=annotation)
    client.delete("/users/u1", if_match='"e2"')

    post, patch, delete = (call.request for call in rsps.calls)
    assert json.loads(post.body or b"") == {"email": "b@x.example"}
    assert post.headers["Idempotency-Key"] == "p1:users/b"
    assert post.headers["X-Audit-Annotation"] == annotation
    assert patch.headers["If-Match"] == '"e1"'
    assert patch.headers["X-Audit-Annotation"] == annotation
    assert delete.headers["If-Match"] == '"e2"'
    assert "X-Audit-Annotation" not in delete.headers


def test_non_ascii_annotation_is_sent_as_ascii_json(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.patch(BASE + "/organization", json={})
    client.patch("/organization", {}, annotation='{"source":"zürich.yaml:3"}')
    sent = rsps.calls[0].request.headers["X-Audit-Annotation"]
    assert sent == '{"source":"z\\u00fcrich.yaml:3"}'
    assert json.loads(sent) == {"source": "zürich.yaml:3"}


def test_base_url_trailing_slash_and_context_manager(fake: FakeTime) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(BASE + "/organization", json={"id": "o1"})
        with AccessApiClient(BASE + "/", TOKEN, sleep=fake.sleep, clock=fake.clock) as c:
            assert c.get("organization") == {"id": "o1"}


def test_request_count_is_thread_safe(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.get(BASE + "/me", json={})

    def work() -> None:
        for _ in range(25):
            client.get("/me")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.request_count == 200


def test_pool_is_sized_for_concurrent_workers(fake: FakeTime) -> None:
    with make_client(fake, pool_size=12) as c:
        adapter = c._session.get_adapter(BASE)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        assert adapter._pool_maxsize == 12  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Retries


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_jittered_backoff(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime, status: int
) -> None:
    add_problem(rsps, "GET", "/users/u1", status, "server_error")
    add_problem(rsps, "GET", "/users/u1", status, "server_error")
    rsps.get(BASE + "/users/u1", json={"id": "u1"})
    assert client.get("/users/u1") == {"id": "u1"}
    assert client.request_count == 3
    first, second = fake.durations
    assert 0 <= first <= 0.5
    assert 0 <= second <= 1.0


def test_the_first_retry_is_a_warning_later_ones_are_info(
    rsps: responses.RequestsMock,
    client: AccessApiClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for _ in range(2):
        add_problem(rsps, "GET", "/users/u1", 503, "unavailable")
    rsps.get(BASE + "/users/u1", json={"id": "u1"})
    add_problem(rsps, "GET", "/me", 502, "bad_gateway")
    rsps.get(BASE + "/me", json={})
    with caplog.at_level(logging.INFO, logger="accessctl.api"):
        client.get("/users/u1")
        client.get("/me")
    retries = [(r.levelname, r.getMessage()) for r in caplog.records if "retrying" in r.message]
    assert [level for level, _ in retries] == ["WARNING", "INFO", "INFO"]
    assert retries[0][1].startswith("GET /users/u1: 503, retrying in ")
    assert retries[0][1].endswith("(attempt 2 of 6)")


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(1)
    draws = [backoff_delay(10, rng) for _ in range(200)]
    assert all(0 <= d <= 30 for d in draws)
    assert max(draws) > 20 and min(draws) < 10  # spread over the whole range


def test_429_honours_retry_after_seconds(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime
) -> None:
    add_problem(rsps, "GET", "/stores", 429, "rate_limited", headers={"Retry-After": "7"})
    rsps.get(BASE + "/stores", json={"items": [], "next_cursor": None})
    client.get("/stores")
    assert fake.durations == [7.0]
    assert client.request_count == 2


def test_429_honours_retry_after_http_date(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime
) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    add_problem(rsps, "GET", "/me", 429, "rate_limited", headers={"Retry-After": when})
    rsps.get(BASE + "/me", json={})
    client.get("/me")
    [waited] = fake.durations
    assert 28 <= waited <= 31


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_past_date_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_503_retry_after_is_honoured(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime
) -> None:
    add_problem(rsps, "GET", "/me", 503, "unavailable", headers={"Retry-After": "2"})
    rsps.get(BASE + "/me", json={})
    client.get("/me")
    assert fake.durations == [2.0]


def test_retry_after_is_shared_across_threads(rsps: responses.RequestsMock) -> None:
    fake = FakeTime(frozen=True)  # the clock stands still: the hold stays in force
    client = make_client(fake)
    add_problem(rsps, "GET", "/users/a", 429, "rate_limited", headers={"Retry-After": "5"})
    rsps.get(BASE + "/users/a", json={"id": "a"})
    rsps.get(BASE + "/users/b", json={"id": "b"})

    first = threading.Thread(target=client.get, args=("/users/a",), name="worker-1")
    first.start()
    first.join()
    # Another worker, which never saw the 429, waits for the same hold before it sends.
    second = threading.Thread(target=client.get, args=("/users/b",), name="worker-2")
    second.start()
    second.join()

    assert fake.sleeps == [("worker-1", 5.0), ("worker-2", 5.0)]
    assert client.request_count == 3


def test_retry_after_hold_expires(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime
) -> None:
    add_problem(rsps, "GET", "/me", 429, "rate_limited", headers={"Retry-After": "5"})
    rsps.get(BASE + "/me", json={})
    client.get("/me")
    client.get("/me")  # the clock has moved past the hold: no further wait
    assert fake.durations == [5.0]


def test_retries_are_bounded_in_count(fake: FakeTime, rsps: responses.RequestsMock) -> None:
    client = make_client(fake, max_retries=3)
    add_problem(rsps, "GET", "/users", 503, "unavailable", "maintenance")
    with pytest.raises(ApiError) as info:
        client.get("/users")
    assert info.value.attempts == 4
    assert client.request_count == 4
    assert info.value.code == "unavailable"
    assert info.value.status == 503
    assert str(info.value) == "GET /users: 503 unavailable — maintenance (gave up after 4 attempts)"


def test_retries_are_bounded_in_time(fake: FakeTime, rsps: responses.RequestsMock) -> None:
    client = make_client(fake, max_retry_seconds=60)
    add_problem(rsps, "GET", "/me", 429, "rate_limited", "slow down", {"Retry-After": "120"})
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.attempts == 1
    assert info.value.code == "rate_limited"
    assert info.value.hint is not None and "rate limiting" in info.value.hint
    assert fake.sleeps == []


def test_total_wait_stays_within_budget(fake: FakeTime, rsps: responses.RequestsMock) -> None:
    client = make_client(fake, max_retries=50, max_retry_seconds=10)
    add_problem(rsps, "GET", "/me", 429, "rate_limited", headers={"Retry-After": "3"})
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert sum(fake.durations) <= 10
    assert info.value.attempts == 4  # waits of 3 + 3 + 3; a fourth would pass 10 s


def test_connection_error_is_retried_for_get(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.get(BASE + "/me", body=requests.ConnectionError("connection reset"))
    rsps.get(BASE + "/me", body=requests.ReadTimeout("read timed out"))
    rsps.get(BASE + "/me", json={"ip": "203.0.113.9"})
    assert client.get("/me") == {"ip": "203.0.113.9"}
    assert client.request_count == 3


def test_connection_failure_after_retries(fake: FakeTime, rsps: responses.RequestsMock) -> None:
    client = make_client(fake, max_retries=2)
    rsps.get(BASE + "/me", body=requests.ConnectionError("connection reset by peer"))
    with pytest.raises(ApiError) as info:
        client.get("/me")
    err = info.value
    assert err.code == "connection_error"
    assert err.attempts == 3
    assert str(err) == (
        "GET /me: could not reach the access API after 3 attempts: connection reset by peer"
    )
    assert err.hint is not None and "http://api.test/api/v1" in err.hint


def test_post_without_key_is_not_retried_after_connection_error(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.post(BASE + "/users", body=requests.ConnectionError("connection aborted"))
    with pytest.raises(ApiError) as info:
        client.post("/users", {"email": "c@x.example"})
    assert info.value.code == "connection_error"
    assert info.value.attempts == 1
    assert client.request_count == 1
    assert "not retried" in str(info.value)


def test_post_without_key_is_not_retried_on_5xx(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    add_problem(rsps, "POST", "/ip-ranges", 502, "bad_gateway")
    with pytest.raises(ApiError) as info:
        client.post("/ip-ranges", {"name": "x", "cidr": "10.0.0.0/8"})
    assert info.value.attempts == 1


def test_post_without_key_is_retried_when_never_sent(
    rsps: responses.RequestsMock, client: AccessApiClient, fake: FakeTime
) -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    rsps.post(
        BASE + "/ip-ranges",
        body=requests.ConnectionError(MaxRetryError(None, "/ip-ranges", refused)),  # type: ignore[arg-type]
    )
    add_problem(rsps, "POST", "/ip-ranges", 429, "rate_limited", headers={"Retry-After": "1"})
    rsps.post(BASE + "/ip-ranges", json={"id": "r1"}, status=201)
    assert client.post("/ip-ranges", {"name": "x", "cidr": "10.0.0.0/8"}) == {"id": "r1"}
    assert client.request_count == 3


def test_post_with_idempotency_key_is_retried_with_the_same_key(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.post(BASE + "/users", body=requests.ConnectionError("connection aborted"))
    add_problem(rsps, "POST", "/users", 503, "unavailable")
    rsps.post(BASE + "/users", json={"id": "u9"}, status=201)
    assert client.post("/users", {"email": "d@x.example"}, idempotency_key="k-1") == {"id": "u9"}
    assert [c.request.headers["Idempotency-Key"] for c in rsps.calls] == ["k-1"] * 3


def test_patch_and_delete_are_retried(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.patch(BASE + "/users/u1", body=requests.ConnectionError("reset"))
    rsps.patch(BASE + "/users/u1", json={"id": "u1"})
    add_problem(rsps, "DELETE", "/ip-ranges/r1", 500, "server_error")
    rsps.delete(BASE + "/ip-ranges/r1", status=204)
    client.patch("/users/u1", {"role": "User"}, if_match="e1")
    client.delete("/ip-ranges/r1", if_match="e2")
    assert client.request_count == 4
    assert all(c.request.headers["If-Match"] for c in rsps.calls)


@pytest.mark.parametrize("status", [400, 404, 409, 412, 422])
def test_client_errors_are_not_retried(
    rsps: responses.RequestsMock, client: AccessApiClient, status: int
) -> None:
    add_problem(rsps, "PATCH", "/users/u1", status, "some_code", "nope")
    with pytest.raises(ApiError) as info:
        client.patch("/users/u1", {"role": "User"})
    assert info.value.status == status
    assert info.value.attempts == 1
    assert client.request_count == 1


# --------------------------------------------------------------------------------------------
# problem+json -> typed errors


def test_problem_json_becomes_a_typed_error(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    detail = "e@x.example holds the role Admin in another organization"
    add_problem(rsps, "POST", "/users", 409, "role_conflict", detail)
    with pytest.raises(ApiError) as info:
        client.post("/users", {"email": "e@x.example"}, idempotency_key="k")
    err = info.value
    assert str(err) == f"POST /users: 409 role_conflict — {detail}"
    assert (err.status, err.code) == (409, "role_conflict")
    assert err.problem is not None
    assert err.problem.detail == detail
    assert err.problem.title == "role conflict"


def test_field_errors_are_listed(rsps: responses.RequestsMock, client: AccessApiClient) -> None:
    errors = [{"field": "expires_at", "message": "must be in the future"}]
    add_problem(rsps, "POST", "/users", 422, "invalid", "bad invite", errors=errors)
    with pytest.raises(ApiError) as info:
        client.post("/users", {}, idempotency_key="k")
    assert str(info.value) == (
        "POST /users: 422 invalid — bad invite [expires_at: must be in the future]"
    )
    assert info.value.problem is not None
    assert info.value.problem.errors == (("expires_at", "must be in the future"),)


def test_401_hint_names_the_token_variable(rsps: responses.RequestsMock) -> None:
    add_problem(rsps, "GET", "/me", 401, "unauthorized", "invalid token")
    client = client_from_env(BASE, "ACME_EU_TOKEN", {"ACME_EU_TOKEN": TOKEN})
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.status == 401
    assert info.value.hint is not None
    assert "ACME_EU_TOKEN" in info.value.hint and "invalid or expired" in info.value.hint


def test_ip_not_allowed_hint_shows_the_caller_ip(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    detail = "caller IP 198.51.100.23 is not in any allowed range"
    add_problem(rsps, "GET", "/users", 403, "ip_not_allowed", detail)
    with pytest.raises(ApiError) as info:
        client.get("/users")
    hint = info.value.hint or ""
    assert info.value.code == "ip_not_allowed"
    assert "198.51.100.23 is outside the organization's allowed IP ranges" in hint
    assert "fixed egress IP" in hint and "198.51.100.23/32" in hint


def test_plan_required_hint(rsps: responses.RequestsMock, client: AccessApiClient) -> None:
    add_problem(rsps, "GET", "/ip-ranges", 403, "plan_required", "ultimate plan needed")
    with pytest.raises(ApiError) as info:
        client.get("/ip-ranges")
    assert info.value.code == "plan_required"
    assert "ultimate plan" in (info.value.hint or "")


def test_non_json_error_still_gets_a_code(fake: FakeTime, rsps: responses.RequestsMock) -> None:
    client = make_client(fake, max_retries=0)
    rsps.get(BASE + "/me", body="<html><h1>502 Bad Gateway</h1></html>", status=502)
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.code == "bad_gateway"
    assert str(info.value) == "GET /me: 502 bad_gateway — <html><h1>502 Bad Gateway</h1></html>"


def test_404_hints_at_the_base_url(rsps: responses.RequestsMock, client: AccessApiClient) -> None:
    rsps.get(BASE + "/me", body="not found", status=404)
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.code == "not_found"
    assert "/api/v1" in (info.value.hint or "")


def test_success_body_that_is_not_an_object(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.get(BASE + "/me", body="[1, 2]", content_type="application/json")
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.code == "invalid_response"


def test_a_body_nested_too_deeply_is_unreadable_not_a_crash(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    rsps.get(BASE + "/me", body="[" * 100_000 + "]" * 100_000, content_type="application/json")
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert info.value.code == "invalid_response"


# --------------------------------------------------------------------------------------------
# Pagination


def add_page(
    rsps: responses.RequestsMock,
    path: str,
    cursor: str | None,
    body: dict[str, object],
    *,
    limit: int = 2,
    status: int = 200,
) -> None:
    params: dict[str, str] = {"limit": str(limit)}
    if cursor is not None:
        params["cursor"] = cursor
    rsps.get(BASE + path, json=body, status=status, match=[matchers.query_param_matcher(params)])


def test_list_all_follows_cursors(rsps: responses.RequestsMock, client: AccessApiClient) -> None:
    add_page(
        rsps,
        "/ip-ranges",
        None,
        {"items": [{"id": "1"}, {"id": "2"}], "next_cursor": "c1", "caller_ip": "203.0.113.9"},
    )
    add_page(rsps, "/ip-ranges", "c1", {"items": [{"id": "3"}, {"id": "4"}], "next_cursor": "c2"})
    add_page(rsps, "/ip-ranges", "c2", {"items": [{"id": "5"}], "next_cursor": None})
    seen: list[tuple[str, int]] = []
    client.on_page = lambda path, count: seen.append((path, count))
    result = client.list_all("/ip-ranges", page_size=2)
    assert [i["id"] for i in result.items] == ["1", "2", "3", "4", "5"]
    assert result.extra == {"caller_ip": "203.0.113.9"}
    assert result.pages == 3
    assert client.request_count == 3
    # progress is told the items read so far, once per page
    assert seen == [("/ip-ranges", 2), ("/ip-ranges", 4), ("/ip-ranges", 5)]


def test_list_all_empty(rsps: responses.RequestsMock, client: AccessApiClient) -> None:
    add_page(rsps, "/stores", None, {"items": [], "next_cursor": None}, limit=200)
    result = client.list_all("/stores")
    assert (result.items, result.pages) == ([], 1)


def test_list_all_fails_closed_on_a_bad_middle_page(
    fake: FakeTime, rsps: responses.RequestsMock
) -> None:
    client = make_client(fake, max_retries=2)
    add_page(rsps, "/users", None, {"items": [{"id": "1"}, {"id": "2"}], "next_cursor": "c1"})
    rsps.get(
        BASE + "/users",
        json=problem(500, "server_error", "boom"),
        status=500,
        match=[matchers.query_param_matcher({"limit": "2", "cursor": "c1"})],
    )
    with pytest.raises(ApiError) as info:
        client.list_all("/users", page_size=2)
    assert info.value.status == 500
    assert info.value.attempts == 3
    assert client.request_count == 4


def test_list_all_retries_a_flaky_page(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    add_page(rsps, "/users", None, {"items": [{"id": "1"}], "next_cursor": "c1"})
    add_page(rsps, "/users", "c1", problem(503, "unavailable", ""), status=503)
    add_page(rsps, "/users", "c1", {"items": [{"id": "2"}], "next_cursor": None})
    assert len(client.list_all("/users", page_size=2).items) == 2


def test_list_all_detects_a_cursor_loop(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    add_page(rsps, "/users", None, {"items": [{"id": "1"}], "next_cursor": "c1"})
    add_page(rsps, "/users", "c1", {"items": [{"id": "2"}], "next_cursor": "c2"})
    add_page(rsps, "/users", "c2", {"items": [{"id": "3"}], "next_cursor": "c1"})
    with pytest.raises(ApiError) as info:
        client.list_all("/users", page_size=2)
    assert info.value.code == "cursor_loop"
    assert client.request_count == 3


@pytest.mark.parametrize(
    "page",
    [
        {"next_cursor": None},
        {"items": {"id": "1"}, "next_cursor": None},
        {"items": ["u1"], "next_cursor": None},
        {"items": [], "next_cursor": 7},
        # No `next_cursor` at all: not "the last page" but an answer of another shape (e.g. a
        # `cursor` or `links.next` of another API); reading it as complete would plan from a
        # partial list.
        {"items": [{"id": "1"}]},
        {"items": [{"id": "1"}], "cursor": "c1"},
    ],
)
def test_list_all_rejects_malformed_pages(
    rsps: responses.RequestsMock, client: AccessApiClient, page: dict[str, object]
) -> None:
    add_page(rsps, "/users", None, page, limit=200)
    with pytest.raises(ApiError) as info:
        client.list_all("/users")
    assert info.value.code == "invalid_response"


# --------------------------------------------------------------------------------------------
# The token never shows


def test_repr_hides_the_token_and_url_credentials() -> None:
    client = AccessApiClient("https://ops:pw@api.test:8443/api/v1", TOKEN)
    assert repr(client) == "AccessApiClient(base_url='https://api.test:8443/api/v1', token='***')"
    assert TOKEN not in repr(vars(client))


def test_bad_token_is_refused_without_quoting_it() -> None:
    with pytest.raises(AccessctlError) as info:
        AccessApiClient(BASE, "Bearer " + TOKEN)
    assert TOKEN not in str(info.value) and TOKEN not in (info.value.hint or "")


def test_token_never_appears_in_logs_errors_or_reprs(
    rsps: responses.RequestsMock, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="accessctl")  # a CLI test may have set it
    client = make_client(fake)
    client.token_env = "ACME_TOKEN"
    # A hostile or careless server that echoes the Authorization header back.
    echo = f"token Bearer {TOKEN} is not valid"
    rsps.get(BASE + "/me", json={"email": "a@x.example"})
    add_problem(rsps, "GET", "/organization", 401, "unauthorized", echo)
    add_problem(rsps, "GET", "/users", 503, "unavailable", echo)
    rsps.post(BASE + "/users", body=requests.ConnectionError(f"reset ({TOKEN})"))
    add_problem(
        rsps, "PATCH", "/users/u1", 422, "invalid", echo, errors=[{"field": TOKEN, "message": echo}]
    )
    rsps.get(BASE + "/stores", json={"items": [], "next_cursor": None})

    client.get("/me")
    client.list_all("/stores")
    failures: list[ApiError] = []
    calls: list[Callable[[], object]] = [
        lambda: client.get("/organization"),
        lambda: client.get("/users"),
        lambda: client.post("/users", {"email": "x@x.example"}),
        lambda: client.patch("/users/u1", {"role": "User"}),
    ]
    for call in calls:
        with pytest.raises(ApiError) as info:
            call()
        failures.append(info.value)

    texts = [repr(client), repr(vars(client)), caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    for err in failures:
        assert err.__cause__ is None and err.__context__ is None
        texts += [str(err), repr(err), err.hint or "", repr(err.problem), repr(vars(err))]
        texts.append("".join(traceback.format_exception(err)))
    leaked = [t for t in texts if TOKEN in t]
    assert leaked == []
    assert any("GET /me -> 200" in r.getMessage() for r in caplog.records)
    assert "***" in str(failures[0])


# --------------------------------------------------------------------------------------------
# client_from_env


@pytest.mark.parametrize(("environ", "state"), [({}, "is not set"), ({"T": "  "}, "is empty")])
def test_client_from_env_requires_the_variable(environ: dict[str, str], state: str) -> None:
    with pytest.raises(AccessctlError) as info:
        client_from_env(BASE, "T", environ)
    assert str(info.value).startswith(f"The environment variable T {state}")


def test_client_from_env_names_the_variable_for_a_malformed_token() -> None:
    with pytest.raises(AccessctlError) as info:
        client_from_env(BASE, "T", {"T": "abc\ndef"})
    assert str(info.value).startswith("T: ")
    assert "abc" not in str(info.value)


def test_client_from_env_builds_a_client() -> None:
    client = client_from_env(BASE, "T", {"T": f"{TOKEN}\n"})
    assert client.token_env == "T"
    assert client.base_url == BASE


# --------------------------------------------------------------------------------------------
# Real sockets on loopback: the urllib3 exceptions behind requests' errors


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refused_connection_is_retried_even_for_post(fake: FakeTime) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/api/v1"
    client = AccessApiClient(base, TOKEN, sleep=fake.sleep, clock=fake.clock, max_retries=2)
    with client, pytest.raises(ApiError) as info:
        client.post("/users", {"email": "f@x.example"})  # never reached the server: safe
    err = info.value
    assert (err.code, err.attempts) == ("connection_error", 3)
    assert "refused" in str(err).lower()
    assert "not retried" not in str(err)
    assert TOKEN not in "".join(traceback.format_exception(err))


def test_read_timeout_after_send_is_not_replayed_for_post(fake: FakeTime) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts connections, never answers
    try:
        base = f"http://127.0.0.1:{server.getsockname()[1]}/api/v1"
        client = AccessApiClient(base, TOKEN, timeout=0.2, sleep=fake.sleep, clock=fake.clock)
        with pytest.raises(ApiError) as info:
            client.post("/users", {"email": "g@x.example"})
        assert (info.value.code, info.value.attempts) == ("connection_error", 1)
        assert "no answer within 0.2s" in str(info.value)
        client.close()
    finally:
        server.close()


def test_field_errors_already_in_the_detail_are_not_repeated(
    rsps: responses.RequestsMock, client: AccessApiClient
) -> None:
    errors = [{"field": "role", "message": "unknown role"}, {"field": "stores", "message": "bad"}]
    add_problem(rsps, "POST", "/users", 422, "invalid", "role: unknown role", errors=errors)
    with pytest.raises(ApiError) as info:
        client.post("/users", {}, idempotency_key="k")
    assert str(info.value) == "POST /users: 422 invalid — role: unknown role [stores: bad]"
