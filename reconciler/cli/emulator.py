"""`accessctl emulator serve`: the local access API, for trying configs and for tests."""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

import click
from pydantic import ValidationError

from reconciler.cli import EXIT_OK, cli
from reconciler.cli._extras import require_emulator
from reconciler.errors import UsageError


@cli.group()
def emulator() -> None:
    """The local access API emulator (FastAPI over SQLite): every platform rule, on loopback.
    Needs the emulator extra: pip install 'accessctl[emulator]'.

    \b
    Examples:
      accessctl emulator serve --seed config-examples/demo-seed.json
      accessctl emulator serve --port 0 --db emulator.sqlite
    """


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
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
) -> int:
    """Serve the access API until Ctrl-C. Prints one line with the base URL when ready.

    \b
    A seed (YAML or JSON); a token's `ip` is where its principal appears to call from:
      organizations:
        - name: acme-eu
          plan: ultimate                # or standard (no IP ranges)
          technical_support_access: true
          stores: [{id: MID1000001, name: Web shop}]
          ip_ranges: [{name: HQ, cidr: 203.0.113.0/24}]
          users:
            - {email: owner@acme-eu.example, role: Super Admin, stores: all}
            - {email: ext@partner.example, type: external, expires_at: 2027-01-31,
               stores: [MID1000001], status: invited}
          tokens: [{token: demo-owner, email: owner@acme-eu.example, ip: 203.0.113.10}]

    \b
    Examples:
      accessctl emulator serve --seed config-examples/demo-seed.json
      accessctl emulator serve --port 0 --db emulator.sqlite --reset --seed world.yaml
      accessctl emulator serve --latency-ms 20 --error-rate 0.2 --fault-seed 1
    """
    require_emulator("emulator serve")
    from reconciler.emulator.faults import FaultSettings
    from reconciler.emulator.seed import SeedError
    from reconciler.emulator.server import ServeOptions
    from reconciler.emulator.server import serve as run

    try:
        faults = FaultSettings(latency_ms=latency_ms, error_rate=error_rate, seed=fault_seed)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0] if first["loc"] else "fault").replace("_", "-")
        option = "--fault-seed" if option == "--seed" else option
        raise UsageError(f"{option}: {first['msg']}") from None
    _check_can_listen(host, port)
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
            str(exc), hint="see the seed's shape in `accessctl emulator serve --help`"
        ) from None
    except sqlite3.Error as exc:
        raise UsageError(
            f"--db {db}: cannot open the SQLite database ({exc})",
            hint="name a file in a folder that exists and you may write, or leave out --db",
        ) from None
    return EXIT_OK


def _check_can_listen(host: str, port: int) -> None:
    """Bind the address once, so a port in use or a foreign address is one clear error (uvicorn
    would log it and exit 3). Port 0 is always free."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(
            f"--host {host}: not an address of this machine ({exc.strerror})",
            hint="use 127.0.0.1 (the default) or another local address",
        ) from None
    if port == 0:
        return
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {port} on {host} is already in use (another emulator?)",
                    hint="stop it, pick another --port, or use --port 0 for a free one",
                ) from None
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="use 127.0.0.1 (the default) or another address of this machine",
            ) from None
