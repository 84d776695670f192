"""Login history from the audit log: the successful logins of a window, read in one filtered
query (`GET /audit-events?since=&action=login`), never one request per user. `review` and the
plan's `range_impact` warnings read it; the clock comes in as `today`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from reconciler.live import AuditEvent
from reconciler.model import normalise_email

if TYPE_CHECKING:
    from reconciler.api import AccessApiClient


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


def fetch_events(
    client: AccessApiClient, since: datetime, actions: Sequence[str] = ("login",)
) -> list[AuditEvent]:
    """The audit events with one of `actions` at or after `since`: one list query. The whole
    answer is refused (`invalid_response`) when any event is malformed, whatever its action."""
    from reconciler.api.fetch import fetch_audit_events

    stamp = quote(since.isoformat(timespec="seconds"))
    wanted = "".join(f"&action={quote(a)}" for a in actions)
    return fetch_audit_events(client, f"?since={stamp}{wanted}")


def logins_of(events: Iterable[AuditEvent], since: datetime) -> list[Login]:
    """The `login` events at or after `since`, oldest first. The filter is applied here too: a
    server that ignores `action=` or `since=` must not make old or other events count."""
    found: list[tuple[datetime, Login]] = []
    for event in events:
        if event.action != "login":
            continue
        moment = event.moment
        if moment < since:
            continue
        login = Login(email=normalise_email(event.actor), ip=event.ip, at=event.at)
        found.append((moment, login))
    found.sort(key=lambda pair: pair[0])
    return [login for _, login in found]


def invitations_of(events: Iterable[AuditEvent]) -> dict[str, Invitation]:
    """The newest `user.invited` event per invited email."""
    newest: dict[str, tuple[datetime, Invitation]] = {}
    for event in events:
        if event.action != "user.invited":
            continue
        moment = event.moment
        email = normalise_email(event.target.name)
        if email not in newest or newest[email][0] <= moment:
            newest[email] = (moment, Invitation(email=email, at=event.at))
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
