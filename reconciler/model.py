"""The vocabulary shared by the whole pipeline: desired state (from YAML) and live state (from the
API). Pydantic models with `extra="forbid"`; the JSON Schema in `schemas/` is generated from the
desired-state models.

Normalisation that cannot change meaning happens here (email case, CIDR spacing); rules that need
context (dates, other files, live state) live in `reconciler.config.rules` and `reconciler.safety`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

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


# --------------------------------------------------------------------------------------------
# Live state (what the access API answers); unknown fields from other implementations are ignored


class _Live(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Answer(_Live):
    """An object as the API sends it, read in strict mode: each field must come as the JSON type
    the contract (SPEC §2, schemas/access-api.openapi.json) gives it. Lax mode would guess:
    `"technical_support_access": "no"` read as false (JavaScript reads the string as true),
    `"expires_at": 0` as 1970-01-01. A guess about access is refused, never made."""

    model_config = ConfigDict(strict=True)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    """A JSON date as the contract writes it, `YYYY-MM-DD`, as a `date`; not a number, nor a
    date-time (a server that sends those is not the one the contract describes)."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date_from_string", "Input should be a valid date (that day does not exist)"
            ) from None
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    raise PydanticCustomError("date_type", "Input should be a valid date, written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_SPELLED = {" ".join(role.value.casefold().split()): role.value for role in Role}


def _role_as_spelled(value: str) -> str:
    """A live role as the contract spells it. A role this version does not know is kept (the
    platform may add one; it then counts for nothing), but one that is a known role written
    otherwise (`SUPER ADMIN`, `super  admin`) is refused: read as unknown, it would slip past
    every rule about Super Admins and Admins."""
    if value in _SPELLED.values():
        return value
    folded = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    if folded in _SPELLED:
        raise PydanticCustomError(
            "role_spelling",
            "the role {got} is not spelled as the contract spells {role}",
            {"got": repr(value), "role": repr(_SPELLED[folded])},
        )
    return value


LiveRole = Annotated[str, AfterValidator(_role_as_spelled)]


class Me(_Answer):
    email: str
    role: LiveRole
    organization_id: str
    ip: str


class LiveOrganization(_Answer):
    id: str
    name: str
    plan: Literal["standard", "ultimate"]
    technical_support_access: bool
    etag: str = ""


class LiveStore(_Answer):
    id: str
    name: str = ""


class LiveUser(_Answer):
    id: str
    email: str
    type: UserType
    role: LiveRole
    stores: list[str] = Field(default_factory=list)
    expires_at: IsoDate | None = None
    status: Literal["invited", "active", "expired"] = "active"
    etag: str = ""


class LiveRange(_Answer):
    id: str
    name: str
    cidr: str
    etag: str = ""


class AuditTarget(_Answer):
    """What an audit event is about: `{"type", "id", "name"}` (a type this version does not
    know is kept: the platform may add one)."""

    type: str
    id: str
    name: str


# The second of an RFC 3339 time, when it is a leap second (`23:59:60`).
_LEAP_SECOND = re.compile(r"(?<=[T ][0-9]{2}:[0-9]{2}:)60(?=[^0-9]|$)")


def parse_time(value: str) -> datetime:
    """An ISO 8601 / RFC 3339 time as a datetime (naive when it names no zone); raises
    ValueError. Besides what `fromisoformat` reads, RFC 3339 allows a lower-case `t` and `z`
    and a leap second (`23:59:60Z`, read as the second after `23:59:59`, as POSIX clocks do)."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        text = value.upper()
        leap = _LEAP_SECOND.search(text) is not None
        moment = datetime.fromisoformat(_LEAP_SECOND.sub("59", text) if leap else text)
        return moment + timedelta(seconds=1) if leap else moment


def utc_moment(value: str) -> datetime:
    """An ISO 8601 time (see `parse_time`) as an aware datetime, UTC when it names no zone."""
    moment = parse_time(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso_time(value: str) -> str:
    """An audit event's `at` as the contract writes it, an ISO 8601 time (UTC when it names no
    zone), kept as written: it is shown as the API sent it."""
    try:
        parse_time(value)
    except (ValueError, OverflowError):
        raise PydanticCustomError(
            "timestamp", "Input should be an ISO 8601 time, not {got}", {"got": repr(value[:64])}
        ) from None
    return value


@lru_cache(maxsize=4096)
def _is_address(text: str) -> bool:
    """Whether `text` is an IP address. Cached: a log of 100,000 logins comes from the few
    addresses its users work from, and parsing one costs more than the rest of its event."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class AuditEvent(_Answer):
    """An event of `GET /audit-events` (SPEC §2), read as strictly as the other answers: the
    fields a command reads are required on every event (`audit` shows each change's time, actor,
    action, target and IP), each of the JSON type the contract gives it, and `at` a time. A
    `login` must name its user (`actor`) and the address it came from (`ip`, an IP address); a
    `user.invited`, the invited email (`target.name`): `review` and the plan's `range_impact`
    reason from them, and skipping such an event would silently spare a user. An action this
    version does not know is kept, and each reader ignores it as before. `action` comes first:
    the per-action checks of the fields after it read it."""

    action: str
    at: Annotated[str, AfterValidator(_iso_time)]
    actor: str
    target: AuditTarget
    ip: str
    id: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # The request's `X-Audit-Annotation`: an object, or the JSON text as it was sent (stored
    # verbatim; text that is not a JSON object reads as no annotation: a hand-made change).
    annotation: dict[str, Any] | str | None = None

    @field_validator("actor")
    @classmethod
    def _login_names_its_user(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("action") == "login" and not value.strip():
            raise PydanticCustomError("login_actor", "a login event must name its user")
        return value

    @field_validator("target")
    @classmethod
    def _invitation_names_its_email(cls, value: AuditTarget, info: ValidationInfo) -> AuditTarget:
        if info.data.get("action") == "user.invited" and not value.name.strip():
            raise PydanticCustomError(
                "invited_email", "a user.invited event must name the invited email (`name`)"
            )
        return value

    @field_validator("ip")
    @classmethod
    def _login_comes_from_an_address(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("action") == "login" and not _is_address(value):
            raise PydanticCustomError(
                "login_ip",
                "a login event's ip should be an IP address, not {got}",
                {"got": repr(value[:64])},
            )
        return value

    @property
    def moment(self) -> datetime:
        """`at` as an aware datetime (UTC when the API names no zone)."""
        return utc_moment(self.at)


class LiveState(_Live):
    """Everything a plan is computed from. `ip_ranges` is None on a standard plan."""

    me: Me
    organization: LiveOrganization
    stores: list[LiveStore]
    users: list[LiveUser]
    ip_ranges: list[LiveRange] | None
    caller_ip: str | None = None

    @property
    def ip(self) -> str:
        """The caller's IP as the access API sees it: the `caller_ip` of the ranges list (the
        address a range change is checked against), else `/me`'s."""
        return self.caller_ip or self.me.ip
