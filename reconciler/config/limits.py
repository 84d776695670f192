"""What a YAML file may hold, as both builders (`stream.py` for `load`, `nodes.py` for fmt and
adopt) enforce it; `document.parse_text` reports a file that goes over."""

from __future__ import annotations

# Aliases may not blow a small file up into a huge one: what they add may reach 2,000,000 values,
# or 100 times the values written out, whichever is more (`stores: *all` on 8,000 users is fine).
MAX_ALIASED_VALUES = 2_000_000
ALIAS_GROWTH = 100
# Nesting deeper than this is refused ("nested too deeply"), as the node builder refuses what
# Python's recursion limit stops: later checks walk the values recursively.
MAX_DEPTH = 400


def too_much_aliased(aliased: int, size: int) -> bool:
    """Whether `aliased` of the `size` values read so far, added by aliases, is over the limit."""
    return aliased > max(MAX_ALIASED_VALUES, ALIAS_GROWTH * (size - aliased))


class TooLarge(Exception):
    """What aliases add went over the limit; `at` is the anchor's position (`locations.pack`)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at


class TooDeep(Exception):
    """Nested deeper than MAX_DEPTH."""
