"""Run the emulator with uvicorn and announce the URL once it accepts connections."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from reconciler.emulator.app import create_app
from reconciler.emulator.db import Database
from reconciler.emulator.faults import FaultSettings
from reconciler.emulator.middleware import API_PREFIX
from reconciler.emulator.seed import Seed, load_seed_file
from reconciler.emulator.state import EmulatorState


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    db: str = ":memory:"
    seed: Path | None = None
    reset: bool = False
    trust_forwarded_for: bool = False
    faults: FaultSettings = field(default_factory=FaultSettings)


def build_state(options: ServeOptions) -> EmulatorState:
    seed = load_seed_file(options.seed) if options.seed else Seed()
    state = EmulatorState(
        db=Database(options.db),
        seed=seed,
        trust_forwarded_for=options.trust_forwarded_for,
        startup_faults=options.faults,
    )
    state.load_seed(reset=options.reset)
    return state


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: Callable[[str], None]) -> None:
        super().__init__(config)
        self._announce = announce

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM is the normal way to stop the emulator: shut down and exit 0 (uvicorn would
        re-raise it after the graceful shutdown). Ctrl-C still ends as an interrupt (exit 130)."""
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if sig == signal.SIGTERM and isinstance(captured, list) and sig in captured:
            captured.remove(sig)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self._announce(f"accessctl emulator listening on http://{shown}:{port}{API_PREFIX}")


def _print_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve(options: ServeOptions, announce: Callable[[str], None] = _print_line) -> None:
    """Blocks until Ctrl-C or SIGTERM; uvicorn stops gracefully on both."""
    state = build_state(options)
    config = uvicorn.Config(
        create_app(state),
        host=options.host,
        port=options.port,
        http="h11",
        proxy_headers=False,
        interface="asgi3",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    try:
        _Server(config, announce).run()
    finally:
        state.db.close()
