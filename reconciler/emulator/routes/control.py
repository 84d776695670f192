"""`/_emulator/...`: loopback-only controls for tests (faults, reset, outbox, counts, clock, and
the invitee's side of an invitation)."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from reconciler.emulator import audit
from reconciler.emulator.auth import StateDep
from reconciler.emulator.faults import FaultSettings
from reconciler.emulator.problems import Problem, invalid
from reconciler.model import normalise_email

router = APIRouter(prefix="/_emulator", include_in_schema=False)


class Acceptance(BaseModel):
    """An invitee accepts: `email`'s invitations (in `organization` only, when named)."""

    model_config = ConfigDict(extra="forbid")
    email: str
    organization: str | None = None


class Login(BaseModel):
    """`email` logs in to `organization` from `ip`, now: a `login` audit event."""

    model_config = ConfigDict(extra="forbid")
    organization: str
    email: str
    ip: str


class TimeSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    today: date | None = None


@router.get("/faults")
def get_faults(state: StateDep) -> FaultSettings:
    return state.faults.settings


@router.put("/faults")
def put_faults(settings: FaultSettings, state: StateDep) -> FaultSettings:
    state.faults.configure(settings)
    return state.faults.settings


@router.post("/reset")
def reset(state: StateDep) -> dict[str, Any]:
    """Back to the start: the seed's data, the startup faults, the real date, no request counts."""
    state.reset()
    return {"reset": True}


@router.get("/outbox")
def outbox(state: StateDep) -> dict[str, Any]:
    with state.db.read() as conn:
        rows = conn.execute(
            "SELECT x.n, o.name, x.email, x.user_id, x.role, x.sent_at FROM outbox x"
            " JOIN organizations o ON o.n = x.org_n ORDER BY x.n"
        ).fetchall()
    return {
        "items": [
            {
                "id": r["n"],
                "organization": r["name"],
                "to": r["email"],
                "user_id": r["user_id"],
                "role": r["role"],
                "sent_at": r["sent_at"],
            }
            for r in rows
        ]
    }


@router.post("/invitations/accept")
def accept_invitation(body: Acceptance, state: StateDep) -> dict[str, Any]:
    """The invited user follows the e-mail's link: `invited` becomes `active` (a new etag)."""
    with state.db.transaction() as conn:
        accepted = conn.execute(
            "UPDATE users SET accepted = 1, version = version + 1"
            " WHERE email = ? AND accepted = 0"
            " AND (? IS NULL OR org_n = (SELECT n FROM organizations WHERE name = ?))",
            (normalise_email(body.email), body.organization, body.organization),
        ).rowcount
    return {"accepted": accepted}


@router.post("/logins", status_code=201)
def record_login(body: Login, state: StateDep) -> dict[str, Any]:
    """A successful login of `email` from `ip`, as the platform records one (tests use it to
    build login history without a token per user)."""
    try:
        ip = str(ipaddress.ip_address(body.ip.strip()))
    except ValueError:
        raise invalid("ip", f"ip={body.ip!r} is not an IP address") from None
    email = normalise_email(body.email)
    with state.db.transaction() as conn:
        row = conn.execute(
            "SELECT u.n, u.org_n FROM users u JOIN organizations o ON o.n = u.org_n"
            " WHERE o.name = ? AND u.email = ?",
            (body.organization, email),
        ).fetchone()
        if row is None:
            raise Problem("not_found", f"no user {email} in organization {body.organization!r}")
        audit.record(
            conn,
            org_n=row["org_n"],
            actor=email,
            ip=ip,
            action="login",
            target={"type": "user", "id": f"usr_{row['n']}", "name": email},
            before=None,
            after=None,
            annotation=None,
        )
    return {"organization": body.organization, "email": email, "ip": ip}


@router.get("/requests")
def request_counts(state: StateDep) -> dict[str, Any]:
    counts = state.requests.snapshot()
    return {"counts": counts, "total": sum(counts.values())}


@router.delete("/requests")
def reset_request_counts(state: StateDep) -> dict[str, Any]:
    state.requests.reset()
    return {"counts": {}, "total": 0}


@router.get("/time")
def get_time(state: StateDep) -> dict[str, Any]:
    return {
        "today": state.clock.today().isoformat(),
        "pinned": state.clock.today_override is not None,
    }


@router.post("/time")
def set_time(setting: TimeSetting, state: StateDep) -> dict[str, Any]:
    state.clock.today_override = setting.today
    return get_time(state)


@router.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}
