"""The pieces of `accessctl demo` that are not the command line: where the example config and
the seed are, the emulator's lifetime, and the change "someone" makes by hand in the portal.

The demo's tokens come from `config-examples/demo-seed.json` (a throw-away local world): the
owner's token drives accessctl, it.admin's makes the hand-made change. Neither is ever printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.api import AccessApiClient

# Inside the package (a link to config-examples/ in the source tree, copied into the wheel), so
# the demo runs from any directory after `pip install 'accessctl[emulator]'`.
EXAMPLES = Path(__file__).resolve().parent / "examples"
CONFIG_NAME = "acme-eu.yaml"
SEED_NAME = "demo-seed.json"
TOKEN_ENV = "ACME_EU_TOKEN"
OWNER_TOKEN = "demo-acme-eu-owner"
HAND_TOKEN = "demo-acme-eu-it-admin"
HAND_USER = "dev.bjorn@acme-eu.example"
HAND_ROLE = "Admin"


@dataclass(frozen=True)
class DemoFiles:
    config: Path
    seed: Path

    @classmethod
    def find(cls, examples: Path = EXAMPLES) -> DemoFiles:
        files = cls(examples / CONFIG_NAME, examples / SEED_NAME)
        for path in (files.config, files.seed):
            if not path.is_file():
                raise FileNotFoundError(f"the demo needs {path}")
        return files


def environment(base_url: str) -> dict[str, str]:
    """What the demo's accessctl steps need in their environment (the token among it)."""
    return {TOKEN_ENV: OWNER_TOKEN, "ACCESSCTL_API_URL": base_url}


def change_by_hand(base_url: str) -> str:
    """it.admin promotes a user in the "portal": a direct API call, no accessctl annotation.
    Returns a sentence describing it."""
    with AccessApiClient(base_url, HAND_TOKEN, max_retries=2) as client:
        users = client.list_all("/users").items
        user = next(u for u in users if u["email"] == HAND_USER)
        client.patch(f"/users/{user['id']}", {"role": HAND_ROLE}, if_match=user.get("etag"))
    return f"it.admin@acme-eu.example changed {HAND_USER} from {user['role']} to {HAND_ROLE}"
