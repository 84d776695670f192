"""Request and response bodies of the access API (they document the OpenAPI file too)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic_core import PydanticCustomError

from reconciler import emails
from reconciler.roles import Role

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    email: str
    role: str
    organization_id: str
    ip: str = Field(description="The caller's address as the server sees it.")


class Organization(BaseModel):
    id: str
    name: str
    plan: Literal["standard", "ultimate"]
    technical_support_access: bool
    etag: str


class OrganizationPatch(_Body):
    technical_support_access: StrictBool


class Store(BaseModel):
    id: str
    name: str
    etag: str


class User(BaseModel):
    id: str
    email: str
    type: Literal["internal", "external"]
    role: str
    stores: list[str]
    expires_at: date | None
    status: Literal["invited", "active", "expired"]
    etag: str


class UserCreate(_Body):
    email: str = Field(
        pattern=EMAIL_PATTERN,
        max_length=254,
        description=(
            "An address that can be read as written: one holding a control, zero-width, bidi or "
            "other invisible character (U+200B, U+200C, U+200D, U+2060, U+FEFF, U+202E, ...) is "
            "422 `invalid`, as accessctl's config refuses it. Compared in NFC, lower case."
        ),
    )
    type: Literal["internal", "external"] = "internal"
    role: Role | None = Field(
        default=None, description="Required for internal users; external ones are External User."
    )
    stores: list[str] = Field(default_factory=list)
    expires_at: date | None = Field(default=None, description="Required for external users.")

    @field_validator("email")
    @classmethod
    def _visible(cls, value: str) -> str:
        """Two addresses that print the same would reach two people (`emails.hidden_character`:
        the rule `accessctl validate` applies, `invalid_email`)."""
        hidden = emails.hidden_character(value)
        if hidden is not None:
            raise PydanticCustomError(
                "invalid_email",
                "not an email address: it holds {char}, which cannot be seen or reorders the "
                "text around it",
                {"char": emails.code_point(hidden)},
            )
        return value


class UserPatch(_Body):
    role: Role | None = None
    stores: list[str] | None = None
    expires_at: date | None = None
    type: Literal["internal", "external"] | None = Field(
        default=None, description="Cannot change: remove the user and invite again."
    )


class IpRange(BaseModel):
    id: str
    name: str
    cidr: str
    etag: str


class IpRangeCreate(_Body):
    name: str = Field(min_length=1, max_length=100)
    cidr: str = Field(min_length=1, max_length=64, description="A network, e.g. 203.0.113.0/24")


class IpRangePatch(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    cidr: str | None = Field(default=None, min_length=1, max_length=64)


class AuditTarget(BaseModel):
    type: Literal["user", "ip_range", "organization"]
    id: str
    name: str


AuditAction = Literal[
    "user.invited",
    "user.updated",
    "user.removed",
    "ip_range.created",
    "ip_range.updated",
    "ip_range.deleted",
    "organization.updated",
    "login",
]


class AuditEvent(BaseModel):
    id: str
    at: str = Field(description="UTC timestamp, ISO 8601.")
    actor: str = Field(description="Email of the principal.")
    action: AuditAction
    target: AuditTarget
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    annotation: dict[str, Any] | None = Field(
        description="The request's X-Audit-Annotation, as sent."
    )
    ip: str


class StorePage(BaseModel):
    items: list[Store]
    next_cursor: str | None


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None


class IpRangePage(BaseModel):
    items: list[IpRange]
    next_cursor: str | None
    caller_ip: str


class AuditEventPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None
