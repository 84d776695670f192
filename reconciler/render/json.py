"""The plan as JSON: `{"format_version": "1", …}`, documented by `schemas/plan.schema.json`."""

from __future__ import annotations

from typing import TextIO

from reconciler.plan import Plan


def render(plan: Plan, stream: TextIO, *, color: bool = False) -> None:
    stream.write(plan.model_dump_json(indent=2) + "\n")
