"""Canonical formatting by moving line spans (the core of `fmt`; `reformat.py` checks its work).

Canonical means: top-level keys in the model's order, keys of each user, range, `api`,
`settings` and `policy` in the model's order, users sorted by email and ranges by name, block
collections indented by two spaces (`reconciler/config/canonical.py`). Unknown keys keep their
place after the known ones, so formatting never hides a mistake that `validate` reports.

The text is composed into nodes (with their line and column marks) and every entry of a block
mapping or list becomes a span of lines: the comment and blank lines directly above it, its own
lines, and the comment ending its first line. Reordering moves spans; re-indenting rewrites the
start of an entry's first line and shifts its other lines (a flow `[...]` over several lines, a
`|` scalar, a value below its key) by as much. A list item whose `-` stands alone on its line
is joined with its first key (`- email: ...`) unless an anchor or a comment is on that line.
Text inside an entry is not otherwise touched, except that a flow mapping's keys are put in
order (where each key and its value are on one line, and one over several lines holds no
comment) and a tab in a one-line double-quoted value is written `\\t`. Comment lines above the
first top-level key are about the file and stay at the top; a comment ending a line keeps its
column where the line leaves room (tabs before it counted to the next multiple of eight); a
file written with CRLF line breaks keeps them. Entries holding an anchor that an alias names (or
the alias), and merge keys `<<`, keep their order among themselves (merge keys go first), so a
definition never moves after its use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.config.canonical import INDENT, KEY_ORDER, SORT_KEY, TOP_ORDER, key_rank, order_of
from reconciler.config.document import Document
from reconciler.config.nodes import compose
from reconciler.errors import AccessctlError

HAND_HINT = "put this part in canonical order by hand; fmt then has nothing to move"
SHAPE_HINT = "write the key or list item on one line with its `- ` or `key:`"
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_COLON = re.compile(r"\s*:\s*")  # after a key
_ANCHOR = re.compile(r"(?:!\S*\s+)?&([^\s,\[\]{}]+)")  # a node's tag and anchor, from its start
_UNUSUAL = ("\x85", "\u2028", "\u2029", "\ufeff")  # line breaks to libyaml, not to editors
# text up to a comment's `#`: text without one (no `#` after a blank, except inside quotes), then
# the `#` (possessive: never a `#` the text before it held)
_COMMENT = re.compile(r"""(?:[^\s'"#]|\s(?!#)|'[^']*'?|"[^"]*"?|(?<=\S)#)*+\s?#""")
Path = tuple[tuple[str, Any], ...]  # ("key", key) and ("item", index) steps from the root
Order = tuple[tuple[str, ...] | None, str | None]  # key order of a mapping, sort field of a list


class Unformattable(AccessctlError):
    """fmt cannot rewrite this text safely; `line` and `column` are 1-based."""

    code = "fmt_unsafe"

    def __init__(self, line: int, column: int, message: str, hint: str | None = HAND_HINT) -> None:
        super().__init__(message, hint=hint)
        self.line, self.column = line, column


class NoDate(Unformattable):
    """A date that is none (`2027-02-30`): refused as the loader fmt used before did."""

    code = "invalid_type"


# Spans of lines: read from the nodes, written in canonical order --------------------------------


@dataclass(eq=False)
class Span:
    """One entry of a block mapping (`key` set) or list: its lines and what is above them."""

    path: Path
    key: ScalarNode | None
    value: Node
    first: int  # the line of its key or `-`
    column: int  # where the key or `-` stands on it
    start: int  # where the text after `key:` or `-` starts on that line
    end: int | None = None  # where its YAML ends there: a comment or the line's end (None: runs on)
    last: int = 0  # its last line of YAML
    children: list[Span] | None = None  # a block collection as value, in canonical order
    compact: bool = False  # a list item written `- key: ...`: its first entry on the `-` line
    lead: range = range(0)  # comment and blank lines above it
    tied: bool = False  # holds an aliased anchor (or its alias), or is a merge: kept in order


class Layout:
    """A text's lines and its top-level spans in canonical order, with what the self-check
    needs; `render` writes them."""

    def __init__(self, text: str, root: Node) -> None:
        self.lines = _LINE_BREAK.split(text)  # and "" after a line break that ends the text
        # CRLF when most line breaks are CRLF, each one a \r and a \n (a tie is LF)
        self.brk = "\r\n" if 3 * text.count("\r\n") > text.count("\n") + text.count("\r") else "\n"
        self.tied = _shared(root, self.lines if "*" in text else None)
        self.head = range(root.value[0][0].start_mark.line)  # lines above the first key
        spans = self._block(root, (), len(self.head) - 1)
        self.tail = range(spans[-1].last + 1, len(self.lines) - (self.lines[-1] == ""))
        self.spans = ordered(spans, TOP_ORDER)

    def render(self) -> str:
        """The text in canonical form; unchecked (`reformat.py` checks)."""
        out = [_at(self.lines[n], 0) for n in self.head]
        out += self.write(self.spans, 0)
        out += [_at(self.lines[n], 0) for n in self.tail]
        # no blank line at the top (from above a key that now comes first)
        return self.brk.join(out).lstrip("\r\n") + self.brk

    def _block(self, node: Node, path: Path, above: int) -> list[Span]:
        spans = []
        pairs = node.value if isinstance(node, MappingNode) else [(None, v) for v in node.value]
        for index, (key, value) in enumerate(pairs):
            at = (*path, ("key", key.value) if key else ("item", index))
            span = self._key(key, value, at) if key else self._item(value, at, above)
            span.lead = range(above + 1, span.first)
            self._value(span)
            spans.append(span)
            above = span.last
        return spans

    def _key(self, key: ScalarNode, value: Node, path: Path) -> Span:
        number, mark = key.start_mark.line, key.end_mark
        colon = _COLON.match(self.lines[number], mark.column)
        if mark.line != number or colon is None:
            raise _refuse(number, key.start_mark.column)  # `? key`, or a key over lines
        return Span(path, key, value, number, key.start_mark.column, colon.end())

    def _item(self, value: Node, path: Path, above: int) -> Span:
        number, column = value.start_mark.line, value.start_mark.column
        if number < above or (number == above and path[-1][1]):  # an alias (not `- - x`):
            later = range(above + 1, len(self.lines))  # marked at its anchor; `- *name` is next
            number = next((n for n in later if self.lines[n].strip()[:1] not in "#"), above)
            if (column := self.lines[number].find("*")) < 0:  # ("" is in "#": blank lines too)
                raise _refuse(number, 0)
        line = self.lines[number][:column]
        while not line.strip() and number > 0:  # `-` alone on a line above (a comment after it?)
            number -= 1
            line = self.lines[number][: comment_at(self.lines[number])]
        found = re.search(r"-[ \t]*$", line)
        if found is None:
            raise _refuse(value.start_mark.line, column)
        return Span(path, None, value, number, found.start(), found.end())

    def _value(self, span: Span) -> None:
        """Its last line, where its YAML ends on the first one, its children if a block
        collection. An alias is a node met before, its marks its anchor's: above it."""
        value, line = span.value, self.lines[span.first]
        alias = (value.start_mark.line, value.start_mark.column) < (span.first, span.start)
        block = isinstance(value, ScalarNode) and value.style in ("|", ">")
        span.tied = id(value) in self.tied or _name(span.key) == "<<"
        span.last = span.first if alias else value.end_mark.line - (value.end_mark.column == 0)
        if not alias and isinstance(value, MappingNode | SequenceNode) and not value.flow_style:
            children = self._block(value, span.path, span.first)
            span.last = children[-1].last
            joined = children[0].first == span.first  # `- key: ...`
            span.compact = span.key is None and (joined or not line[span.start :].strip())
            span.children = ordered(children, *canonical(span))
        inline = not (alias or block or span.children) and value.start_mark.line == span.first
        if not (inline and span.last > span.first):  # else its first line is copied whole
            span.end = comment_at(line, value.end_mark.column if inline else span.start)

    def write(self, spans: list[Span], indent: int) -> list[str]:
        """The lines of `spans` at `indent`."""
        return [line for span in spans for line in self._entry(span, indent)]

    def _entry(self, span: Span, indent: int) -> list[str]:
        """Its lines, after the comment and blank lines above it."""
        lead = [_at(self.lines[n], indent) for n in span.lead]
        if span.compact and span.children:  # `- ` before its first entry's first line, and
            body = self.write(span.children, indent + INDENT)
            first = len(span.children[0].lead)  # that entry's comments above the `-`
            body[first] = " " * indent + "- " + body[first][indent + INDENT :]
            return lead + [_at(line, indent) for line in body[:first]] + body[first:]
        edited = self._flow_keys(span)
        line = edited.get(span.first, self.lines[span.first])
        end = None if span.end is None else span.end + len(line) - len(self.lines[span.first])
        value = line[span.start : end].rstrip()
        blank = line[span.start + len(value) : end]  # between it and its comment
        if isinstance(span.value, ScalarNode) and span.value.style == '"' and end is not None:
            value = re.sub(r"\\[^\t]|\\?\t", lambda m: m[0] if m[0][-1] != "\t" else "\\t", value)
        key = line[span.column : span.key.end_mark.column] + ":" if span.key else "-"
        new = " " * indent + key + (" " + value if value else "")
        if end is not None and end < len(line):  # a comment: at its column, where there is room
            visual = len((line[: span.start] + value + blank).expandtabs())
            gap = len(line[:end]) - len(line[:end].rstrip()) or 1
            new += " " * max(visual - len(new.expandtabs()), gap) + line[end:].rstrip()
        if span.children is not None:
            return [*lead, new, *self.write(span.children, indent + INDENT)]
        rest = (edited.get(n, self.lines[n]) for n in range(span.first + 1, span.last + 1))
        return [*lead, new, *(_shift(text, indent - span.column) for text in rest)]

    def _flow_keys(self, span: Span) -> dict[int, str]:
        """The lines of a flow mapping with its keys put in order (line -> new text): where
        each key and its value are on one line, and one over several lines holds no comment."""
        node, keys = span.value, canonical(span)[0]
        if keys is None or not isinstance(node, MappingNode) or span.children:
            return {}
        wanted = sorted(node.value, key=lambda pair: _rank(pair[0], keys))
        inside = self.lines[node.start_mark.line : node.end_mark.line + 1]
        inside[-1] = inside[-1][: node.end_mark.column]
        commented = len(inside) > 1 and any("#" in line for line in inside)
        if commented or wanted == node.value or not all(_one_line(k, v) for k, v in wanted):
            return {}
        pieces = (
            self.lines[k.start_mark.line][k.start_mark.column : v.end_mark.column]
            for k, v in wanted
        )
        edited = {}
        for number, group in groupby(node.value, key=lambda pair: pair[0].start_mark.line):
            pairs, line = list(group), self.lines[number]
            start, end = pairs[0][0].start_mark.column, pairs[-1][1].end_mark.column
            edited[number] = line[:start] + ", ".join(next(pieces) for _ in pairs) + line[end:]
        return edited


def _refuse(line: int, column: int) -> Unformattable:
    return Unformattable(line + 1, column + 1, "cannot format this shape of YAML", SHAPE_HINT)


def comment_at(line: str, start: int = 0) -> int:
    """Where a comment on `line` starts, from `start` on: the first `#` after a blank (or
    opening the line), outside quotes; the line's end when there is none."""
    found = _COMMENT.match(line, start)
    return found.end() - 1 if found else len(line)


def _shared(root: Node, lines: list[str] | None) -> set[int]:
    """Ids of the nodes holding an anchor that an alias refers to (an alias is its anchor's
    node, marks included), given the text's `lines` when it holds `*`; raises `NoDate` on a
    date that is none."""
    text = "\n".join(lines or ())
    done: set[int] = set()
    tied: set[int] = set()

    def walk(node: Node) -> bool:
        if id(node) in done:
            return id(node) in tied
        done.add(id(node))
        if isinstance(node, ScalarNode):
            _check_date(node)
        else:
            pairs = node.value if isinstance(node, MappingNode) else [(n,) for n in node.value]
            if any([walk(n) for pair in pairs for n in pair]):  # each one, for its dates
                tied.add(id(node))
        anchor = lines and _ANCHOR.match(lines[node.start_mark.line], node.start_mark.column)
        if anchor and f"*{anchor[1]}" in text:
            tied.add(id(node))
        return id(node) in tied

    walk(root)
    return tied


def _check_date(node: ScalarNode) -> None:
    text, mark = node.value, node.start_mark
    if node.tag == "tag:yaml.org,2002:timestamp":
        try:
            (date if len(text) == 10 else datetime).fromisoformat(text.replace(" ", "T", 1))
        except ValueError as exc:
            message = f"expected a date (YYYY-MM-DD), got `{text}` ({exc})"
            hint = "fix the date; fmt formats only files that load"
            raise NoDate(mark.line + 1, mark.column + 1, message, hint) from None


# A text in canonical form -----------------------------------------------------------------------


def layout(text: str, document: Document | None) -> Layout | None:
    """The spans of `text`, from the nodes of `document` (`parse_text(..., nodes=True)`); None
    when it is no block mapping (nothing to order). A text with a character libyaml counts as a
    line break and editors do not (U+2028), or without its nodes, is composed by ruamel.yaml's
    own parser, whose marks count lines as editors do."""
    usual = not any(char in text for char in _UNUSUAL)
    root = document.root if document and usual else compose(text, pure=True)[0]
    if not isinstance(root, MappingNode) or not root.value or root.flow_style:
        return None
    return Layout(text, root)


def canonical(parent: Span) -> Order:
    """The key order of a section or an item of a sorted list; a list's sort field."""
    path, mapping = parent.path, isinstance(parent.value, MappingNode)
    if len(path) == 1:
        return (KEY_ORDER.get(path[0][1]), None) if mapping else (None, SORT_KEY.get(path[0][1]))
    item = len(path) == 2 and path[1][0] == "item" and path[0][1] in SORT_KEY and mapping
    return KEY_ORDER[path[0][1]] if item else None, None


def ordered(spans: list[Span], keys: tuple[str, ...] | None, sort: str | None = None) -> list[Span]:
    """`spans` in canonical order (`keys` of a mapping, or a list's `sort` field); unchanged
    where that would move an anchor or alias past another."""
    wanted = sorted(spans, key=lambda s: _sort_value(s, sort) if sort else _rank(s.key, keys))
    return wanted if [s for s in wanted if s.tied] == [s for s in spans if s.tied] else spans


def _rank(key: Node | None, order: tuple[str, ...] | None) -> int:
    return -1 if _name(key) == "<<" else key_rank(order or (), _name(key))


def _name(key: Node | None) -> Any:
    return key.value if isinstance(key, ScalarNode) else None


def _sort_value(span: Span, field_name: str) -> tuple[int, str]:
    pairs = span.value.value if isinstance(span.value, MappingNode) else []
    found = [v.value for k, v in pairs if _name(k) == field_name and isinstance(v, ScalarNode)]
    return (0, order_of(found[0])) if found else (1, "")


def _one_line(key: Node, value: Node) -> bool:
    """Whether a flow mapping's key and value are written on one line, the value after the key
    (an alias's marks are those of its anchor)."""
    start, end = value.start_mark, value.end_mark
    same_line = key.start_mark.line == start.line == end.line
    return bool(same_line and start.column >= key.end_mark.column)


def _at(line: str, indent: int) -> str:
    """A comment line moved to `indent`; a blank line stays blank; anything else as it is."""
    return " " * indent + line.strip() if line.lstrip().startswith("#") else line.rstrip()


def _shift(line: str, by: int) -> str:
    """A line inside an entry, moved `by` columns with it."""
    kept = min(max(-by, 0), len(line) - len(line.lstrip(" ")))  # leading spaces it keeps
    return " " * by + line[kept:] if line.strip() else ""
