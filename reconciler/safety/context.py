"""What a safety rule looks at (`Context`), and the small judgements the rules share: whether a
change takes a role away, whether a role may manage users, and the error finding itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from reconciler.end_state import EndState
from reconciler.findings import Location
from reconciler.live import LiveState, LiveUser
from reconciler.model import DesiredOrg, OrgConfig, normalise_email
from reconciler.plan import Change, Finding
from reconciler.roles import Role, role_rank

SUPER = Role.SUPER_ADMIN.value
TERMINATED = Role.TERMINATED.value


@dataclass(frozen=True)
class Context:
    """What a safety rule looks at: the config, the live state, the changes and their end
    state."""

    desired: DesiredOrg
    live: LiveState
    changes: Sequence[Change]
    end: EndState
    force: bool = False
    today: date | None = None  # decides whose access has ended (None: nobody's)

    @property
    def config(self) -> OrgConfig:
        return self.desired.config

    @property
    def org_source(self) -> Location | None:
        return Location.of(self.desired.organization_source)

    @cached_property
    def _live_users(self) -> dict[str, LiveUser]:
        return {normalise_email(u.email): u for u in self.live.users}

    def live_user(self, change: Change) -> LiveUser | None:
        """The live user a user change is about, if there is one."""
        return self._live_users.get(change.name)


def error_finding(
    code: str,
    message: str,
    change: Change | None = None,
    *,
    address: str | None = None,
    source: Location | None = None,
) -> Finding:
    """An error finding, about `change` unless another address or source is given."""
    return Finding(
        severity="error",
        code=code,
        message=message,
        address=address or (change.address if change else None),
        source=source or (change.source if change else None),
    )


def loses(change: Change, role: str | None = None) -> bool:
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


def can_manage(role: object) -> bool:
    known = Role.of(role)
    return known is not None and known.can_manage


def verb(change: Change) -> str:
    """What a change that `loses` does to its user, in a message."""
    return {"delete": "remove", "replace": "remove and re-invite"}.get(change.action, "demote")
