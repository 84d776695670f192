"""`fmt`: the canonical form of a config file (`spans.py` writes it), checked before use.

fmt checks its own work: the result holds the same data up to the intended reordering (users
and ranges sorted), every comment is there exactly once and with the same owner, and formatting
the result again changes nothing. The owner of a comment is the entry whose span holds it, read
again from the result: a comment line belongs to the entry below it, a comment ending a line to
the innermost entry starting on that line or holding it, comment lines above the first key and
below the last to the file. Comments above the entry that goes first in a list item (or in the
file) are written above the item's `-` (or at the top): they belong to the item (or the file)
on both sides. A file that fails a check raises `Unformattable`, naming the line; nothing is
written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable
from datetime import date
from typing import Any

from reconciler.config import spans
from reconciler.config.canonical import SORT_KEY
from reconciler.config.document import Document, parse_text
from reconciler.config.spans import Path, Span, Unformattable

__all__ = ["Unformattable", "format_text", "verify"]

Comment = tuple[int, int, str, bool, Path]  # line, column, text, alone on its line, owner


def format_text(text: str, document: Document | None = None) -> str:
    """The canonical form of one file's text (see `spans.py`), checked; `document` is the text
    already parsed by `parse_text(..., nodes=True)`, when the caller has it.

    Raises ruamel's YAMLError on YAML its parser cannot read and `Unformattable` when the
    result could not be trusted."""
    document = document or parse_text(text, "before", [], nodes=True)
    before = spans.layout(text, document)
    result = before.render() if before else text
    if result != text:
        _verify(result, document, before)
    return result


def verify(text: str, result: str) -> None:
    """fmt's check of its own work: raise `Unformattable` unless `result` holds the data of
    `text` (users and ranges may be reordered), each of its comments once and with the same
    owner, and is its own canonical form."""
    document = parse_text(text, "before", [], nodes=True)
    _verify(result, document, spans.layout(text, document))


def _verify(result: str, old: Document | None, before: spans.Layout | None) -> None:
    """Raise `Unformattable` unless `result` is the text read into `old` and `before`,
    reordered as intended (module doc)."""
    problems: list[Any] = []
    new = parse_text(result, "after", problems, nodes=True)
    if old is None or new is None or not isinstance(old.data, dict):
        for at in (problem.source for problem in problems if "undefined alias" in problem.message):
            alias = re.match(r"\*([^\s,\]}]+)", result.splitlines()[at.line - 1][at.column - 1 :])
            if alias:
                message = f"formatting would move the definition of the anchor `&{alias[1]}`"
                raise Unformattable(1, 1, message)
        raise Unformattable(1, 1, "formatting would make this file unreadable", None)
    data = new.data if isinstance(new.data, dict) else {}
    for key in sorted(set(old.data) | set(data), key=str):
        bag = key in SORT_KEY
        if _freeze(old.data.get(key, KeyError), bag) != _freeze(data.get(key, KeyError), bag):
            where = old.locate([key], key=True)
            message = f"formatting would change the value of `{key}`"
            raise Unformattable(where.line, where.column, message)
    after = spans.layout(result, new)
    if before is None or after is None:
        raise Unformattable(1, 1, "formatting would change the shape of this file", None)
    _same_comments(_comments(before), _comments(after))
    if after.render() != result:
        raise Unformattable(1, 1, "formatting this file twice would change it again")


def _freeze(value: Any, bag: bool = False) -> Hashable:
    """A hashable stand-in that tells types apart (`True == 1` in Python, not in YAML); with
    `bag`, a list as a multiset (fmt may reorder users and ranges)."""
    if isinstance(value, dict):
        return ("map", frozenset((_freeze(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        items = [_freeze(item) for item in value]
        return ("bag", frozenset(Counter(items).items())) if bag else ("seq", tuple(items))
    plain = not isinstance(value, date) and value == value  # a time's zone counts; NaN is not NaN
    return type(value).__name__, value if plain else str(value)


def _comments(layout: spans.Layout) -> list[Comment]:
    """Every comment with its owner (module doc); an item of a list is named by its place in
    canonical order (sorting does not change that)."""
    found: list[Comment] = []

    def scan(numbers: Iterable[int], owner: Path, start: int = 0) -> None:
        for number in numbers:
            line = layout.lines[number]
            at = spans.comment_at(line, start)
            if at < len(line):
                found.append((number, at, line[at:].rstrip(), not line[:at].strip(), owner))

    def visit(entries: list[Span], compact: bool, owner: Path) -> None:
        for index, span in enumerate(entries):  # in canonical order
            path = (*owner, span.path[-1] if span.key else ("item", index))
            scan(span.lead, owner if compact and not index else path)
            if not span.compact:
                scan([span.first], path, span.start if span.end is None else span.end)
            if span.children is not None:
                visit(span.children, span.compact, path)
            else:
                scan(range(span.first + 1, span.last + 1), path)

    head: Path = (("file", None),)
    scan(layout.head, head)
    visit(layout.spans, True, head)  # the file, like a compact item: its first entry's
    scan(layout.tail, (("end", None),))  # comments go at the top
    return sorted(found)  # in the text's order, as reported


def _same_comments(before: list[Comment], after: list[Comment]) -> None:
    """Every comment once, as before, with the same owner."""
    left = Counter((text, alone, owner) for _, _, text, alone, owner in after)
    for line, column, text, alone, owner in before:
        if not left[text, alone, owner]:
            message = "cannot reorder here without moving this comment; reorder by hand"
            if not any(text == other for other, _, _ in +left):
                message = "formatting would lose this comment"
            raise Unformattable(line + 1, column + 1, message)
        left[text, alone, owner] -= 1
    for extra, _, _ in +left:  # the first one left over
        raise Unformattable(1, 1, f"formatting would add the comment `{extra}`")
