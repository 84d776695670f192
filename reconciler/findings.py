"""A problem and where it was written: one `Finding` type for `validate`'s diagnostics, a plan's
warnings and the safety check's violations, pinned to one `Location` type; every renderer reads
these. Both are part of the saved plan (`schemas/plan.schema.json`): `column` and `hint` are left
out of it when unknown, so a plan without them reads and signs as before they existed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: `file:line:column`, 1-based; a plan cites a declaration by
    its line alone (`column` 0)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    file: str
    line: int
    column: Annotated[
        int,
        Field(ge=0, exclude_if=lambda column: not column, description="0: the line alone"),
    ] = 0

    @classmethod
    def of(cls, declared: Location | None) -> Location | None:
        """The line of a declaration, as a plan cites the one a change or a violation comes from
        (`file:line`); a problem in the config keeps its column."""
        return None if declared is None else cls(declared.file, declared.line)

    def __str__(self) -> str:
        """`file:line`: how a declaration is cited in a message."""
        return f"{self.file}:{self.line}"

    @property
    def exact(self) -> str:
        """`file:line:column`, or `file:line` when the line alone is cited."""
        return f"{self}:{self.column}" if self.column else str(self)


class Finding(BaseModel):
    """A problem in the config (an error stops the plan; a warning is carried into it), a safety
    violation of a plan (error), or something its reviewer should know (warning, info)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Severity
    code: str
    message: str
    address: str | None = None
    source: Location | None = None
    hint: Annotated[
        str | None, Field(exclude_if=lambda hint: hint is None, description="What to do about it")
    ] = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def where(self) -> str | None:
        """`file:line:column` (or `file:line`) when the finding is located."""
        return None if self.source is None else self.source.exact
