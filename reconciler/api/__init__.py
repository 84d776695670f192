"""The access API client (SPEC §2) and the live-state fetch built on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.api.client import AccessApiClient, ListResult
from reconciler.api.fetch import fetch_live_state, fetch_many
from reconciler.api.limits import Limits, run_started
from reconciler.errors import AccessctlError

__all__ = [
    "AccessApiClient",
    "Limits",
    "ListResult",
    "client_from_env",
    "fetch_live_state",
    "fetch_many",
    "read_token",
]


def read_token(token_env: str, environ: Mapping[str, str]) -> str:
    """The API token in the environment variable `token_env`; the error names the variable,
    never a value."""
    token = environ.get(token_env, "")
    if not token.strip():
        state = "is not set" if token_env not in environ else "is empty"
        raise AccessctlError(
            f"The environment variable {token_env} {state}: it must hold the access API token "
            "for this organization.",
            hint=f"Export {token_env} before running accessctl (in CI, from a secret).",
        )
    return token


def client_from_env(
    url: str,
    token_env: str,
    environ: Mapping[str, str],
    *,
    on_page: Callable[[str, int], None] | None = None,
) -> AccessApiClient:
    """A client whose token is read from the environment variable named `token_env`, with the
    limits the environment sets (`reconciler.api.limits`); `on_page` is told `(path, items so
    far)` after each list page."""
    token = read_token(token_env, environ)
    limits = Limits.from_environ(environ)
    try:
        client = AccessApiClient(
            url,
            token,
            timeout=min(30.0, limits.call_seconds),
            limits=limits,
            run_deadline=run_started() + limits.run_seconds,
            token_env=token_env,
            on_page=on_page,
        )
    except AccessctlError as exc:
        raise AccessctlError(f"{token_env}: {exc.message}", hint=exc.hint) from None
    return client
