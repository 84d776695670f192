"""`accessctl demo`: the whole loop against a local emulator, narrated, in a few seconds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from reconciler.cli import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli
from reconciler.cli._extras import require_emulator


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the in-process steps, and put the old values back afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _header(number: int, title: str) -> None:
    click.echo("")
    click.secho(f"=== {number}. {title}", bold=True)


def _step(args: Sequence[str], expect: Sequence[int], shown: str) -> int:
    click.secho(f"$ accessctl {' '.join(args[:1])} {shown}{' '.join(args[1:])}", dim=True)
    result = cli.main(args=list(args), prog_name="accessctl", standalone_mode=False)
    code = 0 if result is None else int(result)  # every command returns its exit code
    if code not in expect:
        raise click.ClickException(f"`accessctl {' '.join(args)}` exited {code}")
    return code


def run(examples: Path) -> int:
    from reconciler.demo import DemoFiles, change_by_hand, environment
    from reconciler.emulator.testing import EmulatorProcess

    started = time.monotonic()
    files = DemoFiles.find(examples)
    config = os.path.relpath(files.config)
    _header(1, "Start the access API emulator on loopback, seeded with acme-eu's live state")
    with EmulatorProcess(files.seed) as emu:
        click.echo(f"Emulator listening on {emu.base_url} (seed: {os.path.relpath(files.seed)})")
        _header(2, "Meanwhile, someone changes access by hand in the portal")
        click.echo(change_by_hand(emu.base_url) + ".")
        with _environ(environment(emu.base_url)):
            _header(3, "Validate the config: schema and rules, no network")
            _step(["validate", config], (EXIT_OK,), "")
            _header(4, "Plan: what would change to make the platform match the config")
            _step(["plan", config, "--detailed-exitcode"], (EXIT_CHANGES,), "")
            _header(5, "Apply: safe order, concurrent within a phase, annotated for the audit")
            _step(["apply", config, "--yes"], (EXIT_OK,), "")
            _header(6, "Plan again: nothing left to change")
            _step(["plan", config, "--detailed-exitcode"], (EXIT_OK,), "")
            _header(7, "Audit: accessctl's own changes, and the one made by hand")
            _step(["audit", config, "--since", "1h"], (EXIT_OK,), "")
        _header(8, "Stop the emulator")
    click.echo(f"Demo complete in {time.monotonic() - started:.1f} s.")
    return EXIT_OK


@cli.command()
@click.option(
    "--examples",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder with acme-eu.yaml and demo-seed.json (default: the copy of config-examples/ "
    "that ships with accessctl).",
)
def demo(examples: Path | None) -> int:
    """Run the whole loop against a local emulator: validate, plan, apply, plan (empty), audit.

    Starts the emulator on a free loopback port seeded from config-examples/demo-seed.json,
    whose live state differs from config-examples/acme-eu.yaml (a user to invite, a role and a
    store grant to change, a range to add and one to delete, support access to turn off), makes
    one change by hand, then runs each step and stops the emulator. Nothing leaves this machine.
    Needs the emulator: pip install 'accessctl[emulator]'.

    \b
    Examples:
      accessctl demo
      accessctl demo --examples my-examples/   # your own acme-eu.yaml and demo-seed.json
    """
    require_emulator("demo")
    from reconciler.demo import EXAMPLES

    try:
        code = run(examples or EXAMPLES)
    except FileNotFoundError as exc:
        click.echo(f"Error: {exc}", err=True)
        code = EXIT_ERROR
    return code
