"""What a YAML scalar means: the core schema's tags, which tag a plain scalar resolves to (YAML
1.2's rules, or 1.1's for a file that asks for them), and the value of a scalar that is not a
plain string. Both builders (`stream.py` for `load`, `nodes.py` for fmt and adopt) read scalars
through these, so they agree on every value."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from ruamel.yaml.resolver import VersionedResolver

TAG = "tag:yaml.org,2002:"
STR_TAG = TAG + "str"
MERGE_TAG = TAG + "merge"
SEQ_TAG = TAG + "seq"
MAP_TAG = TAG + "map"


class UnknownTag(LookupError):
    """A tag outside the schema: the scalar is reported and kept as its text."""


def unsupported_tag(tag: str) -> tuple[str, str]:
    """(message, hint) of the problem reported for a tag outside the schema."""
    return (
        f"unsupported YAML tag `{tag}`",
        "remove the tag; plain strings, numbers, booleans, dates, lists and maps suffice",
    )


class Rules:
    """A plain scalar's implicit tag, and a tagged scalar's value, by YAML 1.2's rules (or 1.1's,
    for a file that asks for them and is read by ruamel.yaml's own parser, which honours that)."""

    def __init__(self, honour_version: bool) -> None:
        self.honour_version = honour_version
        self.yaml11 = False
        self._table = rule_table((1, 2))
        self.first_characters = frozenset(self._table)

    def version(self, version: Any) -> bool:
        """Told the document's `%YAML` version; whether its scalars read as YAML 1.1."""
        self.yaml11 = self.honour_version and version in ((1, 1), "1.1")
        self._table = rule_table((1, 1) if self.yaml11 else (1, 2))
        self.first_characters = frozenset(self._table)
        return self.yaml11

    def resolve(self, value: str) -> str:
        rules = self._table
        for tag, regexp in rules.get(value[0] if value else "", ()):
            if regexp.match(value):
                return str(tag)
        for tag, regexp in rules.get(None, ()):
            if regexp.match(value):
                return str(tag)
        return STR_TAG

    def scalar(self, tag: str, text: str) -> Any:
        return construct(tag, text, self.yaml11)


_RULE_TABLES: dict[Any, dict[Any, list[tuple[str, Any]]]] = {}


def rule_table(version: tuple[int, int]) -> dict[Any, list[tuple[str, Any]]]:
    """ruamel.yaml's implicit-tag rules for `version`, by first character (None: any)."""
    table = _RULE_TABLES.get(version)
    if table is None:
        table = _RULE_TABLES[version] = VersionedResolver(version=version).versioned_resolver
    return table


# The spellings ruamel.yaml's constructor accepts for a bool-tagged scalar: YAML 1.2's `true` and
# `false` and, for `%YAML 1.1` files or an explicit `!!bool`, 1.1's yes/no/on/off/y/n.
_BOOLS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "on": True,
    "off": False,
    "y": True,
    "n": False,
}


def construct(tag: str | None, text: str, yaml11: bool) -> Any:
    """The value of a scalar that is not a plain string. ValueError when `text` is not a value
    of `tag` (the text is then kept as a string); UnknownTag for tags outside the schema."""
    if tag == TAG + "null":
        return None
    if tag == TAG + "bool":
        value = _BOOLS.get(text.lower())
        if value is None:
            raise ValueError(text)
        return value
    if tag == TAG + "int":
        return _to_int(text, yaml11)
    if tag == TAG + "float":
        return _to_float(text)
    if tag == TAG + "timestamp":
        return _to_timestamp(text)
    raise UnknownTag(tag)


def _to_int(text: str, yaml11: bool = False) -> int:
    clean = text.replace("_", "")
    if yaml11:  # 1.1's octal `010` and base-60 `1:30` (what ruamel.yaml's constructor reads)
        sign = -1 if clean.startswith("-") else 1
        digits = clean.lstrip("+-")
        if ":" in digits:
            value = 0
            for part in digits.split(":"):
                value = value * 60 + int(part, 10)
            return sign * value
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            return sign * int(digits, 8)
    try:
        return int(clean, 0)
    except ValueError:
        return int(clean, 10)


def _to_float(text: str) -> float:
    clean = text.replace("_", "").lower()
    if clean.endswith(".inf"):
        return -math.inf if clean.startswith("-") else math.inf
    if clean.endswith(".nan"):
        return math.nan
    return float(clean)


def _to_timestamp(text: str) -> date | datetime:
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("t", "T").replace(" ", "T", 1))
