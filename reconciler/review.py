"""Access review (SPEC §10): every live user of an organization with what they hold, whether the
YAML declares them, their last login (time and IP) and what a reviewer should look at. Evidence
for periodic user-access reviews (SOC 2 CC6.2/CC6.3, ISO 27001 A.5.18, NIST AC-2).

One read-only pass per organization: the live state (list pages, never one request per user)
and one filtered audit query for the logins and invitations of the window. `build` is pure: the
day of the review comes in as a value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.coverage import Coverage
from reconciler.live import AuditEvent, LiveState, parse_time
from reconciler.logins import Invitation, Login, invitations_of, last_logins, logins_of
from reconciler.model import DesiredOrg, normalise_email
from reconciler.roles import Role

if TYPE_CHECKING:
    from reconciler.pipeline import Progress

EXPIRING_DAYS = 14
# Finding codes, in the order a reviewer reads them.
CODES = (
    "super_admins",
    "login_outside_ranges",
    "expiring",
    "undeclared",
    "never_logged_in",
    "inactive",
)
EXPLAINED = {
    "inactive": "no login within the review window",
    "never_logged_in": "invited, never accepted",
    "expiring": f"external access ending within {EXPIRING_DAYS} days",
    "login_outside_ranges": "last login from an address no current range holds",
    "undeclared": "live but not in the YAML",
    "super_admins": "more Super Admins than policy.max_super_admins",
}


@dataclass(frozen=True)
class ReviewedUser:
    email: str
    role: str
    type: str
    stores: list[str]
    status: str
    expires: date | None
    declared: bool
    source: str | None
    last_login: str | None
    last_login_ip: str | None
    findings: list[str]
    invited_days: int | None = None  # age of a pending invitation, when the window shows it

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "role": self.role,
            "type": self.type,
            "stores": self.stores,
            "status": self.status,
            "expires": self.expires.isoformat() if self.expires else None,
            "declared": self.declared,
            "source": self.source,
            "last_login": self.last_login,
            "last_login_ip": self.last_login_ip,
            "findings": self.findings,
        }


@dataclass(frozen=True)
class OrgReview:
    organization: str
    reviewed_at: str
    window_days: int
    users: list[ReviewedUser]
    max_super_admins: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "reviewed_at": self.reviewed_at,
            "window_days": self.window_days,
            "users": [u.as_dict() for u in self.users],
        }

    def counts(self) -> Counter[str]:
        return Counter(code for user in self.users for code in user.findings)

    @property
    def flagged(self) -> list[ReviewedUser]:
        return [u for u in self.users if u.findings]


def window_days(desired: DesiredOrg, inactive_days: int | None) -> int:
    """`--inactive-days`, else `policy.inactive_days` (90 by default)."""
    return inactive_days if inactive_days is not None else desired.config.policy.inactive_days


def build(
    desired: DesiredOrg,
    live: LiveState,
    events: Sequence[AuditEvent],
    *,
    today: date,
    since: datetime,
    days: int,
) -> OrgReview:
    """The review of one organization from its live state and the audit events of the window
    (`login` and `user.invited`, at or after `since`)."""
    logins = logins_of(events, since)
    last = last_logins(logins)
    invitations = invitations_of(events)
    declared = desired.user_sources
    ranges = Coverage([r.cidr for r in live.ip_ranges or []])
    limit = desired.config.policy.max_super_admins
    supers = sum(1 for u in live.users if u.role == Role.SUPER_ADMIN.value)
    too_many_supers = limit is not None and supers > limit
    users: list[ReviewedUser] = []
    for user in sorted(live.users, key=lambda u: normalise_email(u.email)):
        email = normalise_email(user.email)
        login = last.get(email)
        invitation = invitations.get(email)
        codes = _findings(
            user.status,
            user.role,
            user.expires_at,
            login=login,
            declared=email in declared,
            ranges=ranges,
            today=today,
            too_many_supers=too_many_supers,
        )
        source = declared.get(email)
        users.append(
            ReviewedUser(
                email=user.email,
                role=user.role,
                type=user.type,
                stores=list(user.stores),
                status=user.status,
                expires=user.expires_at,
                declared=source is not None,
                source=f"{source.file}:{source.line}" if source else None,
                last_login=login.at if login else None,
                last_login_ip=login.ip if login else None,
                findings=codes,
                invited_days=_age(invitation, today) if user.status == "invited" else None,
            )
        )
    notes = []
    if too_many_supers:
        notes.append(
            f"{supers} Super Admins; policy.max_super_admins allows {limit}: demote the ones "
            "that do not need to transfer agreements or change payout bank accounts"
        )
    return OrgReview(
        organization=live.organization.name,
        reviewed_at=today.isoformat(),
        window_days=days,
        users=users,
        max_super_admins=limit,
        notes=notes,
    )


def _findings(
    status: str,
    role: str,
    expires: date | None,
    *,
    login: Login | None,
    declared: bool,
    ranges: Coverage,
    today: date,
    too_many_supers: bool,
) -> list[str]:
    found: set[str] = set()
    if status == "invited":
        found.add("never_logged_in")
    elif login is None:
        found.add("inactive")
    if expires is not None and expires <= today + timedelta(days=EXPIRING_DAYS):
        found.add("expiring")
    if login is not None and not ranges.holds(login.ip):
        found.add("login_outside_ranges")
    if not declared:
        found.add("undeclared")
    if too_many_supers and role == Role.SUPER_ADMIN.value:
        found.add("super_admins")
    return [code for code in CODES if code in found]


def _age(invitation: Invitation | None, today: date) -> int | None:
    if invitation is None:
        return None
    try:
        moment = parse_time(invitation.at)
    except ValueError:
        return None
    sent = (moment.astimezone(UTC) if moment.tzinfo is not None else moment).date()
    return max(0, (today - sent).days)


def review_paths(
    paths: Sequence[str],
    *,
    today: date,
    environ: Mapping[str, str],
    api_url: str | None = None,
    only_org: str | None = None,
    inactive_days: int | None = None,
    progress: Progress | None = None,
) -> list[OrgReview]:
    """Review every organization of the config at `paths` (only `only_org` when given): its
    live state, then one audit query for the window's logins and invitations. Read-only."""
    from reconciler.api import fetch_live_state
    from reconciler.errors import UsageError
    from reconciler.logins import fetch_events, window_start
    from reconciler.pipeline import api_target, client_for, load_desired

    orgs, _ = load_desired(paths, today=today, only_org=only_org)
    reviews: list[OrgReview] = []
    for org in orgs:
        name = org.config.organization
        url, token_env = api_target(name, org.config.api, environ, api_url)
        days = window_days(org, inactive_days)
        since = window_start(today, days)
        with client_for(url, token_env, environ, organization=name, progress=progress) as client:
            live = fetch_live_state(client)
            if live.organization.name != name:
                raise UsageError(
                    f"{name}: the token in {token_env} belongs to organization "
                    f"{live.organization.name}: nothing was reviewed",
                    hint=f"use the token of {name}",
                )
            events = fetch_events(client, since, ("login", "user.invited"))
        reviews.append(build(org, live, events, today=today, since=since, days=days))
    return reviews
