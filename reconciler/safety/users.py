"""The rules about users: each user change (`USER_CHANGE_RULES`), and the Super Admin the
organization must keep."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from reconciler.plan import Change, Finding
from reconciler.safety.caller import caller_change_rules
from reconciler.safety.context import SUPER, TERMINATED, Context, error_finding, loses, verb


def terminated_user(ctx: Context, change: Change) -> Iterator[Finding]:
    have = ctx.live_user(change)
    if (have is not None and have.role == TERMINATED) or change.role_after == TERMINATED:
        yield error_finding(
            "terminated_user",
            f"{change.name} is Terminated: the reconciler never changes such a user; drop the "
            "declaration",
            change,
        )


def protected_user(ctx: Context, change: Change) -> Iterator[Finding]:
    if change.name in ctx.config.policy.protected and loses(change):
        yield error_finding(
            "protected_user",
            f"{change.name} is protected by policy.protected and this change would "
            f"{verb(change)} it: keep its role and declaration, or unprotect it first",
            change,
        )


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
        culprit = next((c for c in ctx.changes if loses(c, SUPER)), None)
        yield error_finding(
            "last_super_admin",
            "after this plan the organization has no Super Admin: keep at least one user with "
            "role Super Admin",
            culprit,
        )
