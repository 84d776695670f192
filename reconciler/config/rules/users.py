"""User rules: one declaration per email, role and type agree, expiry dates, store grants."""

from __future__ import annotations

from datetime import date

from reconciler.config.merge import MergedOrg, UserEntry
from reconciler.config.rules._common import diag
from reconciler.config.shape import FileConfig
from reconciler.findings import Finding, Location
from reconciler.roles import Role

EXPIRY_WARNING_DAYS = 14


def check_users(org: MergedOrg, today: date, diags: list[Finding]) -> None:
    first: dict[str, tuple[FileConfig, int]] = {}
    for email, file, index in org.emails:
        if email in first:
            diags.append(
                diag(
                    _email_source(file, index),
                    "duplicate_email",
                    f"`{email}` is declared twice in organization `{org.name}`: here and at "
                    f"{_email_source(*first[email])}",
                    "emails compare case-insensitively and in Unicode NFC; keep one declaration",
                )
            )
        else:
            first[email] = (file, index)
    declared = org.known_stores
    for entry in org.users:
        _check_role(entry, diags)
        _check_expiry(entry, today, diags)
        _check_stores(entry, org.name, declared, diags)


def _email_source(file: FileConfig, index: int) -> Location:
    return file.doc.locate(("users", index, "email"))


def _check_role(entry: UserEntry, diags: list[Finding]) -> None:
    user = entry.user
    if user.role is Role.TERMINATED:
        diags.append(
            diag(
                entry.locate("role"),
                "terminated_declared",
                f"`{user.email}` is declared with role `Terminated`",
                "the platform assigns `Terminated`; the reconciler never does: choose another "
                "role or remove the user",
            )
        )
    elif user.type == "external" and user.role not in (None, Role.EXTERNAL_USER):
        diags.append(
            diag(
                entry.locate("role"),
                "external_role",
                f"external user `{user.email}` has role `{user.role}`",
                "external users always have role `External User`: remove `role:` or make the "
                "user internal",
            )
        )
    elif user.type == "internal" and user.role is Role.EXTERNAL_USER:
        diags.append(
            diag(
                entry.locate("role"),
                "external_role",
                f"internal user `{user.email}` has role `External User`",
                "`External User` is the role of external users: add `type: external` and "
                "`expires:`, or choose another role (e.g. `Read Only`)",
            )
        )
    elif user.type == "internal" and user.role is None:
        diags.append(
            diag(
                entry.locate(),
                "missing_role",
                f"internal user `{user.email}` has no `role`",
                "add `role:` (e.g. `Read Only`), or `type: external` with `expires:`",
            )
        )


def _check_expiry(entry: UserEntry, today: date, diags: list[Finding]) -> None:
    user = entry.user
    if user.type == "internal":
        if user.expires is not None:
            diags.append(
                diag(
                    entry.locate("expires"),
                    "internal_with_expiry",
                    f"internal user `{user.email}` has an `expires` date",
                    "only external users expire: remove `expires:` or add `type: external`",
                )
            )
        return
    if user.expires is None:
        diags.append(
            diag(
                entry.locate(),
                "external_without_expiry",
                f"external user `{user.email}` has no `expires` date",
                "add `expires: YYYY-MM-DD`: external access must end",
            )
        )
    elif user.access_ended(today):
        # A warning, never an error: the day a contractor's access ends must not stop the
        # pipelines of every organization in the repository.
        diags.append(
            diag(
                entry.locate("expires"),
                "expiry_in_past",
                f"external user `{user.email}`: access ended on {user.expires.isoformat()} "
                "(`expires` is the day access ends)",
                "remove the user from the YAML (`plan` never invites or changes a user whose "
                f"access has ended), or set a date after {today.isoformat()} to extend it",
                severity="warning",
            )
        )
    # days between, not `today + timedelta(14)`: that overflows near 9999-12-31
    elif (days := (user.expires - today).days) <= EXPIRY_WARNING_DAYS:
        diags.append(
            diag(
                entry.locate("expires"),
                "expiry_soon",
                f"external user `{user.email}` loses access in {days} day"
                f"{'' if days == 1 else 's'} ({user.expires.isoformat()})",
                "extend `expires:` if the access is still needed",
                severity="warning",
            )
        )


def _check_stores(
    entry: UserEntry, org_name: str, declared: dict[str, str] | None, diags: list[Finding]
) -> None:
    """`declared`: the organization's `stores:` map, None when it declares none."""
    stores = entry.user.stores
    if stores == "all":
        return
    unique = set(stores)
    if len(unique) == len(stores) and (declared is None or unique <= declared.keys()):
        return  # the common case, without a per-store loop
    seen: set[str] = set()
    for position, store in enumerate(stores):
        if store in seen:
            diags.append(
                diag(
                    entry.locate("stores", position),
                    "duplicate_store_grant",
                    f"store `{store}` is listed twice for `{entry.user.email}`",
                    severity="warning",
                )
            )
        seen.add(store)
        if declared is not None and store not in declared:
            known = ", ".join(sorted(declared)[:5])
            diags.append(
                diag(
                    entry.locate("stores", position),
                    "undeclared_store",
                    f"store `{store}` is not declared in `stores:` of organization `{org_name}`",
                    f"declared stores: {known}{', ...' if len(declared) > 5 else ''}"
                    if declared
                    else "add it to `stores:`",
                )
            )


def check_role_conflicts(orgs: list[MergedOrg], diags: list[Finding]) -> None:
    """One role per email across all organizations (the platform refuses the second invite)."""
    holder: dict[str, tuple[Role, MergedOrg, UserEntry]] = {}
    for org in orgs:
        for entry in org.users:
            role = entry.user.effective_role
            if role is None:
                continue
            email = entry.user.email
            if email not in holder:
                holder[email] = (role, org, entry)
                continue
            first_role, first_org, first_entry = holder[email]
            if first_org is org or first_role is role:
                continue
            diags.append(
                diag(
                    entry.locate("role") if entry.user.role else entry.locate(),
                    "role_conflict_across_orgs",
                    f"`{email}` has role `{role}` in `{org.name}` but `{first_role}` in "
                    f"`{first_org.name}` at {first_entry.locate()}",
                    "an email holds one role across all organizations: use the same role, or a "
                    "different email",
                )
            )
