"""Options several commands share, defined once so they read and behave the same everywhere."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

import click

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


def api_url_option() -> Callable[[F], F]:
    return click.option(
        "--api-url",
        metavar="URL",
        default=None,
        help="Access API base URL, overriding api.url (also $ACCESSCTL_API_URL).",
    )
