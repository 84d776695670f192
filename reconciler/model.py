"""The vocabulary shared by the whole pipeline: the desired state, from YAML (the live state, from
the API, is `reconciler.live`'s). Pydantic models with `extra="forbid"`; the JSON Schema in
`schemas/` is generated from them.

Normalisation that cannot change meaning happens here (email case, CIDR spacing); rules that need
context (dates, other files, live state) live in `reconciler.config.rules` and `reconciler.safety`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from reconciler import emails
from reconciler.findings import Location
from reconciler.roles import Role

# How the email validator names a character no one can see; the schema check turns it into an
# `invalid_email` diagnostic with the code point in the hint.
HIDDEN_CHARACTER = "holds an invisible or control character: "
# The longest address mail can carry (RFC 5321: a path of 256 octets, less its `<>`), and what
# the email validator says of a longer one, followed by its length.
MAX_EMAIL_LENGTH = 254
TOO_LONG = "is longer than an address can be: "
MAX_IP_RANGES = 50
UserType = Literal["internal", "external"]
UnmanagedPolicy = Literal["report", "remove", "ignore"]
MAX_REMOVALS_PATTERN = r"^0*(100(\.0+)?|\d{1,2}(\.\d+)?)%$"  # 0% to 100%


def normalise_email(value: str) -> str:
    """Emails compare case-insensitively, without surrounding space and in NFC (`josé` typed
    composed or decomposed is one mailbox). `lower`, not `casefold`: folding rewrites letters
    (`ß` becomes `ss`), which would invite another mailbox."""
    return emails.normalise(value)


def normalise_cidr(value: str) -> str:
    """Remove spacing users add around the slash; the rule checks keep host bits an error."""
    return re.sub(r"\s+", "", value)


def ip_in_network(ip: str, cidr: str) -> bool:
    """Whether address `ip` lies in network `cidr`. An IPv4-mapped IPv6 address
    (`::ffff:203.0.113.7`, how a dual-stack server may see an IPv4 caller) counts as its IPv4
    address. False for anything that does not parse."""
    try:
        address = ipaddress.ip_address(ip)
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped in network
    return address in network


def canonical_cidr(value: str) -> str:
    """The network in canonical form (`10.0.0.0/24`); raises ValueError when not a network."""
    return str(ipaddress.ip_network(normalise_cidr(value), strict=True))


def _not_blank(value: str, need: str) -> str:
    """`value` without surrounding space; a blank one is an error (the API needs a name)."""
    stripped = value.strip()
    if not stripped:
        raise ValueError(f"must not be blank: {need}")
    return stripped


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Desired state


def api_url_problem(url: str) -> str | None:
    """Why `url` cannot be the access API's base URL (worded to follow the URL's name, and
    never quoting it: it may hold credentials), or None when it can be."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # a port out of range or not a number raises here
    except ValueError:
        return "is not valid (check the host and the port)"
    if port == 0 or any(c.isspace() for c in parts.netloc):
        return "is not valid (check the host and the port)"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL"
    if parts.username is not None or parts.password is not None:
        return (
            "holds credentials (`user:password@`): the API takes only the token in the variable "
            "named by api.token_env"
        )
    if parts.query or parts.fragment:
        return "has a query or fragment (`?…`, `#…`): give the API's base URL only"
    return None


class ApiConfig(_Strict):
    """Where the access API is and which environment variable holds the token."""

    url: str | None = Field(default=None, description="Base URL, e.g. https://host/api/v1")
    token_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the API token. Never the token.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str | None) -> str | None:
        problem = None if value is None else api_url_problem(value)
        if problem is not None:
            raise ValueError(f"the URL {problem}")
        return value


class Settings(_Strict):
    """Organization-wide switches."""

    technical_support_access: StrictBool | None = Field(
        default=None,
        description="Let the platform's support team log in to help. Unset: left as it is.",
    )


class Policy(_Strict):
    """How the reconciler treats what the YAML does not mention, and what it refuses to do."""

    unmanaged_users: UnmanagedPolicy = Field(
        default="remove",
        description=(
            "Live users not declared here. `remove` (the default: the YAML is authoritative, so "
            "deleting a user's lines removes the user, within max_removals and protected); "
            "`report`: kept, but named as drift (`plan --detailed-exitcode` exits 2); "
            "`ignore`: kept and not shown."
        ),
    )
    max_removals: (
        Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=MAX_REMOVALS_PATTERN)]
    ) = Field(
        default="10%",
        description=(
            "Refuse a plan that removes more users and ranges than this (a count, or a "
            "percentage of the live ones), unless forced."
        ),
    )
    protected: list[str] = Field(
        default_factory=list,
        description="Emails the reconciler never removes or demotes.",
    )
    max_super_admins: StrictInt | None = Field(
        default=None,
        ge=1,
        description="`accessctl review` flags every Super Admin when there are more than this.",
    )
    inactive_days: StrictInt = Field(
        default=90,
        ge=1,
        description="`accessctl review` flags users with no login in this many days.",
    )
    login_window_days: StrictInt = Field(
        default=30,
        ge=1,
        description=(
            "A plan that removes or narrows an allowed IP range reads this many days of logins "
            "to name the users it cuts off (`range_impact`)."
        ),
    )
    range_impact: Literal["warn", "refuse"] = Field(
        default="warn",
        description=(
            "`warn`: a user cut off by a range change is a warning; `refuse`: the plan is unsafe."
        ),
    )

    @field_validator("max_removals", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        if isinstance(value, bool):  # pydantic would take `true` as 1
            raise ValueError(
                f"must be a whole number or a percentage such as `10%`, not `{str(value).lower()}`"
            )
        return value

    @field_validator("protected")
    @classmethod
    def _fold_protected(cls, value: list[str]) -> list[str]:
        return [normalise_email(v) for v in value]

    def removal_limit(self, live_count: int) -> int:
        """The largest number of removals allowed, given how many objects are live. A percentage
        rounds up, so `10%` of a small organization still allows one removal."""
        if isinstance(self.max_removals, int):
            return self.max_removals
        percent = float(self.max_removals.rstrip("%"))
        return math.ceil(live_count * percent / 100)


class IpRange(_Strict):
    """A named network allowed to log in and use the API (ultimate plan only, at most 50)."""

    name: str = Field(min_length=1, max_length=100)
    cidr: str = Field(description="A network in CIDR notation, e.g. 203.0.113.0/24")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        return _not_blank(value, "a range needs a name")

    @field_validator("cidr")
    @classmethod
    def _strip_cidr(cls, value: str) -> str:
        return normalise_cidr(value)


class User(_Strict):
    """One person's access: internal users have a role; external users expire."""

    email: str = Field(pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")
    role: Role | None = Field(
        default=None,
        description="Required for internal users; external users are always `External User`.",
    )
    type: UserType = Field(
        default="internal",
        description="`internal` (no expiry) or `external` (must expire; role `External User`).",
    )
    expires: date | None = Field(
        default=None,
        description=(
            "The day access ends (YYYY-MM-DD): the user has access until the day before. "
            "Required for external users."
        ),
    )
    stores: list[str] | Literal["all"] = Field(
        description=(
            "Required: the store ids (MIDs) this user may see, `[]` for none, or `all` for every "
            "live store."
        ),
    )

    @field_validator("email")
    @classmethod
    def _fold_email(cls, value: str) -> str:
        hidden = emails.hidden_character(value.strip())
        if hidden is not None:
            raise ValueError(f"{HIDDEN_CHARACTER}{emails.code_point(hidden)}")
        folded = normalise_email(value)
        if len(folded) > MAX_EMAIL_LENGTH:
            raise ValueError(f"{TOO_LONG}{len(folded)}")
        return folded

    def access_ended(self, today: date) -> bool:
        """Whether an external user's access has ended by `today`: `expires` is the day access
        ends, so on that day the user has no access any more."""
        return self.type == "external" and self.expires is not None and self.expires <= today

    @property
    def effective_role(self) -> Role | None:
        if self.role is None and self.type == "external":
            return Role.EXTERNAL_USER
        return self.role


class OrgConfig(_Strict):
    """One organization's desired access state, as written in YAML (after merging files)."""

    organization: str = Field(
        min_length=1, description="Must match the live organization's name (guards the token)."
    )
    api: ApiConfig = Field(default_factory=ApiConfig)
    settings: Settings = Field(default_factory=Settings)
    policy: Policy = Field(default_factory=Policy)
    stores: dict[str, str] = Field(
        default_factory=dict,
        description="Store id -> label: the stores this organization is expected to have.",
    )
    ip_ranges: list[IpRange] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)

    @field_validator("organization")
    @classmethod
    def _strip_organization(cls, value: str) -> str:
        return _not_blank(value, "write the live organization's name")


@dataclass(frozen=True)
class DesiredOrg:
    """A validated organization config plus where each of its declarations was written."""

    config: OrgConfig
    files: tuple[str, ...]
    user_sources: dict[str, Location]  # case-folded email -> source of its declaration
    range_sources: dict[str, Location]  # range name -> source of its declaration
    settings_source: Location | None = None
    organization_source: Location | None = None
