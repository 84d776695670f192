"""Shared helpers of the apply end-to-end tests (no tests here): a seed, config files, and
running the CLI with the token in its environment."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess
from reconciler.pipeline import plan_paths
from reconciler.plan import Plan

TODAY = date(2026, 6, 1)
TOKEN = "tok-e2e-root"
HAND_TOKEN = "tok-e2e-hand"
TOKEN_ENV = "E2E_ACME_TOKEN"
STORES = [{"id": "MID1", "name": "Web"}, {"id": "MID2", "name": "POS"}]


def seed(*, users: Sequence[dict[str, Any]] = (), ranges: Sequence[dict[str, str]] = ()) -> Any:
    base_users = [
        {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
        {"email": "hand@acme.example", "role": "Admin", "stores": "all"},
    ]
    return {
        "organizations": [
            {
                "name": "acme",
                "plan": "ultimate",
                "technical_support_access": True,
                "stores": STORES,
                "ip_ranges": list(ranges),
                "users": [*base_users, *users],
                "tokens": [
                    {"token": TOKEN, "email": "root@acme.example"},
                    {"token": HAND_TOKEN, "email": "hand@acme.example"},
                ],
            }
        ]
    }


def standard_org(name: str, users: Sequence[dict[str, object]] = ()) -> dict[str, object]:
    """A standard-plan organization for a multi-organization seed: store `MID-<name>`, owner
    `root@<name>.example` (token `tok-<name>`), then `users`."""
    return {
        "name": name,
        "plan": "standard",
        "technical_support_access": False,
        "stores": [{"id": f"MID-{name}", "name": "Web"}],
        "users": [
            {"email": f"root@{name}.example", "role": "Super Admin", "stores": "all"},
            *users,
        ],
        "tokens": [{"token": f"tok-{name}", "email": f"root@{name}.example"}],
    }


def write_config(tmp_path: Path, body: str, name: str = "acme.yaml") -> Path:
    head = f"""\
        organization: acme
        api:
          url: http://127.0.0.1:1/api/v1
          token_env: {TOKEN_ENV}
        policy: {{max_removals: 100%, unmanaged_users: remove}}
        stores: {{MID1: Web, MID2: POS}}
        """
    path = tmp_path / name
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body), encoding="utf-8")
    return path


BASE_USERS = """\
    users:
      - {email: root@acme.example, role: Super Admin, stores: all}
      - {email: hand@acme.example, role: Admin, stores: all}
    """


def env(emu: EmulatorProcess) -> dict[str, str]:
    return {TOKEN_ENV: TOKEN, "ACCESSCTL_API_URL": emu.base_url}


def make_plan(emu: EmulatorProcess, config: Path) -> Plan:
    return plan_paths([str(config)], today=TODAY, environ=env(emu))


def accessctl(emu: EmulatorProcess, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env(emu), catch_exceptions=False)


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def changes_made(emu: EmulatorProcess) -> list[dict[str, Any]]:
    """Audit events other than logins, oldest first."""
    return [e for e in emu.audit_events(TOKEN) if e["action"] != "login"]
