"""Login history from the audit log: the successful logins of a window, read in one filtered
query (`GET /audit-events?since=&action=login`), never one request per user. `review` and the
plan's `range_impact` warnings read it; the clock comes in as `today`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from reconciler.model import normalise_email


class ListClient(Protocol):
    def list_all(self, path: str) -> Any: ...


@dataclass(frozen=True)
class Login:
    """A successful login: who, from where, when (the API's ISO time, UTC)."""

    email: str  # case-folded
    ip: str
    at: str


@dataclass(frozen=True)
class Invitation:
    email: str  # case-folded
    at: str


def window_start(today: date, days: int) -> datetime:
    """The first moment of a window of `days` days ending with `today` (00:00 UTC)."""
    return datetime.combine(today - timedelta(days=days), time.min, UTC)


def _moment(value: Any) -> datetime | None:
    """An event's `at` as an aware datetime (UTC when the API omits the zone), or None."""
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fetch_events(
    client: ListClient, since: datetime, actions: Sequence[str] = ("login",)
) -> list[dict[str, Any]]:
    """The audit events with one of `actions` at or after `since`: one list query."""
    stamp = quote(since.isoformat(timespec="seconds"))
    wanted = "".join(f"&action={quote(a)}" for a in actions)
    listing = client.list_all(f"/audit-events?since={stamp}{wanted}")
    items: Iterable[dict[str, Any]] = getattr(listing, "items", listing)
    return list(items)


def logins_of(events: Iterable[dict[str, Any]], since: datetime) -> list[Login]:
    """The `login` events at or after `since`, oldest first. The filter is applied here too: a
    server that ignores `action=` or `since=` must not make old or other events count."""
    found: list[tuple[datetime, Login]] = []
    for event in events:
        if event.get("action") != "login" or not event.get("actor") or not event.get("ip"):
            continue
        moment = _moment(event.get("at"))
        if moment is None or moment < since:
            continue
        email = normalise_email(str(event["actor"]))
        found.append((moment, Login(email=email, ip=str(event["ip"]), at=str(event["at"]))))
    found.sort(key=lambda pair: pair[0])
    return [login for _, login in found]


def invitations_of(events: Iterable[dict[str, Any]]) -> dict[str, Invitation]:
    """The newest `user.invited` event per invited email."""
    newest: dict[str, tuple[datetime, Invitation]] = {}
    for event in events:
        if event.get("action") != "user.invited":
            continue
        target = event.get("target")
        name = target.get("name") if isinstance(target, dict) else None
        moment = _moment(event.get("at"))
        if not name or moment is None:
            continue
        email = normalise_email(str(name))
        if email not in newest or newest[email][0] <= moment:
            newest[email] = (moment, Invitation(email=email, at=str(event["at"])))
    return {email: pair[1] for email, pair in newest.items()}


def last_logins(logins: Iterable[Login]) -> dict[str, Login]:
    """The newest login per email (`logins` oldest first, as `logins_of` returns them)."""
    return {login.email: login for login in logins}


def last_use_of_each_address(logins: Iterable[Login]) -> dict[str, dict[str, Login]]:
    """email -> ip -> the newest login from that address."""
    table: dict[str, dict[str, Login]] = {}
    for login in logins:
        table.setdefault(login.email, {})[login.ip] = login
    return table
