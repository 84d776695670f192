"""Options several commands share, defined once so they read and behave the same everywhere."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.config import LoadResult

F = TypeVar("F", bound=Callable[..., Any])


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
