"""`export` writes YAML that plans to zero changes: unit, property and end-to-end tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.emulators import EmulatorPool
from support.plan_builders import ROOT, live_range, live_state, live_user

from reconciler.cli import cli
from reconciler.config import load
from reconciler.config.reformat import format_text
from reconciler.diff import diff
from reconciler.emails import hidden_character
from reconciler.emulator.testing import EmulatorProcess
from reconciler.export import export_yaml
from reconciler.live import LiveState, LiveUser

TODAY = date(2025, 6, 1)
STORES = ("MID1", "MID2", "MID3", "?q")  # `?q` plain in a flow list reads as a mapping
ROLES = ["Super Admin", "Admin", "User", "Settlement", "Disputes", "Read Only", "Terminated"]
NAMES = ["HQ", "VPN egress", "Lab: 2nd floor", "Zürich office", "#hash", "v6", "?q", "a", "B"]
CIDRS = ["10.0.0.0/24", "10.1.0.0/16", "192.0.2.0/28", "2001:db8::/32", "203.0.113.0/24", "::1/128"]


def _export(live: LiveState) -> str:
    return export_yaml(live, api_url="http://127.0.0.1:9/api/v1", token_env="ACME", today=TODAY)


def _plan_of(text: str, tmp: Path, live: LiveState) -> tuple[list[object], list[str]]:
    path = tmp / "exported.yaml"
    path.write_text(text, encoding="utf-8")
    result = load([str(path)], today=TODAY)
    errors = [f"{d.where} {d.code} {d.message}" for d in result.diagnostics if d.is_error]
    assert not errors, text
    (org,) = result.orgs
    changes, _ = diff(org, live, today=TODAY)
    return list(changes), errors


def test_export_layout_and_no_token() -> None:
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID2", "MID1"]),
            live_user("x@p.example", "External User", type="external", expires_at="2027-01-01"),
            live_user("old@p.example", "External User", type="external", expires_at="2025-05-01"),
            live_user("t@acme.example", "Terminated"),
        ],
        [live_range("HQ", "203.0.113.0/24")],
    )
    text = _export(live)
    assert text.splitlines()[:4] == [
        "# yaml-language-server: $schema=schemas/accessctl.schema.json",
        "# Exported by accessctl from the live organization acme-eu.",
        "# Terminated users not exported (1): the platform assigned that role, accessctl never "
        "changes it; `accessctl plan` reports them.",
        "# External users whose access has ended (1): `validate` warns about them; delete their "
        "lines to remove them.",
    ]
    assert "  token_env: ACME\n" in text
    # the defaults, spelled out: the YAML is authoritative
    assert (
        "policy:\n  unmanaged_users: remove  # the default: deleting a user's lines removes the "
        "user\n"
    ) in text
    assert "  - {email: root@acme.example, role: Super Admin, stores: [MID1, MID2]}\n" in text
    assert "  - {email: x@p.example, type: external, expires: 2027-01-01, stores: [MID1]}\n" in text
    # kept, or the default policy would plan its removal; `validate` warns about it
    assert (
        "  - {email: old@p.example, type: external, expires: 2025-05-01, stores: [MID1]}\n" in text
    )
    assert "{email: t@acme.example" not in text


def test_standard_plan_has_no_ranges_section() -> None:
    assert "ip_ranges" not in _export(live_state(plan="standard"))


@st.composite
def live_states(draw: st.DrawFn) -> LiveState:
    n = draw(st.integers(0, 6))
    users: list[LiveUser] = [live_user(ROOT, "Super Admin", [])]
    for i in range(n):
        stores = draw(st.lists(st.sampled_from(STORES), unique=True))
        email = f"{draw(st.sampled_from(['a', 'B', 'c.d']))}{i}@acme.example"
        if draw(st.booleans()):
            users.append(live_user(email, draw(st.sampled_from(ROLES)), stores))
        else:
            expiry = draw(st.sampled_from(["2024-01-01", "2025-06-01", "2025-06-20", "2030-12-31"]))
            users.append(
                live_user(email, "External User", stores, type="external", expires_at=expiry)
            )
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    cidrs = draw(st.lists(st.sampled_from(CIDRS), unique=True, min_size=len(names), max_size=6))
    ranges = [live_range(name, cidr) for name, cidr in zip(names, cidrs, strict=False)]
    return live_state(
        users,
        ranges,
        stores=STORES,
        plan=draw(st.sampled_from(["standard", "ultimate"])),
        support=draw(st.booleans()),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(live=live_states())
def test_export_then_plan_is_empty(live: LiveState, tmp_path: Path) -> None:
    text = _export(live)
    changes, _ = _plan_of(text, tmp_path, live)
    assert changes == []
    assert format_text(text) == text  # already canonical: `fmt --check` passes on an export


# -- end to end ------------------------------------------------------------------------------

SEED = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "ultimate",
            "technical_support_access": False,
            "stores": [{"id": "MID1", "name": "Web: EU"}, {"id": "MID2", "name": "POS"}],
            "ip_ranges": [{"name": "Loopback", "cidr": "127.0.0.0/8"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": ["MID1", "MID2"]},
                {"email": "gone@acme.example", "role": "Terminated", "stores": ["MID1"]},
                {
                    "email": "ext@partner.example",
                    "type": "external",
                    "role": "External User",
                    "expires_at": "2030-01-31",
                    "stores": ["MID2"],
                },
                {"email": "new@acme.example", "role": "Read Only", "status": "invited"},
                {  # access ended before the export: kept, so the plan removes nobody
                    "email": "past@partner.example",
                    "type": "external",
                    "role": "External User",
                    "expires_at": "2025-05-01",
                    "stores": [],
                },
            ],
            "tokens": [{"token": "tok-export-root", "email": "root@acme.example"}],
        }
    ]
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


@pytest.mark.e2e
def test_export_then_plan_against_the_emulator(emu: EmulatorProcess, tmp_path: Path) -> None:
    out = tmp_path / "acme.yaml"
    env = {"ACME_TOKEN": "tok-export-root", "ACCESSCTL_API_URL": None}
    runner = CliRunner()
    args = ["export", "--api-url", emu.base_url, "--token-env", "ACME_TOKEN", "--today",
            "2025-06-01", "-o", str(out)]  # fmt: skip
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "tok-export-root" not in text and "tok-export-root" not in result.output
    assert f"  url: {emu.base_url}\n" in text
    plan = runner.invoke(
        cli, ["plan", str(out), "--detailed-exitcode", "--today", "2025-06-01"], env=env
    )
    assert plan.exit_code == 0, plan.output
    assert "No changes. Live state matches the configuration." in plan.stdout
    assert "warning[expiry_in_past] users/past@partner.example" in plan.stdout
    assert "stores: []" in text  # every user declares its stores, even none

    again = runner.invoke(cli, args, env=env)
    assert again.exit_code == 1
    assert "exists: pass --force" in again.stderr
    assert out.read_text(encoding="utf-8") == text
    forced = runner.invoke(cli, [*args, "--force"], env=env)
    assert forced.exit_code == 0, forced.output

    # with PATHS, the API comes from the config's `api` section
    from_config = runner.invoke(cli, ["export", str(out), "--today", "2025-06-01"], env=env)
    assert from_config.exit_code == 0, from_config.output
    assert from_config.stdout == text


def test_the_schema_line_points_at_the_config_repositorys_schema(tmp_path: Path) -> None:
    from reconciler.export import schema_reference

    root = str(tmp_path)
    assert schema_reference(None, root) == "schemas/accessctl.schema.json"
    assert schema_reference(f"{root}/acme.yaml", root) == "schemas/accessctl.schema.json"
    assert schema_reference(f"{root}/access/acme.yaml", root) == "../schemas/accessctl.schema.json"
    assert (
        schema_reference(f"{root}/access/eu/acme.yaml", root)
        == "../../schemas/accessctl.schema.json"
    )
    assert schema_reference("/elsewhere/acme.yaml", root) == "schemas/accessctl.schema.json"


# -- hostile names ---------------------------------------------------------------------------

# Pieces YAML gives a meaning to, and characters readers disagree about.
HOSTILE_PIECES = [
    ": x", "- ", "? ", "# ", ":", "-", "?", "#", "&a", "*a", "!t", "|", ">", "%", "@", "`",
    "{", "}", "[", "]", ",", "'", '"', "\\", "\\n", "yes", "no", "on", "off", "y", "null", "~",
    "true", "1", "0x1F", "1e3", "1_000", "12:30", "2025-01-01", ".inf", ".nan", "+1", "-1",
    "\x85", "\u2028", "\u2029", "\u00a0", "\t", "\u200b", "\u202e", "\ufeff", "é", "e\u0301",
    "東京", "🚀", " ", "a", "Z", "store",
]  # fmt: skip


def _api_name(pieces: list[str]) -> str:
    """A name as the access API keeps it: stripped, 1 to 100 characters."""
    return "".join(pieces).strip()[:100].strip()


hostile_names = (
    st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=6).map(_api_name).filter(bool)
)


def _local_part(pieces: list[str]) -> str:
    """A local part the API accepts (no `@`, no space) and the config does too: invisible and
    control characters are refused there on purpose (`invalid_email`), so none is generated."""
    text = "".join(p for p in pieces if hidden_character(p) is None)
    return "".join(c for c in text if not c.isspace() and c != "@")


hostile_locals = (
    st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=4).map(_local_part).filter(bool)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(hostile_names, min_size=1, max_size=5, unique_by=lambda n: n.strip().casefold()),
    stores=st.lists(hostile_names, min_size=1, max_size=4, unique=True),
    local=hostile_locals,
)
def test_export_then_plan_is_empty_for_hostile_names(
    names: list[str], stores: list[str], local: str, tmp_path: Path
) -> None:
    """Any range name, store id or email the API accepts survives export → load unchanged."""
    cidrs = [f"10.{i}.0.0/16" for i in range(len(names))]
    email = f"{local}@acme.example"  # as the API holds it: maybe NFD, maybe upper case
    live = live_state(
        [live_user(ROOT, "Super Admin", stores), live_user(email, "User", stores[:1])],
        [live_range(name, cidr) for name, cidr in zip(names, cidrs, strict=True)],
        stores=tuple(stores),
    )
    text = _export(live)
    changes, _ = _plan_of(text, tmp_path, live)
    assert changes == []
    result = load([str(tmp_path / "exported.yaml")], today=TODAY)
    (org,) = result.orgs
    assert [r.name for r in org.config.ip_ranges] == sorted(
        names, key=lambda n: n.strip().casefold()
    )
    assert sorted(org.config.stores) == sorted(stores)


@pytest.mark.parametrize("name", [": x", "a\x85b", "x\u2028y", "yes", "- a", "#x", "? q", "1"])
def test_export_quotes_names_yaml_would_misread(name: str, tmp_path: Path) -> None:
    live = live_state([live_user(ROOT, "Super Admin")], [live_range(name, "10.0.0.0/8")])
    text = _export(live)
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    result = load([str(path)], today=TODAY)
    assert [d.code for d in result.diagnostics if d.is_error] == []
    (org,) = result.orgs
    assert [r.name for r in org.config.ip_ranges] == [name]
