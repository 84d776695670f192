"""The roles a user may hold, spelled as on the wire, and what each may do: its rank (a change to
a lower one is a demotion), whether it may manage users and ranges, whether a grant of it is one
a reviewer should look at twice."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Access roles, spelled exactly as on the wire."""

    SUPER_ADMIN = "Super Admin"
    ADMIN = "Admin"
    USER = "User"
    SETTLEMENT = "Settlement"
    DISPUTES = "Disputes"
    TERMINATED = "Terminated"
    READ_ONLY = "Read Only"
    EXTERNAL_USER = "External User"

    @classmethod
    def of(cls, value: object) -> Role | None:
        """The role spelled `value`, or None (a live user may hold a role this version does
        not know)."""
        try:
            return cls(str(value))
        except ValueError:
            return None

    @property
    def rank(self) -> int:
        """Higher means more power; a change to a lower rank (or a lateral one) is a demotion."""
        return _ROLE_RANK[self]

    @property
    def can_manage(self) -> bool:
        """May change users and IP ranges (the roles a token must hold to apply a plan)."""
        return self in (Role.SUPER_ADMIN, Role.ADMIN)

    @property
    def is_power(self) -> bool:
        """A grant a reviewer should look at twice."""
        return self in (Role.SUPER_ADMIN, Role.ADMIN)


_ROLE_RANK = {
    Role.SUPER_ADMIN: 70,
    Role.ADMIN: 60,
    Role.USER: 50,
    Role.EXTERNAL_USER: 40,
    Role.SETTLEMENT: 30,
    Role.DISPUTES: 30,
    Role.READ_ONLY: 20,
    Role.TERMINATED: 0,
}


def role_rank(value: object) -> int:
    """The rank of the role spelled `value` (0 for a role this version does not know)."""
    role = Role.of(value)
    return 0 if role is None else role.rank


ROLE_NAMES: tuple[str, ...] = tuple(r.value for r in Role)
