"""Helpers of the tests that read login history (range impact, review; no tests here): a seed
of one organization with its logins, and a hand-built live organization of plain users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.live import LiveOrganization, LiveRange, LiveState, LiveUser, Me


def acme_with_logins(
    *,
    stores: Sequence[dict[str, str]],
    ranges: Sequence[dict[str, str]],
    users: Sequence[dict[str, Any]],
    tokens: Sequence[dict[str, str]],
    logins: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """An emulator seed of one organization, `acme` on the ultimate plan, with its login
    history (`{"email", "ip", "at"}` each)."""
    return {
        "organizations": [
            {
                "name": "acme",
                "plan": "ultimate",
                "stores": list(stores),
                "ip_ranges": list(ranges),
                "users": list(users),
                "tokens": list(tokens),
                "logins": list(logins),
            }
        ]
    }


def live_org(name: str, emails: Sequence[str], *, cidrs: Sequence[str] | None = None) -> LiveState:
    """Organization `name` as fetched by an Admin from 127.0.0.1: `emails` are internal users
    with role User and no stores; `cidrs` its allowed ranges on the ultimate plan, or None for
    the standard plan (no ranges)."""
    org_id = f"org_{name}"
    return LiveState(
        me=Me(email=f"root@{name}.example", role="Admin", organization_id=org_id, ip="127.0.0.1"),
        organization=LiveOrganization(
            id=org_id,
            name=name,
            plan="standard" if cidrs is None else "ultimate",
            technical_support_access=True,
        ),
        stores=[],
        users=[
            LiveUser(id=f"usr_{i}", email=email, type="internal", role="User")
            for i, email in enumerate(emails)
        ],
        ip_ranges=None
        if cidrs is None
        else [LiveRange(id=f"r{i}", name=f"R{i}", cidr=cidr) for i, cidr in enumerate(cidrs)],
    )
