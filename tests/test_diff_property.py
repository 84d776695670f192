"""The law that matters: applying a plan's changes to the live state yields a state whose plan is
empty, for random desired and live states."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.plan_builders import desired, live_range, live_state, live_user

from reconciler.diff import diff
from reconciler.live import LiveRange, LiveState, LiveUser
from reconciler.plan import Change

STORES = ("MID1", "MID2", "MID3")
EMAILS = [f"user{i}@acme.example" for i in range(6)]
CIDRS = ["10.0.0.0/24", "10.0.1.0/24", "192.0.2.0/28", "203.0.113.0/24"]
NAMES = ["HQ", "VPN", "Lab", "Office"]
ROLES = ["Super Admin", "Admin", "User", "Settlement", "Disputes", "Read Only"]


def _apply(live: LiveState, changes: list[Change]) -> LiveState:
    """What a faithful executor does, in memory."""
    users = {u.id: u for u in live.users}
    ranges = {r.id: r for r in live.ip_ranges or []}
    support = live.organization.technical_support_access
    for n, change in enumerate(changes):
        after: dict[str, Any] = change.after or {}
        if change.kind == "settings":
            support = bool(after["technical_support_access"])
        elif change.kind == "ip_ranges":
            if change.action == "delete":
                del ranges[str(change.id)]
            elif change.action == "create":
                ranges[f"new-{n}"] = LiveRange(id=f"new-{n}", **after)
            else:
                ranges[str(change.id)] = LiveRange(id=str(change.id), **after)
        else:
            if change.action in ("delete", "replace"):
                del users[str(change.id)]
            if change.action in ("create", "replace"):
                users[f"new-{n}"] = LiveUser(id=f"new-{n}", status="invited", **after)
            elif change.action == "update":
                old = users[str(change.id)]
                users[old.id] = LiveUser.model_validate(
                    {**old.model_dump(), **{f: after[f] for f in change.fields}}
                )
    return live.model_copy(
        update={
            "users": list(users.values()),
            "ip_ranges": list(ranges.values()),
            "organization": live.organization.model_copy(
                update={"technical_support_access": support}
            ),
        }
    )


stores = st.lists(st.sampled_from(STORES), unique=True)
internal = st.fixed_dictionaries(
    {"type": st.just("internal"), "role": st.sampled_from(ROLES), "stores": stores | st.just("all")}
)
external = st.fixed_dictionaries(
    {
        "type": st.just("external"),
        "expires": st.sampled_from(["2030-01-31", "2031-06-30"]),
        "stores": stores,
    }
)
decl_users = st.dictionaries(st.sampled_from(EMAILS), internal | external, max_size=6)
decl_ranges = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(CIDRS), max_size=4)


@st.composite
def live_users(draw: st.DrawFn) -> list[LiveUser]:
    chosen = draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=6))
    out = []
    for email in chosen:
        if draw(st.booleans()):
            user = live_user(email.upper(), draw(st.sampled_from(ROLES)), draw(stores))
        else:
            user = live_user(
                email, "External User", draw(stores), type="external", expires_at="2030-01-31"
            )
        out.append(user)
    return out


@settings(max_examples=300, deadline=None)
@given(
    users=decl_users,
    ranges=decl_ranges,
    manage_ranges=st.booleans(),
    support=st.none() | st.booleans(),
    policy=st.sampled_from(["report", "remove", "ignore"]),
    have_users=live_users(),
    have_ranges=st.dictionaries(st.sampled_from(NAMES), st.sampled_from(CIDRS), max_size=4),
    have_support=st.booleans(),
)
def test_applying_the_plan_makes_the_next_plan_empty(
    users: dict[str, dict[str, Any]],
    ranges: dict[str, str],
    manage_ranges: bool,
    support: bool | None,
    policy: str,
    have_users: list[LiveUser],
    have_ranges: dict[str, str],
    have_support: bool,
) -> None:
    config: dict[str, Any] = {
        "users": [{"email": e, **u} for e, u in users.items()],
        "settings": {"technical_support_access": support},
        "policy": {"unmanaged_users": policy},
    }
    if manage_ranges:
        config["ip_ranges"] = [{"name": n, "cidr": c} for n, c in ranges.items()]
    org = desired(**config)
    live = live_state(
        have_users,
        [live_range(n, c) for n, c in have_ranges.items()],
        stores=STORES,
        support=have_support,
    )
    changes, _ = diff(org, live)
    after = _apply(live, changes)
    again, _ = diff(org, after)
    assert again == []
