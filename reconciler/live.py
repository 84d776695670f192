"""The live state, as the access API answers it: `/me`, `/organization`, `/stores`, `/users`,
`/ip-ranges` and the audit log's events. Read in pydantic's strict mode (each field of the JSON
type the contract gives it: SPEC §2, `schemas/access-api.openapi.json`); fields of other
implementations that the contract does not name are ignored. The desired state, from YAML, is
`reconciler.model`'s.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.model import UserType
from reconciler.roles import Role


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
_ROLE_NAMES = frozenset(_SPELLED.values())


def _role_as_spelled(value: str) -> str:
    """A live role as the contract spells it. A role this version does not know is kept (the
    platform may add one; it then counts for nothing), but one that is a known role written
    otherwise (`SUPER ADMIN`, `super  admin`) is refused: read as unknown, it would slip past
    every rule about Super Admins and Admins."""
    if value in _ROLE_NAMES:
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


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zero, as `ipaddress`
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _is_address(text: str) -> bool:
    """Whether `text` is an IP address: an IPv4 address by one regular expression (what
    `ipaddress` accepts, ten times as fast: a log holds 100,000 logins), else by `ipaddress`."""
    return _IPV4.fullmatch(text) is not None or _parsed(text)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> bool:
    """Whether `ipaddress` reads `text` as an address (cached: the few IPv6 addresses users work
    from repeat)."""
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
