"""accessctl against a deliberately broken access API (issue 11): one server mode per failure.

`Hostile` is a standard-library `http.server` on a free loopback port, threaded, speaking just
enough of the contract (SPEC §2) for `plan` and `apply`, and broken in one way per mode. A
second server, the trap, stands where redirects point: it must never see a request. Each test
proves exit 1 (or the honest result), a message naming the problem, no traceback, a few seconds
at most (the limits are lowered through the environment), bounded reading, no write sent, and the
token sent nowhere but the server it belongs to.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

TOKEN = "tok-hostile-SECRET-4242"
OTHER_TOKEN = "tok-hostile-OTHER-4343"
LIMITS = {
    "ACCESSCTL_API_DEADLINE": "1",
    "ACCESSCTL_RUN_DEADLINE": "20",
    "ACCESSCTL_MAX_RESPONSE_BYTES": str(1024 * 1024),
    "ACCESSCTL_MAX_LIST_ITEMS": "100",
}
WRITES = ("POST", "PATCH", "DELETE")


def _user(uid: str, email: str, role: str = "User", **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "email": email,
        "type": "internal",
        "role": role,
        "stores": ["MID1", "MID2"],
        "expires_at": None,
        "status": "active",
        "etag": f"e-{uid}",
        **extra,
    }


class Org:
    """One organization's live state on the hostile server."""

    def __init__(self, name: str, users: list[dict[str, Any]]) -> None:
        self.name = name
        self.stores = [{"id": "MID1", "name": "One"}, {"id": "MID2", "name": "Two"}]
        self.users = {u["id"]: u for u in users}


Route = Callable[["Handler"], bool]  # handles the request (True) or leaves it to the default


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A handler that wakes after the client has gone (a slow answer, a drip) fails writing:
        expected here, and it must not print into whichever test runs next."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Hostile:
    """The broken server. `routes` maps `METHOD /path` to a handler that may answer instead."""

    def __init__(self) -> None:
        self.orgs = {
            TOKEN: Org(
                "acme",
                [
                    _user("u-admin", "admin@acme.example", "Admin"),
                    _user("u-bob", "bob@acme.example"),
                ],
            )
        }
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sent_bytes = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"
        # A short poll: `shutdown()` waits for the loop to look (0.5 s by default, per test).
        serve = functools.partial(self.server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.requests if m in WRITES]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hostile: Hostile

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------------------

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        content_type = "application/problem+json" if status >= 400 else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        with self.hostile.lock:
            self.hostile.sent_bytes += len(body)

    def problem(self, status: int, code: str, detail: str = "") -> None:
        self.send_json(status, {"status": status, "code": code, "title": code, "detail": detail})

    def body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    @property
    def route(self) -> str:
        return f"{self.command} {self.path.split('?')[0].removeprefix('/api/v1')}"

    @property
    def org(self) -> Org:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.hostile.orgs[token]

    def page(self, items: list[dict[str, Any]]) -> None:
        self.send_json(200, {"items": items, "next_cursor": None})

    def handle_any(self) -> None:
        with self.hostile.lock:
            self.hostile.requests.append((self.command, self.path, dict(self.headers)))
        if self.headers.get("Authorization", "").removeprefix("Bearer ") not in self.hostile.orgs:
            return self.problem(401, "unauthorized")
        custom = self.hostile.routes.get(self.route)
        if custom is not None and custom(self):
            return None
        return self.default()

    def default(self) -> None:
        org, route = self.org, self.route
        if route == "GET /me":
            admin = next(iter(org.users.values()))
            return self.send_json(
                200,
                {
                    "email": admin["email"],
                    "role": "Admin",
                    "organization_id": org.name,
                    "ip": "127.0.0.1",
                },
            )
        if route == "GET /organization":
            return self.send_json(
                200,
                {
                    "id": org.name,
                    "name": org.name,
                    "plan": "standard",
                    "technical_support_access": True,
                    "etag": "e-org",
                },
            )
        if route == "GET /stores":
            return self.page(org.stores)
        if route == "GET /audit-events":
            return self.page([])
        if route == "GET /users":
            return self.page(list(org.users.values()))
        if route == "POST /users":
            sent = self.body()
            created = _user(
                f"u-{len(org.users)}", sent["email"], sent["role"], stores=sent["stores"]
            )
            org.users[created["id"]] = created
            return self.send_json(201, created)
        if self.command == "PATCH" and route.startswith("PATCH /users/"):
            user = org.users[route.rsplit("/", 1)[1]]
            user.update(self.body())
            return self.send_json(200, user)
        if self.command == "DELETE" and route.startswith("DELETE /users/"):
            org.users.pop(route.rsplit("/", 1)[1], None)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.problem(404, "not_found")

    do_GET = do_POST = do_PATCH = do_DELETE = handle_any


def _handler_for(hostile: Hostile) -> type[Handler]:
    return type("BoundHandler", (Handler,), {"hostile": hostile})


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.close()


@pytest.fixture
def trap() -> Iterator[Hostile]:
    """Where redirects point: any request reaching it is a token sent elsewhere."""
    server = Hostile()
    yield server
    server.close()


def config(tmp_path: Path, url: str, *, bob: str = "User", invite: bool = False) -> str:
    users = [
        {"email": "admin@acme.example", "role": "Admin", "stores": "all"},
        {"email": "bob@acme.example", "role": bob, "stores": "all"},
    ]
    if invite:
        users.append({"email": "new@acme.example", "role": "User", "stores": ["MID1"]})
    doc = {
        "organization": "acme",
        "api": {"url": url, "token_env": "HOSTILE_TOKEN"},
        "users": users,
    }
    path = tmp_path / "acme.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return str(path)


def run(args: list[str], **env: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, args, env={"HOSTILE_TOKEN": TOKEN, **LIMITS, **env})
    return result, time.monotonic() - started


def assert_refused(result: Result, elapsed: float, *needles: str) -> None:
    """Exit 1, every needle in the output, no traceback, no token, within a few seconds."""
    text = result.output
    assert result.exit_code == 1, text
    for needle in needles:
        assert needle in text, text
    assert "Traceback" not in text and "unexpected error" not in text
    assert TOKEN not in text
    assert elapsed < 6, elapsed


# -- 1. a coherent live view or none ------------------------------------------------------------


@pytest.mark.parametrize("stores", [[], [{"id": "MID1", "name": "One"}]], ids=["empty", "short"])
def test_a_store_list_missing_held_stores_is_refused(
    hostile: Hostile, tmp_path: Path, stores: list[dict[str, str]]
) -> None:
    # Before: `stores: all` planned to strip bob's grants, and apply sent the PATCH (exit 0).
    hostile.orgs[TOKEN].stores = stores
    path = config(tmp_path, hostile.url)
    result, elapsed = run(["apply", path, "--yes"])
    assert_refused(result, elapsed, "GET /stores", "MID2", "lacks", "contradicts itself")
    assert hostile.writes() == []


def test_endless_fresh_cursors_stop_at_the_page_cap(hostile: Hostile, tmp_path: Path) -> None:
    count = iter(range(10**9))

    def endless(handler: Handler) -> bool:
        handler.send_json(200, {"items": [], "next_cursor": f"c{next(count)}"})
        return True

    hostile.routes["GET /users"] = endless
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(
        result, elapsed, "GET /users", "the list does not end", "ACCESSCTL_MAX_LIST_ITEMS"
    )
    pages = sum(1 for m, p, _ in hostile.requests if p.startswith("/api/v1/users"))
    assert pages == 10  # 100 items allowed, 200 a page, at most ten times as many pages


def test_a_repeated_cursor_is_refused(hostile: Hostile, tmp_path: Path) -> None:
    def loop(handler: Handler) -> bool:
        handler.send_json(200, {"items": [], "next_cursor": "same"})
        return True

    hostile.routes["GET /users"] = loop
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(result, elapsed, "GET /users", "cursor it had already returned")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"stores": None}, "has no `stores`"),
        ({"etag": None}, "has no `etag`"),
        ({"stores": "MID1"}, "stores: Input should be a valid list"),
        ({"id": 7}, "id: Input should be a valid string"),
        # Read in lax mode, these were guessed: 0 as 1970-01-01, a date-time as its day.
        ({"expires_at": 0}, "expires_at: Input should be a valid date, written YYYY-MM-DD"),
        ({"expires_at": "2099-03-31T00:00:00Z"}, "expires_at: Input should be a valid date"),
        # Read as a role this version does not know, these would count for nothing: a Super
        # Admin the Super Admin rules do not see.
        ({"role": "SUPER ADMIN"}, "role: the role 'SUPER ADMIN' is not spelled as the contract"),
        ({"role": "super\u00a0admin"}, "spells 'Super Admin'"),
        ({"role": " Admin"}, "role: the role ' Admin' is not spelled as the contract spells"),
    ],
    ids=[
        "missing-stores",
        "missing-etag",
        "stores-not-list",
        "id-not-string",
        "expires-a-number",
        "expires-a-date-time",
        "role-in-capitals",
        "role-with-a-no-break-space",
        "role-with-a-blank",
    ],
)
def test_missing_or_mistyped_fields_are_refused(
    hostile: Hostile, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    bob = hostile.orgs[TOKEN].users["u-bob"]
    for key, value in change.items():
        if value is None:
            del bob[key]
        else:
            bob[key] = value
    result, elapsed = run(["apply", config(tmp_path, hostile.url), "--yes"])
    assert_refused(result, elapsed, "GET /users", needle)
    assert hostile.writes() == []


def test_a_role_this_version_does_not_know_is_read_as_written(
    hostile: Hostile, tmp_path: Path
) -> None:
    # The platform may add a role; a live user holding it is planned like any other (here:
    # given the role the config declares), not refused.
    hostile.orgs[TOKEN].users["u-bob"]["role"] = "Finance Viewer"
    result, _ = run(["plan", config(tmp_path, hostile.url)])
    assert result.exit_code == 0, result.output
    assert "Finance Viewer" in result.output and "bob@acme.example" in result.output


def test_me_with_a_role_written_otherwise_is_refused(hostile: Hostile, tmp_path: Path) -> None:
    def shouting(handler: Handler) -> bool:
        handler.send_json(
            200,
            {
                "email": "admin@acme.example",
                "role": "ADMIN",
                "organization_id": "org-acme",
                "ip": "127.0.0.1",
            },
        )
        return True

    hostile.routes["GET /me"] = shouting
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(result, elapsed, "GET /me", "role: the role 'ADMIN' is not spelled")


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ("GET /organization", "etag"),
        ("GET /organization", "technical_support_access"),
        ("GET /me", "ip"),
        ("GET /me", "organization_id"),
    ],
)
def test_me_and_organization_missing_fields_are_refused(
    hostile: Hostile, tmp_path: Path, route: str, field: str
) -> None:
    # Before: the models defaulted `etag` to "", so an organization without one would be written
    # with an empty If-Match; a missing field is refused like one missing from a list item.
    def without(handler: Handler) -> bool:
        real = Handler.send_json

        def send_json(status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            real(handler, status, {k: v for k, v in data.items() if k != field}, headers)

        handler.send_json = send_json  # type: ignore[method-assign]
        handler.default()
        return True

    hostile.routes[route] = without
    path = config(tmp_path, hostile.url)
    doc = json.loads(Path(path).read_text())
    doc["settings"] = {"technical_support_access": False}  # a PATCH /organization to plan
    Path(path).write_text(json.dumps(doc), encoding="utf-8")
    result, elapsed = run(["apply", path, "--yes"])
    assert_refused(result, elapsed, f"{route}: ", f"the answer has no `{field}`")
    assert hostile.writes() == []


ORGANIZATION = {
    "id": "acme",
    "name": "acme",
    "plan": "standard",
    "technical_support_access": True,
    "etag": "e-org",
}


def _answer(data: dict[str, Any]) -> Route:
    def answer(handler: Handler) -> bool:
        handler.send_json(200, data)
        return True

    return answer


def _with_settings(path: str, **settings: Any) -> str:
    doc = json.loads(Path(path).read_text())
    doc["settings"] = settings
    Path(path).write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("sent", ["false", "no", "0", 0, 0.0, "true", 1], ids=json.dumps)
def test_a_switch_sent_as_another_json_type_is_refused(
    hostile: Hostile, tmp_path: Path, sent: Any
) -> None:
    # Before: pydantic's lax mode read `"false"`, `"no"`, `0` as false (so a config that wants
    # it off planned nothing: "No changes") and `"true"`, `1` as true. The contract says a JSON
    # boolean; a JavaScript server would read the string "false" as true. Refused, not guessed.
    hostile.routes["GET /organization"] = _answer(ORGANIZATION | {"technical_support_access": sent})
    path = _with_settings(config(tmp_path, hostile.url), technical_support_access=False)
    result, elapsed = run(["apply", path, "--yes"])
    assert_refused(
        result,
        elapsed,
        "GET /organization: the access API answered with data accessctl cannot read: "
        "technical_support_access: Input should be a valid boolean",
    )
    assert hostile.writes() == []


@pytest.mark.parametrize("answered", ["False", 0])
def test_a_switch_answered_as_another_json_type_is_outcome_unknown(
    hostile: Hostile, tmp_path: Path, answered: Any
) -> None:
    # Before: the answer was compared as text, so `"False"` answered to `false` counted as the
    # change applied; its JSON type is part of the contract's promise too.
    def patch(handler: Handler) -> bool:
        handler.body()
        handler.send_json(200, ORGANIZATION | {"technical_support_access": answered})
        return True

    hostile.routes["PATCH /organization"] = patch
    path = _with_settings(config(tmp_path, hostile.url), technical_support_access=False)
    result, elapsed = run(["apply", path, "--yes"])
    assert_refused(
        result,
        elapsed,
        "outcome unknown: settings",
        "answered success with an object whose `technical_support_access` is not the one sent",
    )
    assert "Apply complete: 0 applied, 1 failed" in result.output
    assert hostile.writes() == [("PATCH", "/api/v1/organization")]


def test_audit_reads_the_hostile_servers_log(hostile: Hostile, tmp_path: Path) -> None:
    # The control for the refusals below: with a readable `/organization`, audit runs through.
    result, _ = run(["audit", config(tmp_path, hostile.url)])
    assert result.exit_code == 0, result.output
    assert "Hand-made changes: 0." in result.output
    assert any(p.startswith("/api/v1/audit-events") for _, p, _ in hostile.requests)


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        ({}, "the answer has no `id`, `name`, `plan`, `technical_support_access`, `etag`"),
        ({"name": "acme"}, "the answer has no `id`, `plan`, `technical_support_access`, `etag`"),
        (ORGANIZATION | {"etag": None, "id": None}, "id: Input should be a valid string"),
        (ORGANIZATION | {"name": ["acme"]}, "name: Input should be a valid string"),
        (ORGANIZATION | {"plan": "gold"}, "plan: Input should be 'standard' or 'ultimate'"),
    ],
    ids=["empty", "name-only", "id-null", "name-a-list", "unknown-plan"],
)
def test_audit_refuses_an_organization_it_cannot_read(
    hostile: Hostile, tmp_path: Path, answer: dict[str, Any], needle: str
) -> None:
    # Before: audit read only `name` from `/organization`, unchecked: `{}` was "the token belongs
    # to organization None", `{"name": "acme"}` (or a broken answer that names it) went on to
    # read the audit log and report it clean (exit 0). Now it is refused as the plan refuses it.
    hostile.routes["GET /organization"] = _answer(answer)
    result, elapsed = run(["audit", config(tmp_path, hostile.url)])
    assert_refused(
        result,
        elapsed,
        "GET /organization: the access API answered with data accessctl cannot read: ",
        needle,
        "does not follow the access API contract",
    )
    assert "belongs to organization" not in result.output
    assert not any(p.startswith("/api/v1/audit-events") for _, p, _ in hostile.requests)


def test_audit_compares_the_organization_name_as_plan_does(
    hostile: Hostile, tmp_path: Path
) -> None:
    # `plan` compares the live name without surrounding blanks (YAML cannot keep them); audit
    # now reads the name through the same function, so both agree on whose token it is.
    hostile.routes["GET /organization"] = _answer(ORGANIZATION | {"name": " acme "})
    result, _ = run(["audit", config(tmp_path, hostile.url)])
    assert result.exit_code == 0, result.output
    assert "Organization acme: audit events since" in result.output


# -- the audit log: a malformed event refuses the whole answer, never skipped ----------------------

TODAY = "2026-06-01"  # review's window (90 days) and the plan's login window (30) hold May 2026


# The events below are of May 2026, and the hostile server sends them whatever `since=` asks:
# an audit that reports them looks back far enough.
SINCE = ["--since", "520w"]


def _event(n: int, action: str, actor: str, ip: str, **extra: Any) -> dict[str, Any]:
    """An audit event as the contract (SPEC §2) writes it."""
    return {
        "id": f"evt_{n}",
        "at": f"2026-05-{n:02d}T09:00:00Z",
        "actor": actor,
        "action": action,
        "target": {"type": "user", "id": "u-bob", "name": "bob@acme.example"},
        "before": None,
        "after": None,
        "annotation": None,
        "ip": ip,
        **extra,
    }


def _audit_log(hostile: Hostile, events: list[dict[str, Any]]) -> None:
    def answer(handler: Handler) -> bool:
        handler.page(events)
        return True

    hostile.routes["GET /audit-events"] = answer


GONE = "(left out)"


def _spoilt(event: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`event` with `change` made (a value of GONE: the field left out)."""
    spoilt = {k: v for k, v in event.items() if change.get(k) != GONE}
    return spoilt | {k: v for k, v in change.items() if v != GONE}


# A platform may add event types: one this version does not know is read and ignored by review
# and the plan, and shown as a change by `audit` (it is not accessctl's).
UNKNOWN_TYPE = _event(2, "store.renamed", "admin@acme.example", "127.0.0.1") | {
    "target": {"type": "store", "id": "MID1", "name": "One"}
}
# Wrong in every event, whatever its action: a field missing, of another JSON type, unreadable.
MALFORMED = [
    ({"at": GONE}, "items[2] (id 'evt_3') has no `at`"),
    ({"ip": GONE}, "items[2] (id 'evt_3') has no `ip`"),
    ({"target": GONE}, "items[2] (id 'evt_3') has no `target`"),
    ({"actor": GONE}, "items[2] (id 'evt_3') has no `actor`"),
    ({"at": 12345}, "items[2].at: Input should be a valid string"),
    ({"at": "last Tuesday"}, "items[2].at: Input should be an ISO 8601 time, not 'last Tuesday'"),
    ({"actor": None}, "items[2].actor: Input should be a valid string"),
    ({"actor": ["bob@acme.example"]}, "items[2].actor: Input should be a valid string"),
    ({"action": None}, "items[2].action: Input should be a valid string"),
    ({"ip": ["10.0.0.5"]}, "items[2].ip: Input should be a valid string"),
    ({"target": "user bob"}, "items[2].target: Input should be a valid dictionary"),
    ({"target": {"type": "user", "id": "u-bob"}}, "items[2].target.name: Field required"),
    ({"before": "bob"}, "items[2].before: Input should be a valid dictionary"),
]
MALFORMED_IDS = [
    "no-at",
    "no-ip",
    "no-target",
    "no-actor",
    "at-a-number",
    "at-not-a-time",
    "actor-null",
    "actor-a-list",
    "action-null",
    "ip-a-list",
    "target-a-string",
    "target-without-name",
    "before-a-string",
]
# Wrong in a login only: the user and the address are what review and range_impact read.
MALFORMED_LOGIN = [
    ({"ip": "10.0.0.500"}, "items[2].ip: a login event's ip should be an IP address, not '10.0."),
    ({"ip": ""}, "items[2].ip: a login event's ip should be an IP address, not ''"),
    ({"actor": " "}, "items[2].actor: a login event must name its user"),
]
MALFORMED_LOGIN_IDS = ["ip-not-an-address", "ip-empty", "actor-blank"]


def assert_log_refused(result: Result, elapsed: float, needle: str) -> None:
    assert_refused(
        result,
        elapsed,
        "GET /audit-events: the access API answered with data accessctl cannot read: ",
        needle,
        "does not follow the access API contract",
    )


def _hand_made_log(change: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """An admin's login, an event of a type this version does not know, and bob's promotion to
    Admin in the portal (`change` made to it)."""
    promotion = _event(
        3,
        "user.updated",
        "admin@acme.example",
        "198.51.100.7",
        before={"role": "User"},
        after={"role": "Admin"},
    )
    return [
        _event(1, "login", "admin@acme.example", "198.51.100.7"),
        UNKNOWN_TYPE,
        promotion if change is None else _spoilt(promotion, change),
    ]


def test_audit_reports_a_well_formed_log_with_an_unknown_event_type(
    hostile: Hostile, tmp_path: Path
) -> None:
    _audit_log(hostile, _hand_made_log())
    result, _ = run(["audit", config(tmp_path, hostile.url), "--detailed-exitcode", *SINCE])
    assert result.exit_code == 2, result.output
    assert "Made by hand, outside accessctl (2):" in result.output
    assert "user.updated           user bob@acme.example  (by admin@acme.example from " in (
        result.output
    )
    assert 'role: "User" → "Admin"' in result.output
    assert "store.renamed          store One" in result.output
    assert "Logins: 1 (admin@acme.example)" in result.output


def test_audit_lists_changes_in_time_order_whatever_their_zone(
    hostile: Hostile, tmp_path: Path
) -> None:
    # Before: sorted by their text, so 08:00 UTC written `10:00:00+02:00` came after 09:00 UTC.
    later = _event(3, "user.removed", "admin@acme.example", "127.0.0.1")
    earlier = _event(3, "user.invited", "admin@acme.example", "127.0.0.1")
    earlier["at"] = "2026-05-03T10:00:00+02:00"
    earlier["id"] = "evt_4"  # another event: ids are unique in a log
    _audit_log(hostile, [later, earlier])
    result, _ = run(["audit", config(tmp_path, hostile.url), *SINCE])
    assert result.exit_code == 0, result.output
    lines = [line.split()[1] for line in result.output.splitlines() if "user bob@" in line]
    assert lines == ["user.invited", "user.removed"], result.output


def test_audit_leaves_out_what_a_server_sends_from_before_since(
    hostile: Hostile, tmp_path: Path
) -> None:
    # The hostile server ignores `since=`: its log of May 2026 is months older than the last
    # 24 hours, which is all `audit` reports by default. Before, it listed every event sent.
    _audit_log(hostile, _hand_made_log())
    result, _ = run(["audit", config(tmp_path, hostile.url), "--detailed-exitcode"])
    assert result.exit_code == 0, result.output
    assert "Hand-made changes: 0." in result.output
    assert "bob@acme.example" not in result.output
    assert any("since=" in p for _, p, _ in hostile.requests)  # asked for, not given


@pytest.mark.parametrize(("change", "needle"), MALFORMED, ids=MALFORMED_IDS)
def test_audit_refuses_a_log_with_a_malformed_event(
    hostile: Hostile, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    # Before: each field was read with str() and a default, so the report showed a change made
    # at "12345" or "", "by ?", on "", from "['10.0.0.5']" as if the log were readable (exit 2
    # with made-up values, where JSON readers got them as data). Refused, as every other read.
    _audit_log(hostile, _hand_made_log(change))
    result, elapsed = run(["audit", config(tmp_path, hostile.url), "--detailed-exitcode"])
    assert_log_refused(result, elapsed, needle)
    assert "Hand-made changes" not in result.output and "Made by" not in result.output


@pytest.mark.parametrize(("change", "needle"), MALFORMED_LOGIN, ids=MALFORMED_LOGIN_IDS)
def test_audit_refuses_a_log_with_a_malformed_login(
    hostile: Hostile, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    # Before: counted as a login of " " or from "10.0.0.500" (audit shows logins apart).
    login = _spoilt(_event(3, "login", "bob@acme.example", "10.0.0.5"), change)
    _audit_log(hostile, [*_hand_made_log()[:2], login])
    result, elapsed = run(["audit", config(tmp_path, hostile.url)])
    assert_log_refused(result, elapsed, needle)
    assert "Logins:" not in result.output


def test_audit_refuses_a_log_that_holds_one_event_twice(hostile: Hostile, tmp_path: Path) -> None:
    # Before: the promotion was reported as two hand-made changes (a sealed change of accessctl
    # read twice was reported as a hand-made copy of its own header).
    log = _hand_made_log()
    _audit_log(hostile, [*log, dict(log[2])])
    result, elapsed = run(["audit", config(tmp_path, hostile.url), "--detailed-exitcode"])
    assert_refused(
        result,
        elapsed,
        "GET /audit-events: the same id appears more than once across pages",
        "Run the command again",
    )
    assert "Made by" not in result.output


def _bob_logs_in(change: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The admin's login, an event of a type this version does not know, and bob's login from
    the office (`change` made to it)."""
    login = _event(3, "login", "bob@acme.example", "10.0.0.5")
    return [
        _event(1, "login", "admin@acme.example", "127.0.0.1"),
        UNKNOWN_TYPE,
        login if change is None else _spoilt(login, change),
    ]


def test_review_reads_a_well_formed_log_with_an_unknown_event_type(
    hostile: Hostile, tmp_path: Path
) -> None:
    _audit_log(hostile, _bob_logs_in())
    path = config(tmp_path, hostile.url)
    result, _ = run(["review", path, "--today", TODAY, "--format", "json"])
    assert result.exit_code == 0, result.output
    (org,) = json.loads(result.output)["organizations"]
    bob = next(u for u in org["users"] if u["email"] == "bob@acme.example")
    assert (bob["last_login"], bob["last_login_ip"]) == ("2026-05-03T09:00:00Z", "10.0.0.5")
    assert bob["findings"] == []


@pytest.mark.parametrize(
    ("change", "needle"), [*MALFORMED, *MALFORMED_LOGIN], ids=MALFORMED_IDS + MALFORMED_LOGIN_IDS
)
def test_review_refuses_a_log_with_a_malformed_login(
    hostile: Hostile, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    # Before: bob's login was skipped, so the review said bob had not logged in for 90 days
    # (`inactive`, exit 0): evidence for an auditor, made up from a log it could not read.
    _audit_log(hostile, _bob_logs_in(change))
    path = config(tmp_path, hostile.url)
    result, elapsed = run(["review", path, "--today", TODAY, "--detailed-exitcode"])
    assert_log_refused(result, elapsed, needle)
    assert "inactive" not in result.output and "bob@acme.example" not in result.output


OFFICE = {"id": "r-office", "name": "Office", "cidr": "10.0.0.0/16", "etag": "e-office"}
LOCAL = {"id": "r-local", "name": "Local", "cidr": "127.0.0.0/8", "etag": "e-local"}


def _office_closing(hostile: Hostile, tmp_path: Path) -> str:
    """An ultimate organization with ranges Office and Local, and a config that keeps only
    Local: the plan deletes Office, so it reads the logins of the last 30 days."""
    hostile.routes["GET /organization"] = _answer(ORGANIZATION | {"plan": "ultimate"})

    def ranges(handler: Handler) -> bool:
        handler.send_json(200, {"items": [OFFICE, LOCAL], "next_cursor": None})
        return True

    hostile.routes["GET /ip-ranges"] = ranges
    path = config(tmp_path, hostile.url)
    doc = json.loads(Path(path).read_text())
    doc["ip_ranges"] = [{"name": "Local", "cidr": "127.0.0.0/8"}]
    Path(path).write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_range_impact_reads_a_well_formed_log_with_an_unknown_event_type(
    hostile: Hostile, tmp_path: Path
) -> None:
    path = _office_closing(hostile, tmp_path)
    _audit_log(hostile, _bob_logs_in())
    result, _ = run(["plan", path, "--today", TODAY, "--format", "json"])
    assert result.exit_code == 0, result.output
    (org,) = json.loads(result.output)["orgs"]
    impact = [f for f in org["findings"] if f["code"] == "range_impact"]
    assert [f["message"].split(" logged in from ")[0] for f in impact] == ["bob@acme.example"]
    assert "10.0.0.5 (last 2026-05-03T09:00:00Z)" in impact[0]["message"]


@pytest.mark.parametrize(
    ("change", "needle"), [*MALFORMED, *MALFORMED_LOGIN], ids=MALFORMED_IDS + MALFORMED_LOGIN_IDS
)
def test_range_impact_refuses_a_log_with_a_malformed_login(
    hostile: Hostile, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    # Before: bob's login was skipped, so the plan deleting the Office range warned nobody (exit
    # 0, "range_impact" nowhere): bob would have been locked out at his next token refresh.
    path = _office_closing(hostile, tmp_path)
    _audit_log(hostile, _bob_logs_in(change))
    result, elapsed = run(["plan", path, "--today", TODAY, "-o", str(tmp_path / "plan.json")])
    assert_log_refused(result, elapsed, needle)
    assert "ip_ranges/Office" not in result.output  # no plan shown from a partial view
    assert not (tmp_path / "plan.json").exists()
    assert hostile.writes() == []


def test_duplicate_ids_are_refused(hostile: Hostile, tmp_path: Path) -> None:
    org = hostile.orgs[TOKEN]
    org.users["u-bob2"] = _user("u-bob", "carol@acme.example")
    result, elapsed = run(["apply", config(tmp_path, hostile.url), "--yes"])
    assert_refused(result, elapsed, "GET /users", "the same id appears more than once")
    assert hostile.writes() == []


# -- 2. deadlines and caps ----------------------------------------------------------------------


def test_a_drip_fed_body_stops_at_the_deadline(hostile: Hostile, tmp_path: Path) -> None:
    def drip(handler: Handler) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(100):  # one byte every 0.2 s: each read finishes well within 1 s
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass
        return True

    hostile.routes["GET /users"] = drip
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(
        result,
        elapsed,
        "GET /users",
        "within the call's deadline",
        "(deadline 1s per call)",
        "ACCESSCTL_API_DEADLINE",
    )
    assert elapsed < 3


def _drip_headers(handler: Handler) -> bool:
    """The status line and headers one byte every 0.1 s: each socket wait ends well within the
    deadline, so only a deadline on the whole exchange stops it."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: a\r\n" * 100
    try:
        for byte in head:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass
    handler.close_connection = True
    return True


def test_drip_fed_headers_stop_at_the_deadline(hostile: Hostile, tmp_path: Path) -> None:
    # Before: each wait for the next byte of the status line or headers was bounded by
    # min(30 s, time left), so a server dripping them ran past $ACCESSCTL_API_DEADLINE.
    hostile.routes["GET /organization"] = _drip_headers
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(
        result,
        elapsed,
        "GET /organization: no complete answer within the call's deadline",
        "(deadline 1s per call)",
        "ACCESSCTL_API_DEADLINE",
    )
    assert elapsed < 2  # the deadline (1 s) plus a second at most
    assert [p for _, p, _ in hostile.requests] == ["/api/v1/organization"]  # not retried


def test_drip_fed_headers_of_a_write_stop_at_the_deadline(hostile: Hostile, tmp_path: Path) -> None:
    def drip(handler: Handler) -> bool:
        handler.body()
        return _drip_headers(handler)

    hostile.routes["PATCH /users/u-bob"] = drip
    result, elapsed = run(["apply", config(tmp_path, hostile.url, bob="Admin"), "--yes"])
    assert_refused(
        result, elapsed, "PATCH /users/u-bob: no complete answer within the call's deadline"
    )
    assert "outcome unknown" in result.output
    assert "applied users/bob" not in result.output
    assert elapsed < 3


def _slow(seconds: float, then: Route | None = None) -> Route:
    """Answer normally, after `seconds` (just under the call's deadline)."""

    def answer(handler: Handler) -> bool:
        time.sleep(seconds)
        return then(handler) if then is not None else False

    return answer


def test_a_run_of_slow_calls_stops_at_the_run_budget(hostile: Hostile, tmp_path: Path) -> None:
    # Every call answers within its own deadline (0.7 s of 1 s), but the list never ends: the
    # run's budget (2 s) stops it, mid-call, and says so (not the per-call deadline).
    count = iter(range(10**9))

    def endless(handler: Handler) -> bool:
        handler.send_json(200, {"items": [], "next_cursor": f"c{next(count)}"})
        return True

    hostile.routes["GET /organization"] = _slow(0.7)
    hostile.routes["GET /users"] = _slow(0.7, endless)
    result, elapsed = run(
        ["plan", config(tmp_path, hostile.url)],
        ACCESSCTL_RUN_DEADLINE="2",
        ACCESSCTL_MAX_LIST_ITEMS="1000000",
    )
    assert_refused(
        result,
        elapsed,
        "GET /users: ",
        "the run used up its budget of 2s for API calls",
        "ACCESSCTL_RUN_DEADLINE",
    )
    assert "ACCESSCTL_API_DEADLINE" not in result.output
    assert 2 <= elapsed < 3.5
    pages = sum(1 for _, p, _ in hostile.requests if p.startswith("/api/v1/users"))
    assert 2 <= pages <= 3


def test_a_retry_that_would_pass_the_run_budget_says_so(hostile: Hostile, tmp_path: Path) -> None:
    def busy(handler: Handler) -> bool:
        handler.send_json(
            503, {"status": 503, "code": "unavailable", "title": "busy"}, {"Retry-After": "1"}
        )
        return True

    hostile.routes["GET /organization"] = busy
    result, elapsed = run(["plan", config(tmp_path, hostile.url)], ACCESSCTL_RUN_DEADLINE="1.5")
    assert_refused(
        result,
        elapsed,
        "GET /organization",
        "not retried: the wait would pass the run's budget of 1.5s for API calls",
        "ACCESSCTL_RUN_DEADLINE",
    )
    assert elapsed < 2.5
    assert len(hostile.requests) == 2  # one retry fitted in the budget, the next did not


def test_a_call_after_the_run_budget_is_not_sent(hostile: Hostile) -> None:
    from reconciler.api.client import AccessApiClient
    from reconciler.errors import ApiError

    client = AccessApiClient(hostile.url, TOKEN, run_deadline=time.monotonic() - 0.1)
    with client, pytest.raises(ApiError) as caught:
        client.get("/me")
    assert caught.value.code == "run_deadline"
    assert "GET /me: not sent: the run used up its budget" in str(caught.value)
    assert "ACCESSCTL_RUN_DEADLINE" in (caught.value.hint or "")
    assert hostile.requests == []


def test_an_endless_body_stops_at_the_size_cap(hostile: Hostile, tmp_path: Path) -> None:
    def endless(handler: Handler) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"[" * 65536
        try:
            while True:
                handler.wfile.write(chunk)
                with handler.hostile.lock:
                    handler.hostile.sent_bytes += len(chunk)
        except OSError:
            pass
        return True

    hostile.routes["GET /users"] = endless
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(
        result, elapsed, "GET /users", "passed the 1 MiB cap", "ACCESSCTL_MAX_RESPONSE_BYTES"
    )
    time.sleep(0.2)
    assert hostile.sent_bytes < 16 * 1024 * 1024  # the reader stopped: bounded, not 5.5 GB


def test_an_announced_oversized_body_is_not_read(hostile: Hostile, tmp_path: Path) -> None:
    def huge(handler: Handler) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**12))
        handler.end_headers()
        return True

    hostile.routes["GET /users"] = huge
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    assert_refused(result, elapsed, "GET /users", "announces", "over the 1 MiB cap")


# -- 3. no redirects; a write is applied only when the answer is the promised object -------------


def _redirect(status: int, to: str) -> Route:
    def answer(handler: Handler) -> bool:
        handler.send_response(status)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    return answer


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_read_is_refused_and_the_token_stays_home(
    hostile: Hostile, trap: Hostile, tmp_path: Path, status: int
) -> None:
    hostile.routes["GET /users"] = _redirect(status, trap.url + "/users")
    result, elapsed = run(["plan", config(tmp_path, hostile.url)])
    port = trap.url.split(":")[2].split("/")[0]
    assert_refused(result, elapsed, f"GET /users: the API answered {status}", f"127.0.0.1:{port}")
    assert "never follows redirects" in result.output
    assert trap.requests == []


def test_a_redirected_invite_is_outcome_unknown_not_applied(
    hostile: Hostile, trap: Hostile, tmp_path: Path
) -> None:
    # Before: the 302 was followed as a GET, the user list came back, and apply printed
    # `applied users/new@… (create)`: nobody was invited.
    hostile.routes["POST /users"] = _redirect(302, trap.url + "/users")
    result, elapsed = run(["apply", config(tmp_path, hostile.url, invite=True), "--yes"])
    assert_refused(result, elapsed, "failed users/new@acme.example (create)", "outcome unknown")
    assert "redirect to http://127.0.0.1:" in result.output
    assert "applied users/new@acme.example" not in result.output
    assert trap.requests == []
    assert [m for m, _ in hostile.writes()] == ["POST"]


def test_a_success_answer_that_is_another_object_is_outcome_unknown(
    hostile: Hostile, tmp_path: Path
) -> None:
    def the_list(handler: Handler) -> bool:
        handler.body()
        handler.send_json(201, {"items": [], "next_cursor": None})
        return True

    hostile.routes["POST /users"] = the_list
    result, elapsed = run(["apply", config(tmp_path, hostile.url, invite=True), "--yes"])
    assert_refused(result, elapsed, "outcome unknown: users/new@acme.example", "`email`")
    assert "Apply complete: 0 applied, 1 failed" in result.output


# -- 4. honest outcomes -------------------------------------------------------------------------


def test_a_first_attempt_412_is_changed_since_plan(hostile: Hostile, tmp_path: Path) -> None:
    def precondition(handler: Handler) -> bool:
        handler.body()
        handler.problem(412, "precondition_failed", "etag mismatch")
        return True

    hostile.routes["PATCH /users/u-bob"] = precondition
    result, elapsed = run(["apply", config(tmp_path, hostile.url, bob="Admin"), "--yes"])
    assert_refused(result, elapsed, "changed since plan", "modified by someone else")
    assert "outcome unknown" not in result.output


def test_committed_patch_then_drop_500s_412_is_outcome_unknown(
    hostile: Hostile, tmp_path: Path
) -> None:
    # The first PATCH commits, then the connection drops before the answer; the retries get
    # 500, 500, then 412 (the etag moved: our own change). Meanwhile someone else edits bob.
    attempts = iter(range(100))

    def flaky(handler: Handler) -> bool:
        sent = handler.body()
        n = next(attempts)
        if n == 0:
            handler.org.users["u-bob"].update(sent, etag="e-after")
            handler.close_connection = True
            handler.connection.shutdown(2)
        elif n < 3:
            handler.problem(500, "server_error")
        else:
            handler.org.users["u-bob"].update(role="Settlement", etag="e-other")
            handler.problem(412, "precondition_failed")
        return True

    hostile.routes["PATCH /users/u-bob"] = flaky
    result, elapsed = run(["apply", config(tmp_path, hostile.url, bob="Admin"), "--yes"])
    assert_refused(result, elapsed, "outcome unknown: users/bob@acme.example", "run plan again")
    assert "modified by someone else" not in result.output
    assert elapsed < 8


def test_the_cross_organization_retry_sends_a_new_idempotency_key(
    hostile: Hostile, tmp_path: Path
) -> None:
    # carol is Admin in beta; acme invites her as User while beta removes her. The first invite
    # gets 409 role_conflict, which this server replays for the same key forever (SPEC §2: "the
    # first response"); once beta has run, the retry must be a new request.
    hostile.orgs[OTHER_TOKEN] = Org(
        "beta",
        [
            _user("b-admin", "root@beta.example", "Admin"),
            _user("b-carol", "carol@x.example", "Admin"),
        ],
    )
    answers: dict[str, tuple[int, dict[str, Any]]] = {}

    def invite(handler: Handler) -> bool:
        key = handler.headers["Idempotency-Key"]
        sent = handler.body()
        if key not in answers:
            held = any(
                u["email"] == sent["email"] and u["role"] != sent["role"]
                for o in handler.hostile.orgs.values()
                for u in o.users.values()
            )
            if held:
                answers[key] = (409, {"status": 409, "code": "role_conflict", "title": "conflict"})
            else:
                created = _user("u-carol", sent["email"], sent["role"], stores=sent["stores"])
                handler.org.users["u-carol"] = created
                answers[key] = (201, created)
        handler.send_json(*answers[key])
        return True

    hostile.routes["POST /users"] = invite
    acme = json.loads(Path(config(tmp_path, hostile.url)).read_text())
    acme["users"].append({"email": "carol@x.example", "role": "User", "stores": []})
    beta = {
        "organization": "beta",
        "api": {"url": hostile.url, "token_env": "OTHER_TOKEN"},
        "policy": {"unmanaged_users": "remove", "max_removals": 1},
        "users": [{"email": "root@beta.example", "role": "Admin", "stores": "all"}],
    }
    (tmp_path / "acme.yaml").write_text(json.dumps(acme))
    (tmp_path / "beta.yaml").write_text(json.dumps(beta))
    result, elapsed = run(["apply", str(tmp_path), "--yes"], OTHER_TOKEN=OTHER_TOKEN)
    assert result.exit_code == 0, result.output
    keys = [h["Idempotency-Key"] for m, p, h in hostile.requests if m == "POST"]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert "carol@x.example" in {u["email"] for u in hostile.orgs[TOKEN].users.values()}
    assert elapsed < 6
