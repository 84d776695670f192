"""Optional parts of the install: the emulator needs FastAPI and uvicorn (`accessctl[emulator]`)."""

from __future__ import annotations

import importlib.util

from reconciler.errors import UsageError

EMULATOR_MODULES = ("fastapi", "uvicorn")


def require_emulator(command: str) -> None:
    """Refuse, with the install line, when the emulator's libraries are not installed."""
    missing = [name for name in EMULATOR_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"`accessctl {command}` needs the emulator, which is not installed "
            f"({', '.join(missing)} missing): install accessctl[emulator]",
            hint="pip install 'accessctl[emulator]'",
        )
