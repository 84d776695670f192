"""Seed fixtures: the worlds the emulator starts with (YAML or JSON, the shape of issue 3)."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.model import normalise_email
from reconciler.roles import ROLE_NAMES


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedStore(_Seed):
    id: str = Field(min_length=1)
    name: str = ""


class SeedRange(_Seed):
    name: str = Field(min_length=1)
    cidr: str

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        return str(ipaddress.ip_network(value.strip(), strict=True))


class SeedUser(_Seed):
    email: str = Field(min_length=3)
    role: str | None = None
    type: Literal["internal", "external"] = "internal"
    stores: list[str] | Literal["all"] = Field(default_factory=list)
    expires_at: date | None = None
    status: Literal["invited", "active"] = "active"

    @field_validator("email")
    @classmethod
    def _fold(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is not None and value not in ROLE_NAMES:
            raise ValueError(f"unknown role {value!r}")
        return value


class SeedToken(_Seed):
    token: str = Field(min_length=1)
    email: str
    ip: str | None = None

    @field_validator("email")
    @classmethod
    def _fold(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_address(value.strip()))


class SeedLogin(_Seed):
    """A successful login in the past: recorded as a `login` audit event at `at`."""

    email: str
    ip: str
    at: datetime

    @field_validator("email")
    @classmethod
    def _fold(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("ip")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value.strip()))

    def stamp(self) -> str:
        """`at` as the audit log writes times (UTC, microseconds, `Z`); naive times are UTC."""
        moment = self.at if self.at.tzinfo is not None else self.at.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class SeedOrganization(_Seed):
    name: str = Field(min_length=1)
    plan: Literal["standard", "ultimate"] = "standard"
    technical_support_access: bool = True
    stores: list[SeedStore] = Field(default_factory=list)
    ip_ranges: list[SeedRange] = Field(default_factory=list)
    users: list[SeedUser] = Field(default_factory=list)
    tokens: list[SeedToken] = Field(default_factory=list)
    logins: list[SeedLogin] = Field(default_factory=list)


class Seed(_Seed):
    organizations: list[SeedOrganization] = Field(default_factory=list)


class SeedError(ValueError):
    """The seed fixture cannot be used; the message says why."""


def load_seed_file(path: str | Path) -> Seed:
    """Read a YAML or JSON seed file (JSON is read with the json module: fast for big worlds)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SeedError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SeedError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    data: Any
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    else:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        try:
            data = YAML(typ="safe", pure=False).load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            raise SeedError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
        except YAMLError as exc:
            raise SeedError(f"{path}: invalid YAML: {exc}") from None
    try:
        return parse_seed(data or {})
    except SeedError as exc:
        raise SeedError(f"{path}: {exc}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    """`organizations[0].users[2].role` from pydantic's location tuple."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "the top level"


def parse_seed(data: Any) -> Seed:
    try:
        seed = Seed.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()[:5]
        )
        more = exc.error_count() - 5
        raise SeedError(
            f"invalid seed: {problems}" + (f" (and {more} more)" if more > 0 else "")
        ) from None
    for org in seed.organizations:
        emails = {u.email for u in org.users}
        for token in org.tokens:
            if token.email not in emails:
                raise SeedError(f"token for {token.email} in {org.name}: no such user")
        for login in org.logins:
            if login.email not in emails:
                raise SeedError(f"login of {login.email} in {org.name}: no such user")
        if len(emails) != len(org.users):
            raise SeedError(f"duplicate user emails in {org.name}")
        if len({r.name for r in org.ip_ranges}) != len(org.ip_ranges):
            raise SeedError(f"duplicate ip range names in {org.name}")
        if len(org.ip_ranges) > 50:  # what the API refuses may not be seeded either
            raise SeedError(f"{org.name}: {len(org.ip_ranges)} ip ranges; the API allows 50")
        for user in org.users:
            where = f"user {user.email} in {org.name}"
            if user.type == "internal" and user.expires_at is not None:
                raise SeedError(f"{where}: internal users do not expire")
            if user.type == "external" and user.role not in (None, "External User", "Terminated"):
                raise SeedError(f"{where}: an external user's role is External User")
            if user.type == "internal" and user.role == "External User":
                raise SeedError(f"{where}: 'External User' is the role of external users")
        store_ids = {s.id for s in org.stores}
        for user in org.users:
            if isinstance(user.stores, list) and not set(user.stores) <= store_ids:
                unknown = sorted(set(user.stores) - store_ids)
                raise SeedError(f"user {user.email} in {org.name}: unknown stores {unknown}")
    return seed


def apply_seed(conn: sqlite3.Connection, seed: Seed) -> None:
    """Insert a seed into an empty database, inside the caller's transaction."""
    for org in seed.organizations:
        cur = conn.execute(
            "INSERT INTO organizations (name, plan, technical_support_access) VALUES (?, ?, ?)",
            (org.name, org.plan, int(org.technical_support_access)),
        )
        org_n = cur.lastrowid
        conn.executemany(
            "INSERT INTO stores (org_n, id, name) VALUES (?, ?, ?)",
            [(org_n, s.id, s.name or s.id) for s in org.stores],
        )
        conn.executemany(
            "INSERT INTO ip_ranges (org_n, name, cidr) VALUES (?, ?, ?)",
            [(org_n, r.name, r.cidr) for r in org.ip_ranges],
        )
        rows = []
        for user in org.users:
            role = user.role or ("External User" if user.type == "external" else "Read Only")
            expires = user.expires_at.isoformat() if user.expires_at else None
            accepted = int(user.status == "active")
            rows.append((org_n, user.email, user.type, role, expires, accepted))
        conn.executemany(
            "INSERT INTO users (org_n, email, type, role, expires_at, accepted)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        numbers = dict(conn.execute("SELECT email, n FROM users WHERE org_n = ?", (org_n,)))
        all_stores = [s.id for s in org.stores]
        conn.executemany(
            "INSERT INTO user_stores (user_n, store_id) VALUES (?, ?)",
            (
                (numbers[user.email], store)
                for user in org.users
                for store in dict.fromkeys(all_stores if user.stores == "all" else user.stores)
            ),
        )
        conn.executemany(
            "INSERT INTO tokens (token, org_n, email, ip) VALUES (?, ?, ?, ?)",
            [(t.token, org_n, t.email, t.ip) for t in org.tokens],
        )
        conn.executemany(
            "INSERT INTO audit_events (org_n, at, actor, action, target, ip)"
            " VALUES (?, ?, ?, 'login', ?, ?)",
            [
                (
                    org_n,
                    login.stamp(),
                    login.email,
                    json.dumps(
                        {"type": "user", "id": f"usr_{numbers[login.email]}", "name": login.email}
                    ),
                    login.ip,
                )
                for login in sorted(org.logins, key=SeedLogin.stamp)
            ],
        )
