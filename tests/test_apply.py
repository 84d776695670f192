"""The executor against a faked access API (`responses`): ordering, concurrency, failure handling,
ETags, retries and idempotency keys."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
import responses

from reconciler.annotations import AnnotationContext
from reconciler.api import AccessApiClient
from reconciler.apply import ApplyEvent, RecordingClient, execute
from reconciler.findings import Location
from reconciler.plan import Caller, Change, OrgPlan, idempotency_key

BASE = "http://127.0.0.1:9/api/v1"
CTX = AnnotationContext()


def client() -> AccessApiClient:
    return AccessApiClient(BASE, "tok-secret-123", sleep=lambda s: None, max_retries=3)


def src(line: int) -> Location:
    return Location(file="acme-eu.yaml", line=line)


def change(address: str, action: str, **kw: Any) -> Change:
    kind = address.split("/")[0]
    return Change(address=address, kind=kind, action=action, **kw)  # type: ignore[arg-type]


def org(*changes: Change) -> OrgPlan:
    return OrgPlan(
        organization="acme-eu",
        live_fingerprint="sha256:x",
        caller=Caller(email="root@acme.example", role="Super Admin", ip="203.0.113.10"),
        changes=list(changes),
    )


INVITE = change(
    "users/bob@acme.example",
    "create",
    after={
        "email": "bob@acme.example",
        "type": "internal",
        "role": "User",
        "stores": ["MID1"],
        "expires_at": None,
    },
    source=src(20),
)
ADD_RANGE = change(
    "ip_ranges/Office", "create", after={"name": "Office", "cidr": "198.51.100.0/24"}, source=src(9)
)
DEMOTE = change(
    "users/old@acme.example",
    "update",
    id="u-old",
    etag="e-old",
    before={"role": "Super Admin"},
    after={"role": "Admin", "stores": ["MID1"]},
    fields=["role"],
    source=src(30),
)
REMOVE = change("users/gone@acme.example", "delete", id="u-gone", etag="e-gone", source=None)
DROP_RANGE = change("ip_ranges/HQ", "delete", id="r-hq", etag="e-hq")
SETTINGS = change(
    "settings/technical_support_access",
    "update",
    etag="e-org",
    before={"technical_support_access": True},
    after={"technical_support_access": False},
    fields=["technical_support_access"],
    source=src(4),
)


def echo(status: int, **extra: str) -> Any:
    """A callback answering with the object the contract promises: what was sent, plus ids."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body or "{}")
        return status, {}, json.dumps({**sent, **extra})

    return answer


def register_all(rsps: responses.RequestsMock) -> None:
    rsps.add_callback(responses.PATCH, f"{BASE}/organization", callback=echo(200, etag="e2"))
    rsps.add_callback(responses.POST, f"{BASE}/ip-ranges", callback=echo(201, id="r-new"))
    rsps.add_callback(responses.POST, f"{BASE}/users", callback=echo(201, id="u-bob"))
    rsps.add_callback(responses.PATCH, f"{BASE}/users/u-old", callback=echo(200, id="u-old"))
    rsps.add(responses.DELETE, f"{BASE}/users/u-gone", status=204)
    rsps.add(responses.DELETE, f"{BASE}/ip-ranges/r-hq", status=204)


def sent(rsps: responses.RequestsMock) -> list[tuple[str, str]]:
    return [(c.request.method or "", c.request.path_url) for c in rsps.calls]


@responses.activate
def test_phases_run_in_order_and_map_to_requests() -> None:
    register_all(responses.mock)
    plan = org(DROP_RANGE, REMOVE, DEMOTE, INVITE, ADD_RANGE, SETTINGS)
    result = execute(plan, client(), plan_id="p1", annotations=CTX, parallelism=8)
    assert result.ok and result.count("applied") == 6
    order = sent(responses.mock)
    assert set(order[:2]) == {("PATCH", "/api/v1/organization"), ("POST", "/api/v1/ip-ranges")}
    assert order[2:] == [
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/u-old"),
        ("DELETE", "/api/v1/users/u-gone"),
        ("DELETE", "/api/v1/ip-ranges/r-hq"),
    ]
    bodies = {c.request.path_url: c.request.body for c in responses.mock.calls}
    assert json.loads(bodies["/api/v1/organization"]) == {"technical_support_access": False}
    assert json.loads(bodies["/api/v1/users/u-old"]) == {"role": "Admin"}
    assert json.loads(bodies["/api/v1/users"]) == INVITE.after
    by_path = {c.request.path_url: c.request.headers for c in responses.mock.calls}
    assert by_path["/api/v1/organization"]["If-Match"] == "e-org"
    assert by_path["/api/v1/users/u-old"]["If-Match"] == "e-old"
    assert by_path["/api/v1/users"]["Idempotency-Key"] == idempotency_key(
        "p1", INVITE, organization="acme-eu"
    )
    for call in responses.mock.calls:
        annotation = json.loads(call.request.headers["X-Audit-Annotation"])
        assert annotation["tool"] == "accessctl" and annotation["plan"] == "p1"
    annotation = json.loads(by_path["/api/v1/users"]["X-Audit-Annotation"])
    assert annotation["source"] == "acme-eu.yaml:20"
    assert annotation["change"] == "users/bob@acme.example"


@responses.activate
def test_failure_stops_later_phases_and_names_the_source() -> None:
    register_all(responses.mock)
    responses.replace(
        responses.POST,
        f"{BASE}/users",
        status=409,
        json={"status": 409, "code": "role_conflict", "title": "Conflict", "detail": "holds Admin"},
    )
    events: list[ApplyEvent] = []
    result = execute(
        org(INVITE, ADD_RANGE, REMOVE, DROP_RANGE),
        client(),
        plan_id="p1",
        annotations=CTX,
        on_event=events.append,
    )
    statuses = {r.change.address: (r.status, r.code) for r in result.results}
    assert statuses == {
        "ip_ranges/Office": ("applied", None),
        "users/bob@acme.example": ("failed", "role_conflict"),
        "users/gone@acme.example": ("skipped", "skipped"),
        "ip_ranges/HQ": ("skipped", "skipped"),
    }
    skipped = [r for r in result.results if r.status == "skipped"]
    assert all("users/bob@acme.example failed" in (r.message or "") for r in skipped)
    assert ("DELETE", "/api/v1/users/u-gone") not in sent(responses.mock)
    assert not result.ok
    assert [e.status for e in events if e.change is INVITE] == ["started", "failed"]
    failed = next(r for r in result.results if r.status == "failed")
    assert failed.as_dict()["source"] == "acme-eu.yaml:20"


PRECONDITION = {"status": 412, "code": "precondition_failed", "title": "Precondition failed"}


@responses.activate
def test_412_is_reported_as_changed_since_plan_and_not_overwritten() -> None:
    responses.add(responses.PATCH, f"{BASE}/users/u-old", status=412, json=PRECONDITION)
    result = execute(org(DEMOTE), client(), plan_id="p1", annotations=CTX)
    (only,) = result.results
    assert only.status == "failed" and only.code == "precondition_failed"
    assert only.message is not None
    assert "changed since plan" in only.message and "acme-eu.yaml:30" in only.message
    assert sent(responses.mock) == [("PATCH", "/api/v1/users/u-old")]  # no GET, no retry


@responses.activate
def test_retried_patch_answered_412_is_applied_when_object_already_matches() -> None:
    responses.add(responses.PATCH, f"{BASE}/users/u-old", status=503)
    responses.add(responses.PATCH, f"{BASE}/users/u-old", status=412, json=PRECONDITION)
    responses.add(
        responses.GET, f"{BASE}/users/u-old", json={"id": "u-old", "role": "Admin", "etag": "e9"}
    )
    result = execute(org(DEMOTE), client(), plan_id="p1", annotations=CTX)
    assert result.ok
    assert sent(responses.mock)[-1] == ("GET", "/api/v1/users/u-old")


@responses.activate
def test_retried_patch_answered_412_is_outcome_unknown_when_object_differs() -> None:
    # The 500 may have committed the change before someone else changed the object again: that
    # is not "changed since plan" (nobody may have), but "outcome unknown: plan again".
    responses.add(responses.PATCH, f"{BASE}/users/u-old", status=500)
    responses.add(responses.PATCH, f"{BASE}/users/u-old", status=412, json=PRECONDITION)
    responses.add(
        responses.GET, f"{BASE}/users/u-old", json={"id": "u-old", "role": "User", "etag": "e9"}
    )
    result = execute(org(DEMOTE), client(), plan_id="p1", annotations=CTX)
    (only,) = result.results
    assert only.code == "outcome_unknown"
    assert only.message is not None and only.message.startswith("outcome unknown: users/")
    assert "run plan again" in only.message and "changed since plan" not in only.message


@responses.activate
def test_a_success_answer_that_is_not_the_promised_object_is_outcome_unknown() -> None:
    # A proxy answering 200 with something else (a login page as JSON, the user list): nobody
    # may have been invited, so the invite is not reported as applied.
    responses.add(responses.POST, f"{BASE}/users", status=201, json={"items": []})
    responses.add(responses.PATCH, f"{BASE}/users/u-old", json={"id": "u-old", "role": "User"})
    for change_, what in ((INVITE, "`email`"), (DEMOTE, "`role`")):
        (only,) = execute(org(change_), client(), plan_id="p1", annotations=CTX).results
        assert (only.status, only.code) == ("failed", "outcome_unknown")
        assert what in (only.message or "") and "run plan again" in (only.message or "")


@responses.activate
def test_retried_delete_answered_404_is_applied_when_gone() -> None:
    responses.add(responses.DELETE, f"{BASE}/users/u-gone", body=requests.ConnectionError("drop"))
    responses.add(responses.DELETE, f"{BASE}/users/u-gone", status=404, json={"code": "not_found"})
    responses.add(responses.GET, f"{BASE}/users/u-gone", status=404, json={"code": "not_found"})
    assert execute(org(REMOVE), client(), plan_id="p1", annotations=CTX).ok


@responses.activate
def test_first_attempt_404_on_delete_is_a_conflict() -> None:
    responses.add(responses.DELETE, f"{BASE}/users/u-gone", status=404, json={"code": "not_found"})
    result = execute(org(REMOVE), client(), plan_id="p1", annotations=CTX)
    assert result.results[0].status == "failed"
    assert "no longer exists" in (result.results[0].message or "")


@responses.activate
def test_replace_deletes_then_creates_with_step_key() -> None:
    replace = change(
        "users/ext@partner.example",
        "replace",
        id="u-ext",
        etag="e-ext",
        after={
            "email": "ext@partner.example",
            "type": "external",
            "role": "External User",
            "stores": [],
            "expires_at": "2030-01-01",
        },
    )
    responses.add(responses.DELETE, f"{BASE}/users/u-ext", status=204)
    responses.add_callback(responses.POST, f"{BASE}/users", callback=echo(201, id="u2"))
    assert execute(org(replace), client(), plan_id="p7", annotations=CTX).ok
    assert sent(responses.mock) == [("DELETE", "/api/v1/users/u-ext"), ("POST", "/api/v1/users")]
    post = responses.mock.calls[1].request
    assert post.headers["Idempotency-Key"] == idempotency_key("p7", replace, "create", "acme-eu")
    assert json.loads(post.headers["X-Audit-Annotation"])["step"] == "create"


def test_idempotency_keys_are_deterministic_per_plan_and_change() -> None:
    assert idempotency_key("p1", INVITE) == idempotency_key("p1", INVITE)
    assert idempotency_key("p1", INVITE) != idempotency_key("p2", INVITE)
    assert idempotency_key("p1", INVITE) != idempotency_key("p1", INVITE, "create")
    assert idempotency_key("p1", INVITE, organization="a") != idempotency_key(
        "p1", INVITE, organization="b"
    )  # one email invited to two organizations by one plan: two keys

    keys = []
    for _ in range(2):
        with responses.RequestsMock() as rsps:
            rsps.add(responses.POST, f"{BASE}/users", status=201, json={"id": "u", "etag": "e"})
            execute(org(INVITE), client(), plan_id="p1", annotations=CTX)
            keys.append(rsps.calls[0].request.headers["Idempotency-Key"])
    assert keys[0] == keys[1]


@responses.activate
def test_changes_in_a_phase_run_concurrently_but_bounded() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return 201, {}, request.body or "{}"  # type: ignore[return-value]

    responses.add_callback(responses.POST, f"{BASE}/users", callback=slow)
    invites = [
        change(f"users/u{i}@acme.example", "create", after={"email": f"u{i}@acme.example"})
        for i in range(12)
    ]
    result = execute(org(*invites), client(), plan_id="p1", annotations=CTX, parallelism=3)
    assert result.ok and result.count("applied") == 12
    assert peak == 3


@responses.activate
def test_dry_run_client_records_exact_requests_and_sends_nothing() -> None:
    recorder = RecordingClient("acme-eu")
    plan = org(INVITE, DEMOTE, SETTINGS)
    result = execute(plan, recorder, plan_id="p1", annotations=CTX, parallelism=1)
    assert result.ok
    assert len(responses.mock.calls) == 0
    assert [(r.method, r.path) for r in recorder.requests] == [
        ("PATCH", "/organization"),
        ("POST", "/users"),
        ("PATCH", "/users/u-old"),
    ]
    invite = recorder.requests[1]
    assert invite.headers["Idempotency-Key"] == idempotency_key("p1", INVITE, "", "acme-eu")
    assert invite.body == INVITE.after
    text = "\n".join(r.render(BASE) for r in recorder.requests)
    assert "If-Match: e-old" in text and "X-Audit-Annotation: {" in text
    assert "Authorization" not in text and "tok-secret" not in text


def test_parallelism_must_be_positive() -> None:
    with pytest.raises(ValueError, match="parallelism"):
        execute(org(), RecordingClient("x"), plan_id="p", annotations=CTX, parallelism=0)


def test_a_missing_plan_file_is_named_as_such(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    result = CliRunner().invoke(cli, ["apply", str(tmp_path / "plan.json"), "--yes"])
    assert result.exit_code == 1
    assert f"Error: no such plan file: {tmp_path / 'plan.json'}\n" in result.output
