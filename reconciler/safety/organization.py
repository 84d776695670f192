"""The rules about the organization as declared: the token's organization, its plan, its
stores, and how many ranges the plan leaves it."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Location
from reconciler.model import MAX_IP_RANGES
from reconciler.plan import Finding, address_of
from reconciler.safety.context import Context, error_finding


def organization_mismatch(ctx: Context) -> Iterator[Finding]:
    if ctx.config.organization != ctx.live.organization.name:
        yield error_finding(
            "organization_mismatch",
            f"the YAML is for organization {ctx.config.organization!r} but the token belongs to "
            f"{ctx.live.organization.name!r}: check api.token_env, or fix `organization`",
            source=ctx.org_source,
        )


def plan_required(ctx: Context) -> Iterator[Finding]:
    live = ctx.live
    declared_ranges = ctx.config.ip_ranges and (
        live.ip_ranges is None or live.organization.plan == "standard"
    )
    if declared_ranges:
        first = ctx.config.ip_ranges[0].name
        yield error_finding(
            "plan_required",
            f"{live.organization.name} is on the standard plan, which has no allowed IP ranges: "
            "remove `ip_ranges`, or upgrade the organization to ultimate",
            address=address_of("ip_ranges", first),
            source=Location.of(ctx.desired.range_sources.get(first)),
        )


def unknown_store(ctx: Context) -> Iterator[Finding]:
    name = ctx.live.organization.name
    live_stores = {s.id for s in ctx.live.stores}
    for store_id in ctx.config.stores:
        if store_id not in live_stores:
            yield error_finding(
                "unknown_store",
                f"store {store_id} is declared but {name} has no such store: "
                "remove it, or check the MID",
                address=f"stores/{store_id}",
                source=ctx.org_source,
            )
    for user in ctx.config.users:
        if user.stores == "all":
            continue
        missing = sorted(set(user.stores) - live_stores)
        if not missing:
            continue
        granted = f"{user.email} is granted {', '.join(missing)}, which {name} does not have"
        address = address_of("users", user.email)
        source = Location.of(ctx.desired.user_sources.get(user.email))
        if ctx.today is None or not user.access_ended(ctx.today):
            yield error_finding(
                "unknown_store",
                f"{granted}: remove or correct the store id",
                address=address,
                source=source,
            )
        else:  # access ended: neither invited nor changed, so the grant is never sent
            yield Finding(
                severity="warning",
                code="unknown_store",
                message=f"{granted}; the user's access has ended, so the plan neither invites nor "
                "changes them and the store list is not used: remove or correct the store id",
                address=address,
                source=source,
            )


def too_many_ranges(ctx: Context) -> Iterator[Finding]:
    if len(ctx.end.cidrs) > MAX_IP_RANGES:
        yield error_finding(
            "too_many_ranges",
            f"the plan leaves {len(ctx.end.cidrs)} allowed IP ranges; the platform allows at "
            f"most {MAX_IP_RANGES}: merge ranges into wider networks",
            address="ip_ranges",
        )
