"""Options several commands share, defined once so they read and behave the same everywhere."""

from __future__ import annotations

import datetime
import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.config import LoadResult

F = TypeVar("F", bound=Callable[..., Any])
_PLAN_START = re.compile(rb'\s*\{\s*"format_version"\s*:\s*"[^"]*"\s*,\s*"plan_id"\s*:')


def _as_date(
    _ctx: click.Context, _param: click.Parameter, value: datetime.datetime | None
) -> datetime.date:
    return value.date() if value is not None else datetime.date.today()


def today_option(
    help: str = "Judge expiry dates as of this day instead of the real date.",
) -> Callable[[F], F]:
    """`--today YYYY-MM-DD`, passed to the command as a `datetime.date` (today when omitted), so
    tests and CI runs are repeatable."""
    return click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        metavar="YYYY-MM-DD",
        default=None,
        callback=_as_date,
        help=help,
    )


def text_or_json_option(help: str) -> Callable[[F], F]:
    """`--format text|json`, passed as `output_format`."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help,
    )


def api_url_option() -> Callable[[F], F]:
    return click.option(
        "--api-url",
        metavar="URL",
        default=None,
        help="Access API base URL, overriding api.url (also $ACCESSCTL_API_URL).",
    )


def check_output(path: str, option: str, inputs: Sequence[str] = ()) -> None:
    """Refuse an output path whose folder does not exist, before any network call, so a user
    does not wait for a fetch only to lose the result; and one of the files at `inputs`."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(
            f"{option} {path}: the folder {folder} does not exist",
            hint=f"create it first (mkdir -p {folder}), or write somewhere else",
        )
    target = Path(path).resolve()
    for raw in inputs:
        given = Path(raw).resolve()
        if target == given:
            raise UsageError(
                f"{option} {path} is one of the configuration files being read; writing there "
                "would replace it",
                hint="save the plan elsewhere, e.g. -o plan.json",
            )


def check_plan_target(path: str) -> None:
    """`plan -o` replaces only an earlier plan: not a symbolic link (never followed), not a
    device or folder, not any other file (a config, a key), which `export` also keeps unless
    --force. Checked before any network call; the plan is then written by rename, which
    replaces a link put there meanwhile instead of writing through it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot check it: {exc.strerror or exc}") from None
    elsewhere = "remove it or save the plan elsewhere, e.g. -o plan.json"
    if stat.S_ISLNK(mode):
        raise UsageError(
            f"-o {path} is a symbolic link; a plan is not written through one", hint=elsewhere
        )
    if not stat.S_ISREG(mode) or not _is_plan(path):
        raise UsageError(
            f"-o {path} exists and is not a saved plan; it was left as it is", hint=elsewhere
        )


def _is_plan(path: str) -> bool:
    """Whether the regular file at `path` begins as a saved plan does: a JSON object whose first
    keys are `format_version` and `plan_id` (only its start is read)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return _PLAN_START.match(head) is not None


def write_failed(path: str, exc: OSError) -> UsageError:
    """The error for an output file that could not be written (permissions, full disk, ...)."""
    return UsageError(f"cannot write {path}: {exc.strerror or exc}")


def org_option(help: str = "Only this organization (of those PATHS declare).") -> Callable[[F], F]:
    """`--org NAME`, passed as `only_org`: every command that takes PATHS has it."""
    return click.option("--org", "only_org", metavar="NAME", default=None, help=help)


def select_org(result: LoadResult, name: str) -> LoadResult:
    """The loaded config narrowed to organization `name`, or a usage error naming those there
    are."""
    found = result.only(name)
    if found is None:
        known = ", ".join(o.config.organization for o in result.orgs) or "none"
        raise UsageError(f"--org {name}: no such organization in the config (found: {known})")
    return found
