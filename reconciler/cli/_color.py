"""Whether output is coloured: `--no-color`, then $NO_COLOR (no-color.org), then $FORCE_COLOR
(force-color.org), then whether the stream is a terminal."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

import click

from reconciler.cli._progress import is_terminal

NO_COLOR_KEY = "accessctl.no_color"


def wants_color(stream: TextIO, *, no_color: bool, environ: Mapping[str, str]) -> bool:
    if no_color or environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return is_terminal(stream)


def use_color(stream: TextIO) -> bool:
    """For the command running now: its root context remembers `--no-color`."""
    ctx = click.get_current_context(silent=True)
    no_color = bool(ctx is not None and ctx.find_root().meta.get(NO_COLOR_KEY))
    return wants_color(stream, no_color=no_color, environ=os.environ)
