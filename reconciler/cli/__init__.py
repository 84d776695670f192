"""The `accessctl` command line. Click lives in this package only; each command module parses its
options, calls one core function and returns an exit code. Errors are mapped here, once."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

import click

from reconciler import __version__
from reconciler.cli._progress import is_terminal
from reconciler.errors import AccessctlError, ConfigError
from reconciler.redact import (
    SECRET_NAME,
    SecretFilter,
    redact,
    secret_arg_message,
    secret_in_args,
)
from reconciler.runtime import tune_collector

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes, Terraform's convention.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


class AccessctlGroup(click.Group):
    """Turns known errors into a message and exit 1, bugs into a short note and a saved trace.

    Click's usage errors (a bad flag or value) exit 1 too, not click's 2: with
    --detailed-exitcode, 2 means "changes present", and CI treats it as success (action.yml,
    the drift job), so a typo in a flag must never look like a plan with changes.

    Every command returns its exit code (an int) and exits through here, as an error does.

    The commands load lazily (SPEC §8, start-up): each lives in the module of the same name in
    this package, imported only when that command runs, so `accessctl plan` does not pay for the
    emulator, apply or audit, and `--version` pays for none. Anything that asks for the whole
    list (`--help`, a misspelt command, `cli.commands`) imports them all."""

    _lazy_package: str | None = None

    @property  # type: ignore[override]  # the same mapping, filled on first use
    def commands(self) -> dict[str, click.Command]:
        self._load_all()
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def _load_all(self) -> None:
        package, self._lazy_package = self._lazy_package, None
        if package is not None:
            import importlib

            for name in COMMAND_MODULES:
                importlib.import_module(f"{package}.{name}")

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        self._commands[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._commands and self._lazy_package is not None:
            import importlib

            if cmd_name in COMMAND_MODULES:
                importlib.import_module(f"{self._lazy_package}.{cmd_name}")
            if cmd_name not in self._commands:
                self._load_all()
        return self._commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if parent is None:
            _refuse_secret_args(args)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = EXIT_ERROR  # type: ignore[misc]  # per instance: see the docstring
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            code = super().invoke(ctx)
            if isinstance(code, int):  # every command returns its exit code: the one way out
                ctx.exit(code)
            return code
        except click.UsageError as exc:
            exc.exit_code = EXIT_ERROR  # type: ignore[misc]  # per instance: see the docstring
            raise
        except BrokenPipeError:
            # The reader went away (`accessctl plan | head`): stop quietly, like click does.
            _silence_stdout()
            ctx.exit(EXIT_ERROR)
        except AccessctlError as exc:
            if isinstance(exc, ConfigError):
                _report_diagnostics(exc, ctx.meta.get(OUTPUT_FORMAT_KEY, "text"))
            click.echo(redact(f"Error: {exc.message}"), err=True)
            if exc.hint:
                click.echo(redact(f"Hint: {exc.hint}"), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug: never show a user a traceback
            path = _save_traceback()
            click.echo(
                f"Error: unexpected error ({type(exc).__name__}). This is a bug in accessctl; "
                f"the full traceback was written to {path}",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


# The output format a command was asked for (`ctx.meta`, set by `set_output_format`): a config
# error's diagnostics are rendered in it, once, by `AccessctlGroup.invoke`.
OUTPUT_FORMAT_KEY = "accessctl.output_format"


def set_output_format(ctx: click.Context, output_format: str) -> None:
    ctx.meta[OUTPUT_FORMAT_KEY] = output_format


def _report_diagnostics(exc: ConfigError, output_format: str) -> None:
    """A config error's diagnostics: as workflow commands or JSON on stdout (where a CI step
    reads them), else as text on stderr."""
    from reconciler.config import render_github, render_json, render_text

    if output_format == "github":
        render_github(exc.diagnostics, sys.stdout)
    elif output_format == "json":
        render_json(exc.diagnostics, sys.stdout)
    else:
        render_text(exc.diagnostics, sys.stderr)


GLOBAL_FLAGS = frozenset({"--verbose", "--no-color"})


def _is_global(arg: str) -> bool:
    return arg in GLOBAL_FLAGS or (len(arg) > 1 and arg[0] == "-" and set(arg[1:]) == {"v"})


def hoist_global_options(args: list[str]) -> list[str]:
    """`accessctl plan access/ -v --no-color` reads as `accessctl -v --no-color plan access/`:
    the global flags (none takes a value, and no command reuses their names) may come before or
    after the command. Everything after `--` is left alone."""
    start = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if start is None:
        return args
    end = args.index("--") if "--" in args[start:] else len(args)
    moved = [arg for arg in args[start:end] if _is_global(arg)]
    if not moved:
        return args
    rest = [arg for arg in args[start:end] if not _is_global(arg)]
    return args[:start] + moved + rest + args[end:]


def _refuse_secret_args(args: list[str]) -> None:
    """A token's value on the command line would be shown (a dry run prints annotations), sent
    (into the platform's audit log) and kept in the shell's history: stop before anything runs.
    `apply` checks again once the plan names its token variables, whatever their names."""
    named = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--token-env"]
    names = [n for n in os.environ if SECRET_NAME.search(n)] + named
    found = secret_in_args(args, os.environ, names)
    if found is not None:
        message, hint = secret_arg_message(found)
        click.echo(f"Error: {message}\nHint: {hint}", err=True)
        raise click.exceptions.Exit(EXIT_ERROR)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing to flush
        pass


def _save_traceback() -> str:
    fd, path = tempfile.mkstemp(prefix="accessctl-traceback-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(redact(traceback.format_exc()))
    return path


_LOG_HANDLER: logging.Handler | None = None


def _configure_logging(verbosity: int) -> None:
    """Without -v: warnings only (the first retry of an API call). -v: one line per API
    request; -vv: also connection-level detail. To stderr, through the secret filter; on a
    terminal each line first erases the progress line. Set up again on every invocation
    (tests run many in one process)."""
    global _LOG_HANDLER
    loggers = [logging.getLogger("accessctl"), logging.getLogger("urllib3")]
    for logger in loggers:
        if _LOG_HANDLER is not None:
            logger.removeHandler(_LOG_HANDLER)
        logger.setLevel(logging.NOTSET)
    stream: TextIO = sys.stderr
    handler = logging.StreamHandler(stream)
    erase = "\r\033[K" if is_terminal(stream) else ""
    shape = "%(levelname)s %(name)s: " if verbosity > 0 else ""
    handler.setFormatter(logging.Formatter(f"{erase}accessctl: {shape}%(message)s"))
    handler.addFilter(SecretFilter())
    _LOG_HANDLER = handler
    loggers[0].setLevel(logging.DEBUG if verbosity > 0 else logging.WARNING)
    loggers[0].addHandler(handler)
    if verbosity >= 2:
        loggers[1].setLevel(logging.DEBUG)
        loggers[1].addHandler(handler)


@click.group(
    name="accessctl", cls=AccessctlGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="accessctl")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log each API request to stderr (-vv: connection detail too). Tokens are never shown.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour in the output (also $NO_COLOR; $FORCE_COLOR colours a pipe).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, no_color: bool) -> None:
    """Access as code: keep users, roles, store grants, allowed IP ranges and the
    technical-support-access switch in YAML, and make the platform match it.

    \b
    The loop:
      accessctl validate access/        check the YAML, no network
      accessctl plan access/ -o p.json  see what would change
      accessctl apply p.json            make it so (refuses a stale plan)
      accessctl export --api-url URL --token-env VAR -o access/acme.yaml
                                        adopt: write the live state as YAML
      accessctl adopt access/ --dry-run  take a hand-made change into the YAML in place

    Global options (-v, --no-color) go before or after the command. Shell completion: see
    "Shell completion" in the README (eval "$(_ACCESSCTL_COMPLETE=bash_source accessctl)").

    Exit codes: 0 ok, 1 error or unsafe plan, 2 changes present (with --detailed-exitcode).

    \b
    Examples:
      accessctl validate config-examples/
      accessctl plan access/ --org acme-eu -v
      accessctl show plan.json --format markdown
    """
    from reconciler.cli._color import NO_COLOR_KEY, wants_color

    ctx.meta[NO_COLOR_KEY] = no_color
    ctx.color = wants_color(sys.stdout, no_color=no_color, environ=os.environ)
    _configure_logging(verbose)
    from reconciler.api.limits import start_run

    start_run()  # the API calls' run budget counts from here


# Every command module of `reconciler/cli/`, named as its command: importing one adds its
# command(s) to `cli`, on demand (see AccessctlGroup). A new command module is listed here
# (tests/test_cli_commands.py checks none is left out).
COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "fmt",
    "plan",
    "show",
    "apply",
    "export",
    "adopt",
    "audit",
    "review",
    "orgs",
    "demo",
    "emulator",
)

cli._lazy_package = __name__


def _tolerate_narrow_encodings() -> None:
    """A console or pipe that is not UTF-8 (Windows' cp1252 when output is redirected, or
    PYTHONIOENCODING=ascii) cannot show `→`: write an escape instead of failing mid-plan."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if encoding not in ("utf8", "utf8sig") and reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main() -> None:
    _tolerate_narrow_encodings()
    tune_collector()
    cli.main(prog_name="accessctl")


if __name__ == "__main__":  # pragma: no cover
    main()
