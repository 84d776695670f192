"""One base error, and the families under it. The CLI maps each to a message and exit code 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.findings import Finding


class AccessctlError(Exception):
    """A problem a user can act on. The message is shown as is, without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AccessctlError):
    """Command-line arguments that do not fit together."""


class ConfigError(AccessctlError):
    """The desired-state YAML has errors (details are in the diagnostics)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        diagnostics: Sequence[Finding] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics: list[Finding] = list(diagnostics)


@dataclass(frozen=True)
class ApiProblem:
    """An `application/problem+json` answer from the access API."""

    status: int
    code: str
    title: str
    detail: str
    errors: tuple[tuple[str, str], ...] = ()


class ApiError(AccessctlError):
    """The access API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        problem: ApiProblem | None = None,
        hint: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.problem = problem
        self.attempts = attempts  # how many HTTP attempts were made before giving up
        # A write none of whose attempts got a clear answer, though one may have reached the
        # server (dropped after sending, 5xx, redirect, deadline): it may have taken effect.
        self.maybe_applied = False


class UnsafePlanError(AccessctlError):
    """The plan breaks a safety rule; nothing was sent."""


class StalePlanError(AccessctlError):
    """A saved plan no longer matches the live state it was computed from."""
