"""The blast radius of a range change: the users whose recent logins came from addresses the
plan's end state no longer allows. They lose access when their token expires (seed: "Allowed IP
range updates take effect when a user's token expires"). Pure: the logins come in as values;
`needs_logins` says whether a plan is worth reading them for at all."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.coverage import Coverage, Network
from reconciler.coverage import networks as _networks
from reconciler.end_state import simulate
from reconciler.live import LiveState, utc_moment
from reconciler.logins import Login, last_use_of_each_address
from reconciler.model import Policy, normalise_email
from reconciler.plan import Change, Finding


def _contained(inner: Network, outer: Sequence[Network]) -> bool:
    return any(
        inner.version == n.version and inner.subnet_of(n)  # type: ignore[arg-type]
        for n in outer
    )


def needs_logins(live: LiveState, changes: Sequence[Change]) -> bool:
    """True when the plan may take an address away: a live range deleted or narrowed with no
    end state range holding all of it, or a first range that shuts out every other address.
    Creating ranges, renaming them or clearing them all takes nobody's access away."""
    if not any(c.kind == "ip_ranges" for c in changes):
        return False
    before = _networks([r.cidr for r in live.ip_ranges or []])
    after = _networks(simulate(live, changes).cidrs)
    if not after:
        return False
    if not before:
        return True
    return not all(_contained(n, after) for n in before)


def range_impact(
    live: LiveState, changes: Sequence[Change], logins: Sequence[Login], policy: Policy
) -> list[Finding]:
    """One `range_impact` finding per user who still holds access after the plan and logged in
    (within the window of `logins`) from an address a range held before the plan and none holds
    after it. A warning, or an error under `policy.range_impact: refuse`."""
    end = simulate(live, changes)
    before = Coverage([r.cidr for r in live.ip_ranges or []])
    after = Coverage(end.cidrs)
    if after.open:
        return []
    range_changes = [c for c in changes if c.kind == "ip_ranges"]
    taken = [
        (change, Coverage([str(change.before["cidr"])]))
        for change in range_changes
        if change.action != "create" and change.before and change.before.get("cidr")
    ]

    def culprit(ip: str) -> Change | None:
        """The change that took the range holding `ip` away (a first range: the first change)."""
        for change, held in taken:
            if held.holds(ip):
                return change
        return range_changes[0] if range_changes else None

    findings: list[Finding] = []
    remaining = set(end.roles)
    for email, by_ip in sorted(last_use_of_each_address(logins).items()):
        if normalise_email(email) not in remaining:
            continue  # removed by this plan, or no longer a user: nothing left to lose
        lost = sorted(
            (login for ip, login in by_ip.items() if before.holds(ip) and not after.holds(ip)),
            key=lambda login: utc_moment(login.at),
            reverse=True,
        )
        if not lost:
            continue
        cause = culprit(lost[0].ip)
        where = ", ".join(f"{login.ip} (last {login.at})" for login in lost)
        findings.append(
            Finding(
                severity="error" if policy.range_impact == "refuse" else "warning",
                code="range_impact",
                message=(
                    f"{email} logged in from {where}, which no allowed IP range holds after this "
                    "plan: they lose access when their token expires"
                    + (" (policy.range_impact: refuse)" if policy.range_impact == "refuse" else "")
                ),
                address=cause.address if cause else "ip_ranges",
                source=cause.source if cause else None,
            )
        )
    return findings
