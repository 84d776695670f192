"""Every finding code a plan can carry (besides the config warnings `validate` reports, listed
in `reconciler.config.codes`), with a one-line meaning. The README's "Plan findings" table lists
exactly these (a test checks).

Codes are stable: CI scripts and reviewers match on them. Add new ones; never rename or reuse.
"""

from __future__ import annotations

FINDING_CODES: dict[str, str] = {
    # Safety rules (reconciler.safety.RULES), errors unless noted
    "organization_mismatch": "the YAML's `organization` is not the token's organization",
    "insufficient_role": "warning: the token can plan but not apply (neither Admin nor Super)",
    "plan_required": "IP ranges declared for an organization on the standard plan",
    "unknown_store": "a store named in the YAML is not live",
    "too_many_ranges": "the end state has more than 50 ranges",
    "lockout": "no end-state range holds the caller's IP, or the last one that does is deleted",
    "terminated_user": "a `Terminated` user, reported and never changed",
    "protected_user": "a `policy.protected` user would be removed or demoted",
    "self_change": "the token's own principal would be removed or demoted",
    "super_admin_required": "Super Admin granted or revoked with a token that is not Super Admin",
    "last_super_admin": "the end state has no Super Admin",
    "max_removals": "more removals than `policy.max_removals` (a warning with `--force`)",
    # Across the organizations of one run (reconciler.safety.cross_org_roles)
    "role_conflict": "warning: another organization of the run holds this email with another role",
    # Drift the diff reports (reconciler.diff)
    "unmanaged_user": "warning: a live user the YAML does not declare, kept (`report`)",
    "expiry_in_past": "warning: a declared external user whose access has ended",
    # Users a range change cuts off, from their logins (reconciler.range_impact)
    "range_impact": "warning (error with `policy.range_impact: refuse`): a user a range cuts off",
    # Declared against live (reconciler.pipeline.lookalikes)
    "confusable_email": "warning: a declared email that is not live looks like a live one",
}
