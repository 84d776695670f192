"""The invariants a plan must keep (SPEC §5), checked on the simulated end state before any
request is sent. Each violation is an error `Finding` whose message says what to do; `force`
turns only the removal limit into a warning.

Each rule is a function of a `Context` yielding findings; `check` runs the `RULES` in order (the
rules about one user change are in `USER_CHANGE_RULES`). Their codes are declared in
`reconciler.finding_codes`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from reconciler.model import (
    MAX_IP_RANGES,
    DesiredOrg,
    LiveState,
    LiveUser,
    OrgConfig,
    Role,
    ip_in_network,
    normalise_email,
    role_rank,
)
from reconciler.plan import Change, Finding, OrgPlan, Severity, SourceRef, address_of

SUPER = Role.SUPER_ADMIN.value
TERMINATED = Role.TERMINATED.value


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


def _loses(change: Change, role: str | None = None) -> bool:
    """Removed, replaced, or moved to an equal-or-lower role (optionally: loses `role`)."""
    if change.kind != "users":
        return False
    before, after = change.role_before, change.role_after
    if role is not None and before != role:
        return False
    if change.action in ("delete", "replace"):
        return True
    if change.action == "update" and "role" in change.fields and before != after:
        return role_rank(after) <= role_rank(before)
    return False


def _can_manage(role: object) -> bool:
    known = Role.of(role)
    return known is not None and known.can_manage


@dataclass(frozen=True)
class Context:
    """What a safety rule looks at: the config, the live state, the changes and their end
    state."""

    desired: DesiredOrg
    live: LiveState
    changes: Sequence[Change]
    end: EndState
    force: bool = False

    @property
    def config(self) -> OrgConfig:
        return self.desired.config

    @property
    def org_source(self) -> SourceRef | None:
        return SourceRef.of(self.desired.organization_source)

    @cached_property
    def _live_users(self) -> dict[str, LiveUser]:
        return {normalise_email(u.email): u for u in self.live.users}

    def live_user(self, change: Change) -> LiveUser | None:
        """The live user a user change is about, if there is one."""
        return self._live_users.get(change.name)


def _finding(
    code: str,
    message: str,
    change: Change | None = None,
    *,
    address: str | None = None,
    source: SourceRef | None = None,
) -> Finding:
    """An error finding, about `change` unless another address or source is given."""
    return Finding(
        severity="error",
        code=code,
        message=message,
        address=address or (change.address if change else None),
        source=source or (change.source if change else None),
    )


def organization_mismatch(ctx: Context) -> Iterator[Finding]:
    if ctx.config.organization != ctx.live.organization.name:
        yield _finding(
            "organization_mismatch",
            f"the YAML is for organization {ctx.config.organization!r} but the token belongs to "
            f"{ctx.live.organization.name!r}: check api.token_env, or fix `organization`",
            source=ctx.org_source,
        )


def insufficient_role(ctx: Context) -> Iterable[Finding]:
    return _insufficient_role(ctx.live, ctx.changes, applying=False, source=ctx.org_source)


def plan_required(ctx: Context) -> Iterator[Finding]:
    live = ctx.live
    declared_ranges = ctx.config.ip_ranges and (
        live.ip_ranges is None or live.organization.plan == "standard"
    )
    if declared_ranges:
        first = ctx.config.ip_ranges[0].name
        yield _finding(
            "plan_required",
            f"{live.organization.name} is on the standard plan, which has no allowed IP ranges: "
            "remove `ip_ranges`, or upgrade the organization to ultimate",
            address=address_of("ip_ranges", first),
            source=SourceRef.of(ctx.desired.range_sources.get(first)),
        )


def unknown_store(ctx: Context) -> Iterator[Finding]:
    name = ctx.live.organization.name
    live_stores = {s.id for s in ctx.live.stores}
    for store_id in ctx.config.stores:
        if store_id not in live_stores:
            yield _finding(
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
        if missing:
            yield _finding(
                "unknown_store",
                f"{user.email} is granted {', '.join(missing)}, which "
                f"{name} does not have: remove or correct the store id",
                address=address_of("users", user.email),
                source=SourceRef.of(ctx.desired.user_sources.get(user.email)),
            )


def too_many_ranges(ctx: Context) -> Iterator[Finding]:
    if len(ctx.end.cidrs) > MAX_IP_RANGES:
        yield _finding(
            "too_many_ranges",
            f"the plan leaves {len(ctx.end.cidrs)} allowed IP ranges; the platform allows at "
            f"most {MAX_IP_RANGES}: merge ranges into wider networks",
            address="ip_ranges",
        )


def lockout(ctx: Context) -> Iterable[Finding]:
    return _lockout(ctx.live, ctx.changes, ctx.end)


def terminated_user(ctx: Context, change: Change) -> Iterator[Finding]:
    have = ctx.live_user(change)
    if (have is not None and have.role == TERMINATED) or change.role_after == TERMINATED:
        yield _finding(
            "terminated_user",
            f"{change.name} is Terminated: the reconciler never changes such a user; drop the "
            "declaration",
            change,
        )


def protected_user(ctx: Context, change: Change) -> Iterator[Finding]:
    if change.name in ctx.config.policy.protected and _loses(change):
        yield _finding(
            "protected_user",
            f"{change.name} is protected by policy.protected and this change would "
            f"{_verb(change)} it: keep its role and declaration, or unprotect it first",
            change,
        )


def caller_change_rules(ctx: Context, change: Change) -> Iterable[Finding]:
    """`self_change` and `super_admin_required` (see `_caller_change_rules`)."""
    return _caller_change_rules(ctx.live, change, applying=False)


# The rules about one user change, in the order their findings are listed for each change.
USER_CHANGE_RULES: tuple[Callable[[Context, Change], Iterable[Finding]], ...] = (
    terminated_user,
    protected_user,
    caller_change_rules,
)


def user_changes(ctx: Context) -> Iterator[Finding]:
    for change in ctx.changes:
        if change.kind == "users":
            for rule in USER_CHANGE_RULES:
                yield from rule(ctx, change)


def last_super_admin(ctx: Context) -> Iterator[Finding]:
    had_super = any(u.role == SUPER for u in ctx.live.users)
    if had_super and SUPER not in ctx.end.roles.values():
        culprit = next((c for c in ctx.changes if _loses(c, SUPER)), None)
        yield _finding(
            "last_super_admin",
            "after this plan the organization has no Super Admin: keep at least one user with "
            "role Super Admin",
            culprit,
        )


def max_removals(ctx: Context) -> Iterable[Finding]:
    return _removal_limit(ctx.desired, ctx.live, ctx.changes, force=ctx.force)


# Every rule, in the order its findings are listed (codes: reconciler.finding_codes).
RULES: tuple[Callable[[Context], Iterable[Finding]], ...] = (
    organization_mismatch,
    insufficient_role,
    plan_required,
    unknown_store,
    too_many_ranges,
    lockout,
    user_changes,
    last_super_admin,
    max_removals,
)


def check(
    desired: DesiredOrg, live: LiveState, changes: Sequence[Change], *, force: bool = False
) -> list[Finding]:
    """Every rule broken by `changes` on `live`, in a stable order."""
    ctx = Context(desired, live, changes, simulate(live, changes), force)
    return [finding for rule in RULES for finding in rule(ctx)]


def _lockout_reason(
    live: LiveState, changes: Sequence[Change], end: EndState
) -> tuple[str, Change | None] | None:
    """Why the plan would lock the caller out, and the range change to blame; None when it
    would not. The platform refuses to change or delete the range that holds the caller's IP
    unless another range still holds it, even when that leaves no range at all (the seed: "your
    IP address must be included in at least one other existing allowed range"): an allow list
    that holds the caller can never be emptied."""
    ip = live.ip
    range_changes = [c for c in changes if c.kind == "ip_ranges"]
    if end.cidrs and not covers(end.cidrs, ip):
        culprit = next(iter(range_changes), None)
        return (
            f"after this plan no allowed IP range contains the caller's IP {ip}: the token "
            "would be locked out; add a range that covers it",
            culprit,
        )
    held = [r for r in live.ip_ranges or [] if ip_in_network(ip, r.cidr)]
    if end.cidrs or not held:
        return None
    by_id = {r.id: r for r in held}
    culprit = next((c for c in range_changes if c.id in by_id), None)
    last = by_id[culprit.id] if culprit is not None and culprit.id else held[0]
    return (
        f"this plan deletes every allowed IP range, including {last.name!r} ({last.cidr}), the "
        "last one "
        f"that holds the caller's IP {ip}: the platform refuses to remove the range that holds "
        "the caller unless another range still holds it, so an allow list that holds the caller "
        "can never be emptied; keep a range that holds it",
        culprit,
    )


# The rules that depend on who calls: checked when the plan is made for the principal that
# plans, and again when a saved plan is applied, for the principal that applies.
CALLER_RULES = frozenset({"insufficient_role", "lockout", "self_change", "super_admin_required"})


def caller_checks(live: LiveState, changes: Sequence[Change]) -> list[Finding]:
    """Every caller-dependent rule `changes` break for the principal and address of `live` (its
    `/me` and caller IP), as errors: what `apply` checks again before sending a saved plan made
    by another principal, or from another address."""
    findings = _insufficient_role(live, changes, applying=True)
    findings += _lockout(live, changes, simulate(live, changes))
    for change in changes:
        if change.kind == "users":
            findings += _caller_change_rules(live, change, applying=True)
    return findings


def _insufficient_role(
    live: LiveState,
    changes: Sequence[Change],
    *,
    applying: bool,
    source: SourceRef | None = None,
) -> list[Finding]:
    if not changes or _can_manage(live.me.role):
        return []
    if applying:
        message = (
            f"the token's principal {live.me.email} is {live.me.role}: only an Admin's or "
            "Super Admin's token can apply a plan; apply with such a token"
        )
    else:
        # A warning: a read-only token may plan (pull requests, drift); `apply` refuses it.
        message = (
            f"the token's principal {live.me.email} is {live.me.role}: this plan can be "
            "reviewed, but only an Admin's or Super Admin's token can apply it (the rules that "
            "depend on who calls are checked again for that principal when it applies)"
        )
    return [
        Finding(
            severity="error" if applying else "warning",
            code="insufficient_role",
            message=message,
            source=source,
        )
    ]


def _lockout(live: LiveState, changes: Sequence[Change], end: EndState) -> list[Finding]:
    found = _lockout_reason(live, changes, end)
    if found is None:
        return []
    message, culprit = found
    return [
        Finding(
            severity="error",
            code="lockout",
            message=message,
            address=culprit.address if culprit else "ip_ranges",
            source=culprit.source if culprit else None,
        )
    ]


def _caller_change_rules(live: LiveState, change: Change, *, applying: bool) -> list[Finding]:
    """Self-removal and the Super Admin rules for one user change. A principal that cannot apply
    at all (plans with a read-only token) gets them as warnings: they hold for whoever applies,
    and `apply` checks them again for that principal."""
    found: list[Finding] = []
    email = change.name
    role = live.me.role
    severity: Severity = "error" if applying or _can_manage(role) else "warning"
    later = "" if severity == "error" else " (checked again for the principal that applies)"

    def add(code: str, message: str) -> None:
        found.append(
            Finding(
                severity=severity,
                code=code,
                message=message + later,
                address=change.address,
                source=change.source,
            )
        )

    if email == normalise_email(live.me.email) and _loses(change):
        add(
            "self_change",
            f"{email} is the token's own principal and this change would {_verb(change)} it: "
            "run the plan with another Admin's token",
        )
    touches_super = SUPER in (change.role_before, change.role_after) and (
        change.action != "update" or "role" in change.fields
    )
    if touches_super and role != SUPER:
        add(
            "super_admin_required",
            f"{email}: only a Super Admin may grant or revoke Super Admin, and the token's "
            f"principal is {role}: use a Super Admin's token",
        )
    return found


def _verb(change: Change) -> str:
    return {"delete": "remove", "replace": "remove and re-invite"}.get(change.action, "demote")


def removal_count(changes: Iterable[Change]) -> int:
    """Users removed or replaced, and ranges deleted or moved in place (name and network both
    change: the live range is gone all the same)."""
    return sum(
        1
        for c in changes
        if (c.kind == "users" and c.action in ("delete", "replace"))
        or (c.kind == "ip_ranges" and c.action == "delete")
        or (c.kind == "ip_ranges" and c.action == "update" and {"name", "cidr"} <= set(c.fields))
    )


def grant_removals(changes: Iterable[Change]) -> int:
    """Store grants taken from users who stay (a removed user's grants go with the user, and
    count as that user's removal)."""
    total = 0
    for change in changes:
        if change.kind == "users" and change.action == "update" and "stores" in change.fields:
            before = set((change.before or {}).get("stores") or [])
            after = set((change.after or {}).get("stores") or [])
            total += len(before - after)
    return total


def _removal_limit(
    desired: DesiredOrg, live: LiveState, changes: Sequence[Change], *, force: bool
) -> list[Finding]:
    """`policy.max_removals` bounds two things alike: users and ranges removed (of those live),
    and store grants taken away (of the grants live), so one bad answer can neither remove
    everyone nor strip everyone's stores."""
    policy = desired.config.policy
    live_objects = len(live.users) + len(live.ip_ranges or [])
    live_grants = sum(len(u.stores) for u in live.users)
    checks = [
        (removal_count(changes), live_objects, "users and ranges"),
        (grant_removals(changes), live_grants, "store grants"),
    ]
    findings = []
    for removals, live_count, what in checks:
        limit = policy.removal_limit(live_count)
        if removals <= limit:
            continue
        findings.append(
            Finding(
                severity="warning" if force else "error",
                code="max_removals",
                message=(
                    f"the plan removes {removals} {what}; policy.max_removals "
                    f"({policy.max_removals} of {live_count} live) allows {limit}"
                    + (
                        ": accepted because of --force"
                        if force
                        else ": check the removals, then re-run with --force, or raise the limit"
                    )
                ),
            )
        )
    return findings


def cross_org_roles(plans: Sequence[OrgPlan], lives: Sequence[LiveState]) -> list[list[Finding]]:
    """Per organization of one run, warnings for role changes the platform will refuse: one
    email holds one role across all organizations (SPEC §1), and another organization of this
    run keeps the email with another role, or changes it at the same time (each change is then
    refused while the other organization holds the old role). A removal elsewhere is fine:
    apply retries a refused change once the other organizations have run."""
    ends = [simulate(live, plan.changes).roles for plan, live in zip(plans, lives, strict=True)]
    # A Terminated holder counts: the platform refuses the role, and accessctl never changes it.
    starts = [{normalise_email(u.email): u.role for u in live.users} for live in lives]
    found: list[list[Finding]] = [[] for _ in plans]
    for i, plan in enumerate(plans):
        for change in plan.changes:
            if change.kind != "users" or change.after is None:
                continue
            if change.action == "update" and "role" not in change.fields:
                continue
            email, wanted = change.name, change.role_after
            for j, other in enumerate(plans):
                held, kept = starts[j].get(email), ends[j].get(email)
                if j == i or held is None or held == wanted or kept is None:
                    continue
                if kept == wanted:
                    why = (
                        f"{other.organization} changes it to {wanted} too, and each change is "
                        "refused while the other organization still holds the old role; remove "
                        f"the user from {other.organization}, apply, then invite them there again"
                    )
                else:
                    why = f"{other.organization} keeps {kept}; the two organizations disagree"
                found[i].append(
                    Finding(
                        severity="warning",
                        code="role_conflict",
                        message=(
                            f"{email} holds the role {held} in {other.organization}: the "
                            f"platform keeps one role per email, so {wanted} here will be "
                            f"refused ({why})"
                        ),
                        address=change.address,
                        source=change.source,
                    )
                )
                break
    return found
