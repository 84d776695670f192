"""The rule checks of SPEC §3 that need more than one value's type: dates, other users, other
files, other organizations. Each takes merged organizations and appends diagnostics."""

from __future__ import annotations

from datetime import date

from reconciler.config.merge import MergedOrg
from reconciler.config.rules.emails import check_confusables
from reconciler.config.rules.ranges import check_ranges
from reconciler.config.rules.users import check_role_conflicts, check_users
from reconciler.findings import Finding

__all__ = ["check_all"]


def check_all(orgs: list[MergedOrg], today: date, diags: list[Finding]) -> None:
    for org in orgs:
        check_users(org, today, diags)
        check_ranges(org, diags)
    check_role_conflicts(orgs, diags)
    check_confusables(orgs, diags)
