"""The key that signs what accessctl writes and checks what it reads back: saved plans (so the
plan reviewed is the plan applied) and the audit annotations of its changes (so `audit` tells
them from a forged header).

The key is `$ACCESSCTL_PLAN_KEY` when it is set: one secret shared by the runs that plan, apply
and audit, whatever token each holds (a plan made with a read-only token is applied with the
Admin token). Without it, each organization's API token is the key, as before: only a run holding
the same token can check. The environment is passed in; nothing here reads `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.errors import UsageError

PLAN_KEY_ENV = "ACCESSCTL_PLAN_KEY"
# An HMAC key in a public artifact's signature must not be guessable offline.
MIN_PLAN_KEY_LENGTH = 32


@dataclass(frozen=True)
class SigningKey:
    """A key, and where it came from (`ACCESSCTL_PLAN_KEY`, or the token's variable)."""

    secret: str = field(repr=False)
    name: str

    @property
    def is_plan_key(self) -> bool:
        return self.name == PLAN_KEY_ENV


def plan_key(environ: Mapping[str, str]) -> SigningKey | None:
    """`$ACCESSCTL_PLAN_KEY`, when set and non-empty; a usage error when it is too short."""
    value = environ.get(PLAN_KEY_ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_PLAN_KEY_LENGTH:
        raise UsageError(
            f"${PLAN_KEY_ENV} is too short ({len(value)} characters): a plan key needs at least "
            f"{MIN_PLAN_KEY_LENGTH} random characters",
            hint="make one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    return SigningKey(value, PLAN_KEY_ENV)


def signing_key(environ: Mapping[str, str], token_env: str | None) -> SigningKey:
    """The plan key when set, else the token in `token_env` (an error when neither is there)."""
    from reconciler.api import read_token

    key = plan_key(environ)
    if key is not None:
        return key
    if not token_env:
        raise UsageError(f"no token variable and no ${PLAN_KEY_ENV}: nothing to sign with")
    return SigningKey(read_token(token_env, environ), token_env)
