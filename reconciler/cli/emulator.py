"""`accessctl emulator serve`: the local access API, for trying configs and for tests."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from reconciler.cli import cli
from reconciler.errors import UsageError


@cli.group()
def emulator() -> None:
    """The local access API emulator (FastAPI over SQLite): every platform rule, on loopback."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option("--db", "db", default=":memory:", show_default=True, help="SQLite file, or :memory:.")
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON world to start from (applied to an empty database only).",
)
@click.option("--reset", is_flag=True, help="Wipe the database and apply the seed again.")
@click.option(
    "--trust-forwarded-for", is_flag=True, help="Honour X-Forwarded-For from loopback peers."
)
@click.option("--latency-ms", type=float, default=0, help="Added latency per API request.")
@click.option("--error-rate", type=float, default=0, help="Share of injected 500/503 answers.")
@click.option("--fault-seed", type=int, default=0, help="Seed of the fault random source.")
def serve(
    host: str,
    port: int,
    db: str,
    seed: Path | None,
    reset: bool,
    trust_forwarded_for: bool,
    latency_ms: float,
    error_rate: float,
    fault_seed: int,
) -> None:
    """Serve the access API until Ctrl-C. Prints one line with the base URL when ready."""
    from reconciler.emulator.faults import FaultSettings
    from reconciler.emulator.seed import SeedError
    from reconciler.emulator.server import ServeOptions
    from reconciler.emulator.server import serve as run

    try:
        faults = FaultSettings(latency_ms=latency_ms, error_rate=error_rate, seed=fault_seed)
    except ValidationError as exc:
        raise UsageError(f"invalid fault options: {exc.errors()[0]['msg']}") from None
    options = ServeOptions(
        host=host,
        port=port,
        db=db,
        seed=seed,
        reset=reset,
        trust_forwarded_for=trust_forwarded_for,
        faults=faults,
    )
    try:
        run(options)
    except SeedError as exc:
        raise UsageError(
            str(exc), hint="see the seed shape in `accessctl emulator serve --help`"
        ) from None
