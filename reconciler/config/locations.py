"""Where each part of a file is written, as `load` keeps it: a *table* beside each list or
mapping the stream builder (`stream.py`) builds, read by `Document.locate`.

A table is a list: `[own position, one entry per item]` for a list, `[own position, key entry,
value entry, ...]` for a mapping, in the order of the mapping's keys (the dict keeps the order
keys are written in; keys merged in with `<<` come last, as the dict has them). An entry is the
position of a scalar (an int, see `pack`), the table of a list or mapping, a `Keyed` for a key
that YAML read as something else than a string (its text is kept), or an `Aliased` for an item
written as an alias (`*name`) or merged in through one: located where the alias is written.
"""

from __future__ import annotations

from typing import Any


def pack(line: int, column: int) -> int:
    """A 0-based (line, column) as one int: tables hold some 130,000 of them per 10,000 users."""
    return line << 32 | column


def unpack(position: int) -> tuple[int, int]:
    """1-based (line, column) of a packed position."""
    return (position >> 32) + 1, (position & 0xFFFFFFFF) + 1


class Keyed:
    """A key that YAML read as something else than a string: where, and its text (`5`, `~`)."""

    __slots__ = ("at", "text")

    def __init__(self, at: int, text: str) -> None:
        self.at = at
        self.text = text


class Aliased:
    """An item written as an alias (`*name`), or merged in through one (`<<: *name`): `at` is
    where the alias is written, `target` the entry of what it stands for."""

    __slots__ = ("at", "target")

    def __init__(self, at: int, target: Any) -> None:
        self.at = at
        self.target = target


def position_of(entry: Any) -> int:
    """Where an entry is written (an alias: where the alias is)."""
    if isinstance(entry, int):
        return entry
    if isinstance(entry, list):
        return int(entry[0])
    return int(entry.at)


def unwrap(entry: Any) -> Any:
    """The entry an alias stands for (through aliases of aliases); any other entry itself."""
    while isinstance(entry, Aliased):
        entry = entry.target
    return entry


def written_at(entry: Any) -> int:
    """Where the item itself is written (for an alias: its anchor)."""
    return position_of(unwrap(entry))


def items_of(entry: Any) -> list[Any]:
    """The entries of a list's items; through an alias, each located where the alias is."""
    table = unwrap(entry)
    items = table[1:]
    if isinstance(entry, Aliased):  # a list merged in through an alias: its items are there
        return [Aliased(entry.at, item) for item in items]
    return list(items)
