"""Change -> the exact API requests that carry it out (SPEC §2). Pure: the executor sends these,
and `--dry-run` prints them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from reconciler.plan import (
    RANGE_FIELDS,
    SETTINGS_FIELDS,
    USER_FIELDS,
    USER_UPDATE_FIELDS,
    Change,
    idempotency_key,
)

Method = Literal["POST", "PATCH", "DELETE"]


class ApplyClient(Protocol):
    """The part of `reconciler.api.AccessApiClient` the executor uses."""

    def get(self, path: str) -> Any: ...

    def post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        annotation: str | None,
    ) -> Any: ...

    def patch(
        self, path: str, body: dict[str, Any], *, if_match: str | None, annotation: str | None
    ) -> Any: ...

    def delete(self, path: str, *, if_match: str | None, annotation: str | None) -> Any: ...


@dataclass(frozen=True)
class ApiCall:
    """One request of a change. `step` tells the two requests of a `replace` apart."""

    method: Method
    path: str
    body: dict[str, Any] | None = None
    if_match: str | None = None
    idempotency_key: str | None = None
    step: str = ""


def _collection(change: Change) -> str:
    return "/users" if change.kind == "users" else "/ip-ranges"


def _object_path(change: Change) -> str:
    if not change.id:
        raise ValueError(f"{change.address}: a {change.action} needs the live object's id")
    return f"{_collection(change)}/{change.id}"


def create_body(change: Change) -> dict[str, Any]:
    after = change.after or {}
    fields = USER_FIELDS if change.kind == "users" else RANGE_FIELDS
    body = {f: after.get(f) for f in fields if f in after}
    if change.kind == "users":
        body.setdefault("type", "internal")
        body.setdefault("stores", [])
        body.setdefault("expires_at", None)
    return body


def update_body(change: Change) -> dict[str, Any]:
    after = change.after or {}
    if change.kind == "settings":
        allowed = SETTINGS_FIELDS
    elif change.kind == "users":
        allowed = USER_UPDATE_FIELDS
    else:
        allowed = RANGE_FIELDS
    fields = change.fields or [f for f in allowed if f in after]
    return {f: after.get(f) for f in fields if f in allowed}


def calls_for(
    change: Change, plan_id: str, organization: str = "", round: int = 0
) -> list[ApiCall]:
    """The requests for one change of `organization`, in order (`round`: see idempotency_key)."""
    if change.kind == "settings":
        return [ApiCall("PATCH", "/organization", update_body(change), if_match=change.etag)]
    if change.action == "create":
        key = idempotency_key(plan_id, change, organization=organization, round=round)
        return [ApiCall("POST", _collection(change), create_body(change), idempotency_key=key)]
    if change.action == "update":
        return [ApiCall("PATCH", _object_path(change), update_body(change), if_match=change.etag)]
    if change.action == "delete":
        return [ApiCall("DELETE", _object_path(change), if_match=change.etag)]
    # replace: remove, then create again (a user's type cannot change in place)
    return [
        ApiCall("DELETE", _object_path(change), if_match=change.etag, step="delete"),
        ApiCall(
            "POST",
            _collection(change),
            create_body(change),
            idempotency_key=idempotency_key(plan_id, change, "create", organization, round),
            step="create",
        ),
    ]


def send(client: ApplyClient, call: ApiCall, annotation: str) -> Any:
    """Send one call; returns the API's answer (the object, or None for a delete)."""
    if call.method == "POST":
        return client.post(
            call.path, call.body or {}, idempotency_key=call.idempotency_key, annotation=annotation
        )
    if call.method == "PATCH":
        return client.patch(
            call.path, call.body or {}, if_match=call.if_match, annotation=annotation
        )
    return client.delete(call.path, if_match=call.if_match, annotation=annotation)
