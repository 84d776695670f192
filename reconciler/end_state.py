"""What an organization looks like once a plan's changes are applied: the roles of its users
and its allowed ranges, simulated from the live state. The safety rules (`reconciler.safety`)
and the range impact (`reconciler.range_impact`) are checked on it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.live import LiveState
from reconciler.model import ip_in_network, normalise_email
from reconciler.plan import Change


@dataclass(frozen=True)
class EndState:
    """What the organization looks like once every change is applied."""

    roles: dict[str, str]  # case-folded email -> role
    cidrs: list[str]


def simulate(live: LiveState, changes: Iterable[Change]) -> EndState:
    roles = {normalise_email(u.email): u.role for u in live.users}
    ranges = {r.id: r.cidr for r in live.ip_ranges or []}
    created: list[str] = []
    for change in changes:
        if change.kind == "users":
            email = change.name
            if change.action == "delete":
                roles.pop(email, None)
            elif change.after is not None:
                roles[email] = str(change.role_after)
        elif change.kind == "ip_ranges":
            if change.action == "delete" and change.id is not None:
                ranges.pop(change.id, None)
            elif change.action == "create" and change.after is not None:
                created.append(str(change.cidr_after))
            elif change.id is not None and change.after is not None:
                ranges[change.id] = str(change.cidr_after)
    return EndState(roles=roles, cidrs=[*ranges.values(), *created])


def covers(cidrs: Sequence[str], ip: str) -> bool:
    return any(ip_in_network(ip, cidr) for cidr in cidrs)
