"""Fetch one organization's live state in as few requests as the contract allows.

Exactly one `GET /me`, one `GET /organization`, and list pages for `/stores`, `/users` and (on
the ultimate plan) `/ip-ranges`: `request_count == pages + 2` when nothing is retried. Never
one request per user. Any failed page fails the whole fetch: a plan is never computed from a
partial list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from reconciler.api.client import AccessApiClient, ListResult
from reconciler.errors import ApiError
from reconciler.live import (
    AuditEvent,
    LiveOrganization,
    LiveRange,
    LiveState,
    LiveStore,
    LiveUser,
    Me,
)
from reconciler.model import normalise_cidr, normalise_email

_STORES: TypeAdapter[list[LiveStore]] = TypeAdapter(list[LiveStore])
_USERS: TypeAdapter[list[LiveUser]] = TypeAdapter(list[LiveUser])
_RANGES: TypeAdapter[list[LiveRange]] = TypeAdapter(list[LiveRange])
_EVENTS: TypeAdapter[list[AuditEvent]] = TypeAdapter(list[AuditEvent])

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _unreadable(path: str, exc: ValidationError, where: str = "") -> ApiError:
    problems = exc.errors(include_url=False, include_input=False)
    shown = []
    for item in problems[:3]:
        parts = [str(part) for part in item["loc"]]
        if where and parts:
            parts = [f"{where}[{parts[0]}]", *parts[1:]]
        loc = ".".join(parts)
        shown.append(f"{loc}: {item['msg']}" if loc else item["msg"])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return ApiError(
        f"GET {path}: the access API answered with data accessctl cannot read: "
        f"{'; '.join(shown)}{more}",
        code="invalid_response",
        hint="The server does not follow the access API contract (v1); check the API URL and "
        "the server's version.",
    )


# The fields the contract (SPEC §2) promises on every object read (their types are the
# models' to check). A missing one is refused, not defaulted: a default would be a guess (a
# user without `stores` would read as holding none, an object without `etag` would be written
# without If-Match).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "/me": ("email", "role", "organization_id", "ip"),
    "/organization": ("id", "name", "plan", "technical_support_access", "etag"),
    "/stores": ("id",),
    "/users": ("id", "email", "type", "role", "stores", "expires_at", "status", "etag"),
    "/ip-ranges": ("id", "name", "cidr", "etag"),
    # The fields some command reads, whatever the event's action (see `AuditEvent`); the
    # nullable `before`, `after` and `annotation` may be left out (read as null).
    "/audit-events": ("at", "actor", "action", "target", "ip"),
}


def _required(path: str, items: Sequence[dict[str, Any]], single: bool = False) -> None:
    """Every item of `path` (or its one object, when `single`) carries each field the contract
    promises."""
    for index, item in enumerate(items):
        missing = [name for name in _REQUIRED[path] if name not in item]
        if missing:
            ident = item.get("id")
            which = f" (id {ident!r})" if isinstance(ident, str) else ""
            what = "the answer" if single else f"items[{index}]{which}"
            raise ApiError(
                f"GET {path}: the access API answered with data accessctl cannot read: "
                f"{what} has no {', '.join(f'`{m}`' for m in missing)}; "
                "accessctl plans and reports only from a complete view",
                code="invalid_response",
                hint="The server does not follow the access API contract (v1): check the API "
                "URL, or report it to the API's maintainers.",
            )


def _stores_known(stores: Sequence[LiveStore], users: Sequence[LiveUser]) -> None:
    """Every store a user holds is in the store list: a short or empty `/stores` would make
    `stores: all` plan to take every grant away."""
    known = {store.id for store in stores}
    for user in users:
        unknown = sorted(set(user.stores) - known)
        if unknown:
            held = ", ".join(unknown[:3]) + (
                f" (+{len(unknown) - 3} more)" if len(unknown) > 3 else ""
            )
            raise ApiError(
                f"GET /stores: lists {len(known)} stores, but GET /users says {user.email} holds "
                f"{held}, which the store list lacks; the live view contradicts itself, so "
                "nothing is planned from it",
                code="incoherent_live_state",
                hint="Run the command again (the stores may have changed while they were read); "
                "if it persists, the API's store list is incomplete: report it.",
            )


def _one(model: type[M], path: str, data: dict[str, Any]) -> M:
    _required(path, [data], single=True)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _unreadable(path, exc) from None


def _many(adapter: TypeAdapter[list[T]], path: str, listing: ListResult) -> list[T]:
    try:
        return adapter.validate_python(listing.items)
    except ValidationError as exc:
        raise _unreadable(path, exc, where="items") from None


def fetch_audit_events(client: AccessApiClient, query: str = "") -> list[AuditEvent]:
    """`GET /audit-events{query}`, every page, checked as every list is: an event missing a
    field or holding one of another type is refused with the whole answer, never skipped (a
    skipped change would read as no change, a skipped login as no login)."""
    listing = client.list_all(f"/audit-events{query}")
    _required("/audit-events", listing.items)
    events = _many(_EVENTS, "/audit-events", listing)
    # An event read twice would be a change counted twice, or a sealed change taken for a copy
    # of its own header (`audit`'s replay check). Events without an id are not compared.
    _unique_ids("/audit-events", [event for event in events if event.id])
    return events


def _unique_ids(path: str, items: Sequence[LiveStore | LiveUser | LiveRange | AuditEvent]) -> None:
    ids = {item.id for item in items}
    if len(ids) != len(items):
        raise ApiError(
            f"GET {path}: the same id appears more than once across pages; the listing changed "
            "while it was read, or the server's pagination is broken",
            code="invalid_response",
            hint="Run the command again; if it persists, report it to the API's maintainers.",
        )


def _unique_emails(users: Sequence[LiveUser]) -> None:
    seen: set[str] = set()
    for user in users:
        key = normalise_email(user.email)
        if key in seen:
            raise ApiError(
                f"GET /users: two users have the email {user.email} (case aside); the platform "
                "keeps one account per email, so accessctl cannot tell which to compare",
                code="invalid_response",
                hint="Report it to the API's maintainers.",
            )
        seen.add(key)


def _unique_names(ranges: Sequence[LiveRange]) -> None:
    seen: set[str] = set()
    for live in ranges:
        if live.name in seen:
            raise ApiError(
                f"GET /ip-ranges: two ranges are named {live.name!r} once the blanks around their "
                "names are trimmed, as a config writes them; accessctl cannot tell which one a "
                "config means",
                code="invalid_response",
                hint="Rename one of them in the portal, then plan again.",
            )
        seen.add(live.name)


def _as_written(live: LiveRange) -> LiveRange:
    """A live range as a config writes it: the name without surrounding blanks (YAML trims
    them), the network in canonical form (a live range with host bits set still compares)."""
    try:
        network = ipaddress.ip_network(normalise_cidr(live.cidr), strict=False)
    except ValueError:
        raise ApiError(
            f"GET /ip-ranges: the range {live.name!r} has a cidr that is not a network "
            f"({live.cidr!r}); accessctl will not judge lockout on ranges it cannot read",
            code="invalid_response",
            hint="Report it to the API's maintainers.",
        ) from None
    return live.model_copy(update={"name": live.name.strip(), "cidr": str(network)})


def fetch_organization(client: AccessApiClient) -> LiveOrganization:
    """`GET /organization`, checked as every read is (each field the contract promises, of its
    type), with its name as a config writes it (without surrounding blanks). Whatever reads the
    organization reads it here: the plan, and `audit`'s check of whose token it holds."""
    organization = _one(LiveOrganization, "/organization", client.get("/organization"))
    return organization.model_copy(update={"name": organization.name.strip()})


def _ranges(client: AccessApiClient) -> ListResult:
    """`/ip-ranges` of an organization that `/organization` says is on the ultimate plan. A
    `plan_required` answer contradicts it: read as "no ranges", it made `review` find no login
    outside the ranges the organization has, and the plan check no lockout."""
    try:
        return client.list_all("/ip-ranges")
    except ApiError as exc:
        if exc.code == "plan_required":
            raise ApiError(
                "GET /ip-ranges: answered 403 plan_required, but GET /organization says the "
                "organization is on the ultimate plan; the live view contradicts itself, so "
                "nothing is planned or reported from it",
                code="incoherent_live_state",
                hint="Run the command again (the plan may have changed while it was read); if "
                "it persists, report it to the API's maintainers.",
            ) from None
        raise


def fetch_live_state(client: AccessApiClient, *, concurrent: bool = True) -> LiveState:
    """The live state behind `client`'s token. Lists are read concurrently unless told not to."""
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="fetch") if concurrent else None

    def start(fn: Callable[[], T]) -> Future[T]:
        if pool is not None:
            return pool.submit(fn)
        done: Future[T] = Future()
        try:
            done.set_result(fn())
        except BaseException as exc:
            done.set_exception(exc)
        return done

    try:
        # `/organization` first and alone: an API that cannot be reached (or refuses the token)
        # is then one request's story, the same one in the retry lines and in the error.
        organization = fetch_organization(client)
        users_f = start(lambda: client.list_all("/users"))
        stores_f = start(lambda: client.list_all("/stores"))
        me_f = start(lambda: client.get("/me"))
        # `/organization` tells the plan: on a standard plan `/ip-ranges` can only answer 403.
        ranges_f = start(lambda: _ranges(client) if organization.plan == "ultimate" else None)
        me = _one(Me, "/me", me_f.result())
        stores_list = stores_f.result()
        users_list = users_f.result()
        ranges_list = ranges_f.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    _required("/stores", stores_list.items)
    _required("/users", users_list.items)
    if ranges_list is not None:
        _required("/ip-ranges", ranges_list.items)
    stores = _many(_STORES, "/stores", stores_list)
    users = _many(_USERS, "/users", users_list)
    ranges = None if ranges_list is None else _many(_RANGES, "/ip-ranges", ranges_list)
    _unique_ids("/stores", stores)
    _unique_ids("/users", users)
    _unique_emails(users)
    _stores_known(stores, users)
    if ranges is not None:
        _unique_ids("/ip-ranges", ranges)
        ranges = [_as_written(r) for r in ranges]
        _unique_names(ranges)
    listed_ip = ranges_list.extra.get("caller_ip") if ranges_list is not None else None
    caller_ip = listed_ip if isinstance(listed_ip, str) and listed_ip else me.ip
    # Every part is validated already: skip a second pass over 10,000 users.
    return LiveState.model_construct(
        me=me,
        organization=organization,
        stores=stores,
        users=users,
        ip_ranges=ranges,
        caller_ip=caller_ip,
    )


def fetch_many(clients: Sequence[AccessApiClient], max_workers: int = 4) -> list[LiveState]:
    """The live state of several organizations, fetched concurrently, in the clients' order.
    The first failure (in that order) is raised once every fetch has finished."""
    if not clients:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(clients))), thread_name_prefix="fetch-org"
    ) as pool:
        futures = [pool.submit(fetch_live_state, client) for client in clients]
        return [future.result() for future in futures]
