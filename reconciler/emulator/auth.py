"""Who is calling, from where, and may they change anything: the dependencies of every route."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reconciler.emulator import audit
from reconciler.emulator.middleware import is_loopback
from reconciler.emulator.problems import Problem
from reconciler.emulator.state import EmulatorState
from reconciler.model import ip_in_network
from reconciler.roles import Role

WRITER_ROLES = frozenset({Role.SUPER_ADMIN.value, Role.ADMIN.value})
_bearer = HTTPBearer(auto_error=False, description="A principal's API token.")


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def get_state(request: Request) -> EmulatorState:
    return state_of(request)


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request."""

    org_n: int
    org_name: str
    plan: str
    user_n: int
    email: str
    role: str
    ip: str

    @property
    def org_id(self) -> str:
        return f"org_{self.org_n}"

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.SUPER_ADMIN.value


@dataclass(frozen=True)
class Writer:
    """A caller allowed to change things, with the annotation their change will carry."""

    caller: Caller
    annotation: str | None


def caller_ip(request: Request, state: EmulatorState, token_ip: str | None) -> str:
    """X-Forwarded-For (trusted, from loopback) > the token's seeded `ip` > the socket peer."""
    peer = request.client.host if request.client else "127.0.0.1"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and state.trust_forwarded_for and is_loopback(peer):
        first = forwarded.split(",")[0].strip()
        try:
            return _shown(ipaddress.ip_address(first))
        except ValueError:
            raise Problem("invalid", f"X-Forwarded-For is not an IP address: {first!r}") from None
    if token_ip:
        return token_ip
    try:
        return _shown(ipaddress.ip_address(peer))
    except ValueError:  # not an address (an in-process test client): as it is
        return peer


def _shown(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An IPv4 caller seen through a dual-stack socket (`::ffff:203.0.113.5`) as its IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    state = state_of(request)
    if credentials is None:
        raise Problem("unauthorized", "send `Authorization: Bearer <token>`")
    with state.db.read() as conn:
        row = conn.execute(
            "SELECT t.org_n, t.ip AS token_ip, t.used, o.name AS org_name, o.plan,"
            " u.n AS user_n, u.email, u.role, u.expires_at"
            " FROM tokens t JOIN organizations o ON o.n = t.org_n"
            " JOIN users u ON u.org_n = t.org_n AND u.email = t.email"
            " WHERE t.token = ?",
            (credentials.credentials,),
        ).fetchone()
        if row is None:
            raise Problem("unauthorized", "the token is unknown, or its principal was removed")
        if row["expires_at"] is not None and row["expires_at"] <= state.clock.today().isoformat():
            raise Problem(
                "unauthorized",
                f"the token's principal {row['email']} expired on {row['expires_at']}",
            )
        ip = caller_ip(request, state, row["token_ip"])
        caller = Caller(
            org_n=row["org_n"],
            org_name=row["org_name"],
            plan=row["plan"],
            user_n=row["user_n"],
            email=row["email"],
            role=row["role"],
            ip=ip,
        )
        if caller.plan == "ultimate":
            cidrs = [
                r[0]
                for r in conn.execute("SELECT cidr FROM ip_ranges WHERE org_n = ?", (caller.org_n,))
            ]
            if cidrs and not ip_in_any(ip, cidrs):
                raise Problem(
                    "ip_not_allowed",
                    f"your IP address {ip} is not in any allowed IP range of organization "
                    f"{caller.org_name}; contact an administrator of your organization",
                )
    if not row["used"]:
        _record_login(state, caller, credentials.credentials)
    return caller


def _record_login(state: EmulatorState, caller: Caller, token: str) -> None:
    with state.db.transaction() as conn:
        updated = conn.execute("UPDATE tokens SET used = 1 WHERE token = ? AND used = 0", (token,))
        if updated.rowcount:
            audit.record(
                conn,
                org_n=caller.org_n,
                actor=caller.email,
                ip=caller.ip,
                action="login",
                target={"type": "user", "id": f"usr_{caller.user_n}", "name": caller.email},
                before=None,
                after=None,
                annotation=None,
            )


def ip_in_any(ip: str, cidrs: list[str]) -> bool:
    return any(ip_in_network(ip, c) for c in cidrs)


async def get_writer(
    caller: Annotated[Caller, Depends(get_caller)],
    x_audit_annotation: Annotated[
        str | None,
        Header(
            description="Compact JSON object (at most 4096 bytes) stored on the audit event.",
        ),
    ] = None,
) -> Writer:
    if caller.role not in WRITER_ROLES:
        raise Problem(
            "forbidden", f"role {caller.role!r} may not change anything: Admin or Super Admin only"
        )
    return Writer(caller=caller, annotation=audit.parse_annotation(x_audit_annotation))


CallerDep = Annotated[Caller, Depends(get_caller)]
WriterDep = Annotated[Writer, Depends(get_writer)]
StateDep = Annotated[EmulatorState, Depends(get_state)]
