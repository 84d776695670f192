"""Hand-built desired and live states, and sample plans, for the plan and render tests."""

from __future__ import annotations

from typing import Any

from reconciler.findings import Location
from reconciler.live import LiveOrganization, LiveRange, LiveState, LiveStore, LiveUser, Me
from reconciler.model import DesiredOrg, OrgConfig

ROOT = "root@acme.example"
ROOT_IP = "203.0.113.10"
FILE = "acme.yaml"


def live_user(
    email: str,
    role: str = "User",
    stores: list[str] | None = None,
    *,
    type: str = "internal",
    expires_at: str | None = None,
    status: str = "active",
    id: str | None = None,
) -> LiveUser:
    return LiveUser.model_validate(
        {
            "id": id or f"u-{email.split('@')[0]}",
            "email": email,
            "type": type,
            "role": role,
            "stores": stores if stores is not None else ["MID1"],
            "expires_at": expires_at,
            "status": status,
            "etag": f"e-{email.split('@')[0]}",
        }
    )


def live_range(name: str, cidr: str, id: str | None = None) -> LiveRange:
    return LiveRange(id=id or f"r-{name}", name=name, cidr=cidr, etag=f"e-{name}")


def live_state(
    users: list[LiveUser] | None = None,
    ranges: list[LiveRange] | None = None,
    *,
    stores: tuple[str, ...] = ("MID1", "MID2"),
    me: str = ROOT,
    me_role: str = "Super Admin",
    ip: str = ROOT_IP,
    name: str = "acme-eu",
    plan: str = "ultimate",
    support: bool = True,
) -> LiveState:
    if users is None:
        users = [live_user(ROOT, "Super Admin")]
    return LiveState(
        me=Me(email=me, role=me_role, organization_id="org-1", ip=ip),
        organization=LiveOrganization(
            id="org-1",
            name=name,
            plan=plan,  # type: ignore[arg-type]
            technical_support_access=support,
            etag="e-org",
        ),
        stores=[LiveStore(id=s, name=f"Store {s}") for s in stores],
        users=users,
        ip_ranges=None if plan == "standard" else (ranges or []),
    )


def desired(**config: Any) -> DesiredOrg:
    """An org config; each user/range gets a source line in acme.yaml (users from line 20)."""
    config.setdefault("organization", "acme-eu")
    cfg = OrgConfig.model_validate(config)
    return DesiredOrg(
        config=cfg,
        files=(FILE,),
        user_sources={u.email: Location(FILE, 20 + i, 5) for i, u in enumerate(cfg.users)},
        range_sources={r.name: Location(FILE, 10 + i, 5) for i, r in enumerate(cfg.ip_ranges)},
        settings_source=Location(FILE, 3, 1),
        organization_source=Location(FILE, 1, 1),
    )


def root_decl(**extra: Any) -> dict[str, Any]:
    return {"email": ROOT, "role": "Super Admin", "stores": ["MID1"], **extra}


def sample_plan(**org_kw: Any) -> Any:
    """A plan with one change of every kind and action, a violation and a warning. The live
    `stray@` is not declared: kept and reported as drift (`unmanaged_users: report`) unless
    `policy` says otherwise (`policy={}`: the default, its removal)."""
    from reconciler.pipeline import plan_org
    from reconciler.plan import Plan

    org_kw.setdefault("policy", {"unmanaged_users": "report"})

    live = live_state(
        [
            live_user(ROOT, "Super Admin"),
            live_user("bob@acme.example", "User"),
            live_user("x@p.example"),
            live_user("stray@acme.example"),
        ],
        [live_range("Office", "203.0.113.0/24"), live_range("Old", "198.51.100.0/24")],
    )
    org = desired(
        users=[
            root_decl(),
            {"email": "bob@acme.example", "role": "Admin", "stores": "all"},
            {
                "email": "x@p.example",
                "type": "external",
                "expires": "2030-01-01",
                "stores": ["MID1"],
            },
            {"email": "new@acme.example", "role": "Read Only", "stores": ["MID1", "MID2"]},
        ],
        ip_ranges=[
            {"name": "HQ", "cidr": "203.0.113.0/24"},
            {"name": "VPN", "cidr": "192.0.2.0/28"},
        ],
        settings={"technical_support_access": False},
        **org_kw,
    )
    return Plan(
        plan_id="p-1",
        created_at="2025-01-01T00:00:00+00:00",
        config_digest="sha256:0",
        orgs=[plan_org(org, live, api_url="http://127.0.0.1:1/api/v1", token_env="ACME_TOKEN")],
    )


def empty_plan() -> Any:
    from reconciler.pipeline import plan_org
    from reconciler.plan import Plan

    org = plan_org(desired(users=[root_decl()]), live_state())
    return Plan(
        plan_id="p-0", created_at="2025-01-01T00:00:00+00:00", config_digest="d", orgs=[org]
    )
