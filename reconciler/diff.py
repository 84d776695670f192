"""Desired vs live: the changes that make the live state match the YAML, and the findings a
reviewer should see (unmanaged and Terminated users).

Both sides are normalised into the access API's field shapes first (emails case-folded, CIDRs in
canonical form, store lists sorted and de-duplicated, dates as ISO strings), then compared field
by field. The comparison is a hand-written loop over five fields per user rather than deepdiff:
one dict lookup and five equality checks per user keeps the diff linear and cheap at 100,000
users, and the changed-field list is exactly what `Change.fields` needs.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from datetime import date
from typing import Any

from reconciler.findings import Location
from reconciler.live import LiveRange, LiveState, LiveUser
from reconciler.model import (
    MAX_IP_RANGES,
    DesiredOrg,
    IpRange,
    UnmanagedPolicy,
    User,
    canonical_cidr,
    normalise_cidr,
    normalise_email,
)
from reconciler.plan import (
    NOT_DECLARED,
    RANGE_FIELDS,
    SETTINGS_FIELDS,
    UNDECLARED,
    USER_FIELDS,
    Change,
    Finding,
    address_of,
)
from reconciler.roles import Role

SUPPORT_ACCESS = SETTINGS_FIELDS[0]  # the one setting a plan manages


def cidr_key(value: str) -> str:
    """Canonical form for comparison; a live range with host bits set still compares."""
    text = normalise_cidr(value)
    try:
        return canonical_cidr(text)
    except ValueError:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            return text


def user_address(email: str) -> str:
    return address_of("users", normalise_email(email))


def range_address(name: str) -> str:
    return address_of("ip_ranges", name)


def desired_user_fields(user: User, all_stores: list[str]) -> dict[str, Any]:
    stores = all_stores if user.stores == "all" else sorted(set(user.stores))
    role = user.effective_role
    return {
        "email": user.email,
        "type": user.type,
        "role": None if role is None else role.value,
        "stores": stores,
        "expires_at": None if user.expires is None else user.expires.isoformat(),
    }


def live_user_fields(user: LiveUser) -> dict[str, Any]:
    return {
        "email": normalise_email(user.email),
        "type": user.type,
        "role": user.role,
        "stores": sorted(set(user.stores)),
        "expires_at": None if user.expires_at is None else user.expires_at.isoformat(),
    }


def diff(
    desired: DesiredOrg, live: LiveState, *, today: date | None = None
) -> tuple[list[Change], list[Finding]]:
    """Every change needed, sorted by kind and address, plus informational findings. `today`
    decides whose access has ended (never invited nor changed); None judges no expiry."""
    changes: list[Change] = []
    findings: list[Finding] = []
    changes += _diff_settings(desired, live)
    changes += _diff_ranges(desired, live)
    user_changes, user_findings = _diff_users(desired, live, today)
    changes += user_changes
    findings += user_findings
    changes.sort(key=lambda c: (c.kind, c.address, c.action))
    return changes, findings


# --------------------------------------------------------------------------------------------
# Settings


def _diff_settings(desired: DesiredOrg, live: LiveState) -> list[Change]:
    wanted = desired.config.settings.technical_support_access
    current = live.organization.technical_support_access
    if wanted is None or wanted == current:
        return []
    return [
        Change(
            address=address_of("settings", SUPPORT_ACCESS),
            kind="settings",
            action="update",
            before={SUPPORT_ACCESS: current},
            after={SUPPORT_ACCESS: wanted},
            fields=[SUPPORT_ACCESS],
            source=Location.of(desired.settings_source),
            id=live.organization.id,
            etag=live.organization.etag or None,
        )
    ]


# --------------------------------------------------------------------------------------------
# IP ranges


def ranges_managed(desired: DesiredOrg) -> bool:
    """`ip_ranges` left out of the YAML leaves the live ranges alone; `ip_ranges: []` removes
    them all."""
    return "ip_ranges" in desired.config.model_fields_set or bool(desired.config.ip_ranges)


def _diff_ranges(desired: DesiredOrg, live: LiveState) -> list[Change]:
    if not ranges_managed(desired) or live.ip_ranges is None:
        return []  # a standard-plan organization has no ranges: safety reports `plan_required`
    live_ranges = list(live.ip_ranges or [])
    live_by_name = {r.name: r for r in live_ranges}
    wanted_names = {r.name for r in desired.config.ip_ranges}
    changes: list[Change] = []
    unmatched: list[IpRange] = []
    for want in desired.config.ip_ranges:
        have = live_by_name.get(want.name)
        if have is None:
            unmatched.append(want)
        elif cidr_key(have.cidr) != cidr_key(want.cidr):
            changes.append(_range_update(desired, want, have, ["cidr"]))
    # Rename detection: a leftover live range with the same network is one rename.
    spare: dict[str, list[LiveRange]] = defaultdict(list)
    for have in live_ranges:
        if have.name not in wanted_names:
            spare[cidr_key(have.cidr)].append(have)
    creates: list[IpRange] = []
    for want in unmatched:
        candidates = spare.get(cidr_key(want.cidr))
        if candidates:
            changes.append(_range_update(desired, want, candidates.pop(0), ["name"]))
        else:
            creates.append(want)
    leftovers = sorted((have for group in spare.values() for have in group), key=lambda r: r.name)
    # Ranges are created before old ones are deleted (so nobody is locked out on the way), but
    # the platform refuses a 51st range: the creates beyond the limit reuse a leftover range in
    # place (one PATCH of name and network), so the count never passes the limit.
    overflow = min(len(live_ranges) + len(creates) - MAX_IP_RANGES, len(leftovers))
    for _ in range(max(0, overflow)):
        want = creates.pop(0)
        changes.append(_range_update(desired, want, leftovers.pop(0), list(RANGE_FIELDS)))
    for want in creates:
        changes.append(
            Change(
                address=range_address(want.name),
                kind="ip_ranges",
                action="create",
                after={"name": want.name, "cidr": cidr_key(want.cidr)},
                fields=list(RANGE_FIELDS),
                source=Location.of(desired.range_sources.get(want.name)),
            )
        )
    for have in leftovers:
        changes.append(
            Change(
                address=range_address(have.name),
                kind="ip_ranges",
                action="delete",
                before={"name": have.name, "cidr": cidr_key(have.cidr)},
                id=have.id,
                etag=have.etag or None,
            )
        )
    return changes


def _range_update(desired: DesiredOrg, want: IpRange, have: LiveRange, fields: list[str]) -> Change:
    return Change(
        address=range_address(want.name),
        kind="ip_ranges",
        action="update",
        before={"name": have.name, "cidr": cidr_key(have.cidr)},
        after={"name": want.name, "cidr": cidr_key(want.cidr)},
        fields=fields,
        source=Location.of(desired.range_sources.get(want.name)),
        id=have.id,
        etag=have.etag or None,
    )


# --------------------------------------------------------------------------------------------
# Users


def _diff_users(
    desired: DesiredOrg, live: LiveState, today: date | None
) -> tuple[list[Change], list[Finding]]:
    """Each declared user against its live namesake, then each live user not declared."""
    all_stores = sorted({s.id for s in live.stores})
    live_by_email = {normalise_email(u.email): u for u in live.users}
    found: list[Change | Finding | None] = []
    for user in desired.config.users:
        have = live_by_email.get(user.email)
        source = desired.user_sources.get(user.email)
        found.append(_diff_declared(user, have, source, all_stores, today))
    declared = {user.email for user in desired.config.users}
    policy = desired.config.policy.unmanaged_users
    for email, have in live_by_email.items():
        if email not in declared:
            found.append(_undeclared(email, have, policy))
    changes = [c for c in found if isinstance(c, Change)]
    return changes, [f for f in found if isinstance(f, Finding)]


def _diff_declared(
    user: User,
    have: LiveUser | None,
    source: Location | None,
    all_stores: list[str],
    today: date | None,
) -> Change | Finding | None:
    """The one change a declared user needs, or the one finding that it gets instead."""
    email = user.email
    if today is not None and user.access_ended(today):
        if have is not None and have.role == Role.TERMINATED.value:
            return _terminated(have, source, declared=True)
        return _ended(user, have, source)
    after = desired_user_fields(user, all_stores)
    if have is None:
        return Change(
            address=user_address(email),
            kind="users",
            action="create",
            after=after,
            fields=[f for f in USER_FIELDS if after[f] not in (None, [])],
            source=Location.of(source),
        )
    if have.role == Role.TERMINATED.value:
        return _terminated(have, source, declared=True)
    if _same(have, after):
        return None
    before = live_user_fields(have)
    fields = [f for f in USER_FIELDS if before[f] != after[f]]
    if not fields:
        return None
    return Change(
        address=user_address(email),
        kind="users",
        action="replace" if "type" in fields else "update",
        before=before,
        after=after,
        fields=fields,
        source=Location.of(source),
        id=have.id,
        etag=have.etag or None,
    )


def _undeclared(email: str, have: LiveUser, policy: UnmanagedPolicy) -> Change | Finding | None:
    """A live user the YAML does not declare: removed, reported, or left alone as
    `policy.unmanaged_users` says (a Terminated one is only ever reported)."""
    if have.role == Role.TERMINATED.value:
        return _terminated(have, None, declared=False)
    if policy == "report":
        return Finding(
            severity="warning",
            code=UNDECLARED,
            message=(
                f"{have.email} ({have.role}) has access but is not declared: this is "
                "drift; declare it in the YAML, or remove it (policy.unmanaged_users: "
                "remove, the default)"
            ),
            address=user_address(email),
        )
    if policy == "remove":
        return Change(
            address=user_address(email),
            kind="users",
            action="delete",
            before=live_user_fields(have),
            reason=NOT_DECLARED,
            id=have.id,
            etag=have.etag or None,
        )
    return None


def _ended(user: User, have: LiveUser | None, source: Location | None) -> Finding:
    """A declared external user whose access has ended: the plan neither invites nor changes
    it (the platform refuses an expiry in the past), and says so."""
    assert user.expires is not None  # access_ended() holds
    if have is None:
        done = "not invited"
    elif have.expires_at is not None and have.expires_at > user.expires:
        done = f"left as it is, although its live access runs until {have.expires_at.isoformat()}"
    else:
        done = "left as it is"
    return Finding(
        severity="warning",
        code="expiry_in_past",
        message=(
            f"{user.email}: access ended on {user.expires.isoformat()} (`expires` is the day "
            f"access ends): {done}; remove it from the YAML"
        ),
        address=user_address(user.email),
        source=Location.of(source),
    )


def _same(have: LiveUser, after: dict[str, Any]) -> bool:
    """The fast path for the common case (nothing changed), without building a dict."""
    expires = have.expires_at
    return (
        have.role == after["role"]
        and have.type == after["type"]
        and (expires.isoformat() if expires is not None else None) == after["expires_at"]
        and len(have.stores) == len(after["stores"])
        and sorted(have.stores) == after["stores"]
    )


def _terminated(have: LiveUser, source: Location | None, *, declared: bool) -> Finding:
    how = "is declared but" if declared else "is"
    return Finding(
        severity="warning" if declared else "info",
        code="terminated_user",
        message=(
            f"{have.email} {how} Terminated on the platform (cancelled agreement): accessctl "
            "never changes it" + ("; remove the declaration" if declared else "")
        ),
        address=user_address(have.email),
        source=Location.of(source),
    )
