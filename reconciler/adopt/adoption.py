"""What adopt would write (`Adoption`: each changed file's text before and after, and a `Note`
per change), and the error that says nothing was written."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import AccessctlError


class AdoptError(AccessctlError):
    """The live state cannot be taken into these files safely; nothing was written."""


@dataclass(frozen=True)
class Note:
    """One thing adopt changed: `+` added, `-` removed, `~` rewritten."""

    organization: str
    sign: str
    address: str
    detail: str
    file: str

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"  {self.sign} {self.address}{detail} ({self.file})"


@dataclass
class Adoption:
    """What adopt would write: the new text of each file that changes, and why."""

    raw: dict[str, bytes] = field(default_factory=dict)  # the files as read, to write safely
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return [name for name, text in self.after.items() if text != self.before[name]]

    def unified_diff(self) -> str:
        out: list[str] = []
        for name in self.changed:
            out += difflib.unified_diff(
                self.before[name].splitlines(keepends=True),
                self.after[name].splitlines(keepends=True),
                fromfile=name if Path(name).is_absolute() else f"a/{name}",
                tofile=name if Path(name).is_absolute() else f"b/{name}",
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)
