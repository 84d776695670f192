"""`fmt`: the canonical form of a config file (`spans.py` writes it), checked before use.

fmt checks its own work: the result holds the same data up to the intended reordering (users
and ranges sorted), every comment is there exactly once and with the same owner (a comment line
belongs to the entry starting on the next line of YAML, a comment ending a line to the entry
starting on it, or else holding it), and formatting the result again changes nothing. A file
that fails a check raises `Unformattable`, naming the line; nothing is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from datetime import date
from typing import Any

from reconciler.config.canonical import SORT_KEY
from reconciler.config.document import Document, parse_text
from reconciler.config.spans import Layout, Path, Span, Unformattable, layout, render

__all__ = ["Unformattable", "format_text", "verify"]

Where = frozenset[Path]
Renumber = dict[str, list[int]]  # sorted list -> for each new index, the item's old index
HEAD: Path = (("head", None),)
END: Path = (("end", None),)


def format_text(text: str, document: Document | None = None) -> str:
    """The canonical form of one file's text (see `spans.py`), checked; `document` is the text
    already parsed by `parse_text`, when the caller has it.

    Raises ruamel's YAMLError on YAML its parser cannot read and `Unformattable` when the
    result could not be trusted."""
    document = document or parse_text(text, "before", [], nodes=True)
    before = layout(text, document)
    result = render(text, before)
    if result != text:
        _verify(text, result, document, before)
    return result


def verify(text: str, result: str) -> None:
    """fmt's check of its own work: raise `Unformattable` unless `result` holds the data of
    `text` (users and ranges may be reordered), each of its comments once and with the same
    owner, and is its own canonical form."""
    document = parse_text(text, "before", [], nodes=True)
    _verify(text, result, document, layout(text, document))


# Checking the result -----------------------------------------------------------------------------


def _verify(text: str, result: str, old_doc: Document | None, before: Layout | None) -> None:
    """Raise `Unformattable` unless `result` is `text` reordered as intended (module doc)."""
    problems: list[Any] = []
    new_doc = parse_text(result, "after", problems, nodes=True)
    renumber = _same_data(old_doc, new_doc, result, problems)
    after = layout(result, new_doc)
    if before is None or after is None:
        raise Unformattable(1, 1, "formatting would change the shape of this file", hint=None)
    _same_comments(_placed(before, None), _placed(after, renumber))
    if render(result, after) != result:
        raise Unformattable(1, 1, "formatting this file twice would change it again")


Placed = tuple[int, int, str, bool, Where]  # line, column, text, alone on its line, owner


def _placed(layout: Layout, renumber: Renumber | None) -> list[Placed]:
    """Each comment with its owner: a comment line belongs to the outermost entry starting on
    the next line of YAML, one ending a line to the innermost entry starting on that line (or
    else holding it); comment lines above the first key are about the file or that key."""
    lines, first = layout.lines, layout.spans[0]
    placed = []
    for number, column, alone in _comments(layout):
        where: Where
        if alone:
            below = next((n for n in range(number + 1, len(lines)) if _is_yaml(layout, n)), None)
            if below is None:
                where = frozenset({END})
            elif below <= first.first:
                where = frozenset({HEAD, _at(first, renumber)})
            else:
                here = layout.by_line.get(below)
                owner = here[0] if here else _holding(layout, below)
                where = frozenset({_at(owner, renumber) if owner else (("nowhere", below),)})
        elif number < layout.head_end:
            where = frozenset({HEAD})
        else:
            here = layout.by_line.get(number)
            owner = here[-1] if here else _holding(layout, number)
            where = frozenset({_at(owner, renumber) if owner else (("nowhere", number),)})
        placed.append((number, column, lines[number][column:].rstrip(), alone, where))
    return placed


def _is_yaml(layout: Layout, number: int) -> bool:
    stripped = layout.lines[number].strip()
    return bool(stripped) and (number in layout.data or not stripped.startswith("#"))


def _holding(layout: Layout, number: int) -> Span | None:
    """The innermost entry whose lines include line `number`."""
    for line in range(number, -1, -1):
        for span in reversed(layout.by_line.get(line, [])):
            if span.last >= number:
                return span
    return None


def _same_comments(before: list[Placed], after: list[Placed]) -> None:
    """Every comment once, as before, with a compatible owner."""
    left: dict[tuple[str, bool], list[Where]] = {}
    for _, _, text, alone, where in after:
        left.setdefault((text, alone), []).append(where)
    texts = {text for _, _, text, _, _ in after}
    for line, column, text, alone, where in before:
        candidates = left.get((text, alone), [])
        found = next((i for i, new in enumerate(candidates) if _compatible(where, new)), None)
        if found is None:
            raise Unformattable(
                line + 1,
                column + 1,
                "cannot reorder here without moving this comment; reorder by hand"
                if text in texts
                else "formatting would lose this comment",
            )
        candidates.pop(found)
    extra = next((text for (text, _), rest in left.items() if rest), None)
    if extra is not None:
        raise Unformattable(1, 1, f"formatting would add the comment `{extra}`")


def _compatible(old: Where, new: Where) -> bool:
    """The same owner, or the list item around it (a comment above an item's first key is
    written above the item's `- `)."""
    for a in old:
        for b in new:
            if a == b or (len(b) < len(a) and a[: len(b)] == b and b[-1][0] == "item"):
                return True
    return False


def _same_data(
    old_doc: Document | None, new_doc: Document | None, result: str, problems: list[Any]
) -> Renumber:
    """How the sorted lists' items moved; raises if anything else changed."""
    for problem in problems if new_doc is None else []:
        at = problem.source
        line = result.splitlines()[at.line - 1] if "undefined alias" in problem.message else ""
        alias = re.match(r"\*([^\s,\]}]+)", line[at.column - 1 :])
        if alias:
            message = f"formatting would move the definition of the anchor `&{alias.group(1)}`"
            raise Unformattable(1, 1, message)
    if old_doc is None or new_doc is None or not isinstance(old_doc.data, dict):
        raise Unformattable(1, 1, "formatting would make this file unreadable", hint=None)
    old, new = old_doc.data, new_doc.data
    renumber: Renumber = {}
    for key in sorted(set(old) | set(new), key=str):
        if key in SORT_KEY and isinstance(old.get(key), list) and isinstance(new.get(key), list):
            matched = _match(old[key], new[key])
            if matched is not None:
                renumber[key] = matched
                continue
        if key not in old or key not in new or _freeze(old[key]) != _freeze(new[key]):
            where = old_doc.locate([key], key=True) if key in old else None
            raise Unformattable(
                where.line if where else 1,
                where.column if where else 1,
                f"formatting would change the value of `{key}`",
            )
    return renumber


def _match(old: list[Any], new: list[Any]) -> list[int] | None:
    """For each new item the index of an equal old one (a permutation), or None."""
    free: dict[Hashable, list[int]] = {}
    for index, item in enumerate(old):
        free.setdefault(_freeze(item), []).append(index)
    found: list[int] = []
    for item in new:
        indices = free.get(_freeze(item))
        if not indices:
            return None
        found.append(indices.pop(0))
    return found if len(found) == len(old) else None


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in that tells types apart (`True == 1` in Python, not in YAML)."""
    if isinstance(value, dict):
        return ("map", frozenset((_freeze(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("seq", tuple(_freeze(item) for item in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, date):
        return (type(value).__name__, value.isoformat())
    return (type(value).__name__, value)


def _comments(layout: Layout) -> list[tuple[int, int, bool]]:
    """Every comment as (line, column, alone on its line)."""
    found = [(n, c, False) for n, c in layout.ends.items()]
    found += [(n, c, False) for n in layout.flow if (c := _flow_comment(layout.lines[n])) > 0]
    for number, line in enumerate(layout.lines):
        if number not in layout.data and line.lstrip().startswith("#"):
            found.append((number, len(line) - len(line.lstrip()), True))
        elif number < layout.head_end and "#" in line and line.lstrip().startswith("---"):
            found.append((number, line.index("#"), False))
    return sorted(found)


def _flow_comment(line: str) -> int:
    """Where a comment ending a line inside a flow collection starts: the first `#` after a
    blank, outside quotes (-1: none; 0: the line is a comment)."""
    quote = None
    for column, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (column == 0 or line[column - 1] in " \t"):
            return column if line[:column].strip() else 0
    return -1


def _at(span: Span, renumber: Renumber | None) -> Path:
    """Its path, an item of a sorted list named by its index before sorting."""
    path = span.path
    if renumber and len(path) >= 2 and path[0][1] in renumber and path[1][0] == "item":
        path = (path[0], ("item", renumber[path[0][1]][path[1][1]]), *path[2:])
    return path
