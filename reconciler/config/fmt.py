"""Canonical formatting of config files by moving line spans, keeping comments.

Canonical means: top-level keys in the model's order, keys of each user, range, `api`,
`settings` and `policy` in the model's order, users sorted by email and ranges by name, block
collections indented by two spaces (`reconciler/config/canonical.py`). Unknown keys keep their
place after the known ones, so formatting never hides a mistake that `validate` reports.

How: the text is composed into nodes (with their line and column marks) and every entry of a
block mapping or list becomes a span of lines: the comment and blank lines directly above it,
its own lines, and the comment ending its first line. Reordering moves spans; re-indenting
rewrites the start of an entry's first line and shifts its other lines (a flow `[...]` over
several lines, a `|` scalar) by as much. Text inside an entry is not otherwise touched, except
that a one-line flow mapping's keys are put in order. Comment lines above the first top-level key
are about the file and stay at the top; a comment ending a line keeps its column where the line
leaves room. Tabs between tokens become spaces, a file written with `\r\n` keeps them.

Then fmt checks its own work (`verify`): the result holds the same data up to the intended
reordering, every comment is there exactly once and with the same owner (the entry starting on
the next line of YAML, or on its own line), and formatting the result again changes nothing.
Anchors: a list holding an anchor or alias is not sorted, and keys are not reordered past one,
so a definition never moves after its use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.config.canonical import INDENT, KEY_ORDER, SORT_KEY, TOP_ORDER, key_rank, order_of
from reconciler.config.document import Document, parse_text
from reconciler.errors import AccessctlError

HAND_HINT = "put this part in canonical order by hand; fmt then has nothing to move"
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_UNUSUAL = ("\x85", "\u2028", "\u2029", "\ufeff")
Path = tuple[tuple[str, Any], ...]  # ("key", key) and ("item", index) steps from the root
Where = frozenset[Path]
Renumber = dict[str, list[int]]  # sorted list -> for each new index, the item's old index
HEAD: Path = (("head", None),)
END: Path = (("end", None),)


class Unformattable(AccessctlError):
    """fmt cannot rewrite this text safely; `line` and `column` are 1-based."""

    def __init__(
        self,
        line: int,
        column: int,
        message: str,
        *,
        code: str = "fmt_unsafe",
        hint: str | None = HAND_HINT,
    ) -> None:
        super().__init__(message, hint=hint)
        self.line, self.column, self.code = line, column, code


def format_text(text: str, document: Document | None = None) -> str:
    """The canonical form of one file's text, checked (see the module doc); `document` is the
    text already parsed by `parse_text`, when the caller has it.

    Raises ruamel's YAMLError on YAML its parser cannot read and `Unformattable` when the
    result could not be trusted."""
    result = _format(text, document)
    if result != text:
        _verify(text, result)
    return result


def verify(text: str, result: str) -> None:
    """fmt's check of its own work: raise `Unformattable` unless `result` holds the data of
    `text` (users and ranges may be reordered), each of its comments once and with the same
    owner, and is its own canonical form."""
    _verify(text, result)


# Reading: spans of lines ------------------------------------------------------------------------


@dataclass(eq=False)
class _Span:
    """One entry of a block mapping (`key` set) or list: its lines and what is above them."""

    path: Path
    key: ScalarNode | None
    value: Node
    first: int  # the line of its key or `- `
    column: int  # where the key or `- ` stands on it
    last: int = 0  # its last line of YAML
    start: int = 0  # where its first line's text after `- ` (or its key) starts
    end: int | None = None  # where that text ends on the first line (None: it runs on)
    children: list[_Span] | None = None  # a block collection as value
    lead: list[int] = field(default_factory=list)  # comment and blank lines above it
    tied: bool = False  # holds an anchored node, an alias or a merge: its order is kept
    order: tuple[str, ...] | None = None  # key order of its value, a mapping
    sort: str | None = None  # field its value's items are sorted on

    def at(self, renumber: Renumber | None) -> Path:
        """Its path, an item of a sorted list named by its index before sorting."""
        path = self.path
        if renumber and len(path) >= 2 and path[0][1] in renumber and path[1][0] == "item":
            path = (path[0], ("item", renumber[path[0][1]][path[1][1]]), *path[2:])
        return path


class _Layout:
    """A text's lines, its top-level spans, and its comments (line -> column of the `#`)."""

    def __init__(self, text: str, root: Node) -> None:
        self.lines = [line.rstrip("\r\n") for line in _LINE_BREAK.split(text)]
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.shared = _shared(root, "*" in text or "<<" in text)
        self.seen: set[int] = set()
        self.data: set[int] = set()  # lines inside a multi-line scalar: no comment there
        self.ends: dict[int, int] = {}  # line -> column where an end-of-line comment starts
        self.by_line: dict[int, list[_Span]] = {}
        self.spans = self._block(root, (), -1)
        top = self.spans
        self.head_end = top[0].first
        self.tail = list(range(top[-1].last + 1, len(self.lines)))
        if top[0].lead:
            top[0].lead = []

    def _block(self, node: Node, path: Path, above: int) -> list[_Span]:
        spans = []
        pairs = node.value if isinstance(node, MappingNode) else [(None, v) for v in node.value]
        for index, (key, value) in enumerate(pairs):
            if key is not None:
                step: Path = (*path, ("key", key.value))
                span = _Span(step, key, value, key.start_mark.line, key.start_mark.column)
                self._key(span)
            else:
                span = _Span((*path, ("item", index)), None, value, value.start_mark.line, 0)
                self._item(span)
            span.lead = list(range(above + 1, span.first))
            self.by_line.setdefault(span.first, []).append(span)
            self._value(span)
            spans.append(span)
            above = span.last
        return spans

    def _key(self, span: _Span) -> None:
        assert span.key is not None
        line, mark = self.lines[span.first], span.key.end_mark
        if mark.line != span.first or ":" not in line[mark.column :]:
            raise self._refuse(span.first, span.column)
        colon = line.index(":", mark.column) + 1
        span.start = colon + len(line[colon:]) - len(line[colon:].lstrip())

    def _item(self, span: _Span) -> None:
        line = self.lines[span.first]
        found = re.search(r"-[ \t]+$", line[: span.value.start_mark.column])
        if found is None:
            raise self._refuse(span.first, span.value.start_mark.column)
        span.column, span.start = found.start(), found.end()

    def _value(self, span: _Span) -> None:
        """Where the value's text ends, its last line, and its children if a block one."""
        value, line, begin = span.value, self.lines[span.first], span.start
        alias = id(value) in self.seen
        span.tied = id(value) in self.shared or (span.key is not None and span.key.value == "<<")
        if alias:
            found = re.match(r"\*[^\s,\]}]+", line[begin:])
            span.last, span.end = span.first, begin + (found.end() if found else 0)
            return
        self.seen.add(id(value))
        if isinstance(value, MappingNode | SequenceNode) and not value.flow_style and value.value:
            if value.start_mark.line == span.first and span.key is not None:
                raise self._refuse(span.first, value.start_mark.column)
            span.end = begin if span.key is not None else None
            span.children = self._block(value, span.path, span.first)
            span.last = span.children[-1].last
            span.tied = span.tied or any(child.tied for child in span.children)
            if span.end is not None:
                self._comment(span.first, span.end)
            return
        span.tied = span.tied or _holds(value, self.shared)
        start, end = value.start_mark, value.end_mark
        if isinstance(value, ScalarNode) and value.value == "" and not value.style:
            span.last, span.end = span.first, begin  # `key:` alone: null
        elif isinstance(value, ScalarNode) and value.style in ("|", ">"):
            header = (
                re.match(r"[|>][-+0-9]*", line[start.column :])
                if start.line == span.first
                else None
            )
            if header is None:
                raise self._refuse(span.first, start.column)
            span.end = start.column + header.end()
            last = end.line if end.column else end.line - 1
            while last > span.first and not self.lines[last].strip():
                last -= 1
            span.last = last
            self.data.update(range(span.first + 1, last + 1))
        else:
            if start.line != span.first:
                raise self._refuse(start.line, start.column)
            span.last = end.line
            span.end = end.column if end.line == span.first else None
            if isinstance(value, ScalarNode):
                self.data.update(range(span.first + 1, end.line + 1))
            else:
                for number in range(span.first + 1, end.line + 1):
                    self._flow_comment(number)
        if span.end is not None:
            self._comment(span.first, span.end)

    def _comment(self, number: int, column: int) -> None:
        rest = self.lines[number][column:]
        if rest.strip() and not rest.lstrip().startswith("#"):
            raise self._refuse(number, column)
        if rest.strip():
            self.ends[number] = column + len(rest) - len(rest.lstrip())

    def _flow_comment(self, number: int) -> None:
        """A comment ending a line inside a flow collection: the first `#` after a blank,
        outside quotes."""
        quote = None
        line = self.lines[number]
        for column, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and (column == 0 or line[column - 1] in " \t"):
                if line[:column].strip():
                    self.ends[number] = column
                return

    def _refuse(self, line: int, column: int) -> Unformattable:
        return Unformattable(
            line + 1,
            column + 1,
            "cannot format this shape of YAML",
            hint="write the key or list item on one line with its `- ` or `key:`",
        )

    def comments(self) -> list[tuple[int, int, bool]]:
        """Every comment as (line, column, alone on its line)."""
        found = [(n, c, False) for n, c in self.ends.items()]
        for number, line in enumerate(self.lines):
            if number not in self.data and line.lstrip().startswith("#"):
                found.append((number, len(line) - len(line.lstrip()), True))
            elif number < self.head_end and "#" in line and line.lstrip().startswith("---"):
                found.append((number, line.index("#"), False))
        return sorted(found)


def _shared(root: Node, aliases: bool) -> set[int]:
    """Ids of nodes that appear twice (an anchor and its aliases) or hold a merge; a date
    that is none (`2027-02-30`) is refused as it was by the loader fmt used before."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.tag == _TIMESTAMP:
                _check_date(node)
        elif aliases and isinstance(node, MappingNode):
            if any(isinstance(k, ScalarNode) and k.value == "<<" for k, _ in node.value):
                shared.add(id(node))
            stack += [n for pair in node.value for n in pair]
        elif isinstance(node, MappingNode):
            stack += [value for _, value in node.value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return shared


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _check_date(node: ScalarNode) -> None:
    text = node.value
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("t", "T").replace(" ", "T", 1))
    except ValueError as exc:
        mark = node.start_mark
        raise Unformattable(
            mark.line + 1,
            mark.column + 1,
            f"expected a date (YYYY-MM-DD), got `{text}` ({exc})",
            code="invalid_type",
            hint="fix the date; fmt formats only files that load",
        ) from None


def _holds(node: Node, shared: set[int]) -> bool:
    if id(node) in shared:
        return True
    if isinstance(node, MappingNode):
        return any(_holds(v, shared) for _, v in node.value)
    return isinstance(node, SequenceNode) and any(_holds(v, shared) for v in node.value)


# Writing: spans in canonical order --------------------------------------------------------------


def _format(text: str, document: Document | None = None) -> str:
    layout = _layout(text, document)
    if layout is None:
        return text
    _plan(layout.spans)
    lines = layout.lines
    out = [_at(lines[n], 0) for n in range(layout.head_end)]
    out += _Writer(lines, layout.ends).block(layout.spans, 0, None)
    out += [_at(lines[n], 0) for n in layout.tail]
    brk = _line_break(text)
    return brk.join(out) + brk


def _layout(text: str, document: Document | None) -> _Layout | None:
    work, root = text, None
    if "\t" in text:
        work = _untab_separators(text)
        root = _compose(work)
    elif any(char in text for char in _UNUSUAL):
        root = _compose(text)
    else:
        document = document or parse_text(text, "", [])
        root = document.root if document is not None else _compose(text)
    if not isinstance(root, MappingNode) or not root.value or root.flow_style:
        return None
    return _Layout(work, root)


def _compose(text: str) -> Node | None:
    """ruamel.yaml's own parser: it counts lines as editors do, and reads what libyaml does not."""
    node: Node | None = YAML(typ="safe", pure=True).compose(text)
    return node


def _plan(top: list[_Span]) -> None:
    """Which mappings get which key order, which lists are sorted on what."""
    for span in top:
        section = span.key.value if span.key is not None else None
        if section not in KEY_ORDER:
            continue
        if isinstance(span.value, MappingNode):
            span.order = KEY_ORDER[section]
        elif isinstance(span.value, SequenceNode) and section in SORT_KEY:
            span.sort = SORT_KEY[section]
            for item in span.children or []:
                if isinstance(item.value, MappingNode):
                    item.order = KEY_ORDER[section]


def _ordered(spans: list[_Span], order: tuple[str, ...] | None, sort: str | None) -> list[_Span]:
    """`spans` in canonical order; unchanged where that would move an anchor or alias past
    another (merge keys `<<` keep their place)."""
    if sort is not None:
        if any(span.tied for span in spans):
            return spans
        return sorted(spans, key=lambda span: _sort_value(span.value, sort))
    if order is None:
        return spans
    pinned = {i for i, span in enumerate(spans) if _name(span.key) == "<<"}
    free = sorted(
        (s for i, s in enumerate(spans) if i not in pinned),
        key=lambda s: key_rank(order, _name(s.key)),
    )
    wanted = [spans[i] if i in pinned else free.pop(0) for i in range(len(spans))]
    if [s for s in wanted if s.tied] != [s for s in spans if s.tied]:
        return spans
    return wanted


def _name(key: Node | None) -> Any:
    return key.value if isinstance(key, ScalarNode) else None


def _sort_value(node: Node, field_name: str) -> tuple[int, str]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if _name(key) == field_name and isinstance(value, ScalarNode):
                return (0, order_of(value.value))
    return (1, "")


@dataclass
class _Writer:
    lines: list[str]
    ends: dict[int, int]

    def block(self, spans: list[_Span], indent: int, parent: _Span | None) -> list[str]:
        order, sort = (TOP_ORDER, None) if parent is None else (parent.order, parent.sort)
        out: list[str] = []
        for span in _ordered(spans, order, sort):
            out += [_at(self.lines[n], indent) for n in span.lead]
            out += self.entry(span, indent)
        return out

    def entry(self, span: _Span, indent: int) -> list[str]:
        if span.children is not None and span.key is None:  # `- key: ...`: its first key's line
            first = _ordered(span.children, span.order, span.sort)[0]
            above = [_at(self.lines[n], indent) for n in first.lead]
            saved, first.lead = first.lead, []
            body = self.block(span.children, indent + INDENT, span)
            first.lead = saved
            body[0] = " " * indent + "- " + body[0][indent + INDENT :]
            return above + body
        line, end = self._flow_keys(span)
        value = line[span.start : len(line) if end is None else end].rstrip()
        if span.key is not None:
            head = (
                line[span.column : span.key.end_mark.column] + ":" + (" " + value if value else "")
            )
        else:
            head = "- " + value
        new = " " * indent + head
        if span.first in self.ends:
            column = self.ends[span.first] + len(line) - len(self.lines[span.first])
            gap = len(line[:column]) - len(line[:column].rstrip()) or 1
            new += " " * max(column - len(new), gap) + line[column:].rstrip()
        if span.children is not None:
            return [new, *self.block(span.children, indent + INDENT, span)]
        shift = indent - span.column
        return [new, *(_shift(self.lines[n], shift) for n in range(span.first + 1, span.last + 1))]

    def _flow_keys(self, span: _Span) -> tuple[str, int | None]:
        """The first line with a one-line flow mapping's keys in order, and where its YAML ends."""
        line, node = self.lines[span.first], span.value
        if (
            span.order is None
            or not isinstance(node, MappingNode)
            or not node.flow_style
            or node.start_mark.line != node.end_mark.line
        ):
            return line, span.end
        keys = [_Span((), key, value, 0, 0) for key, value in node.value]
        wanted = _ordered(keys, span.order, None)
        if wanted == keys:
            return line, span.end
        starts = [key.start_mark.column for key, _ in node.value]
        close = node.end_mark.column - 1
        parts = [
            line[a:b].rstrip().rstrip(",").rstrip()
            for a, b in zip(starts, [*starts[1:], close], strict=True)
        ]
        text = ", ".join(parts[keys.index(k)] for k in wanted)
        new = line[: starts[0]] + text + line[close:]
        grown = len(new) - len(line)
        return new, None if span.end is None else span.end + grown


def _at(line: str, indent: int) -> str:
    """A comment line moved to `indent`; a blank line stays blank; anything else as it is."""
    if line.lstrip().startswith("#"):
        return " " * indent + line.strip()
    return line.rstrip()


def _shift(line: str, by: int) -> str:
    if not line.strip() or by == 0:
        return line if line.strip() else ""
    if by > 0:
        return " " * by + line
    return line[min(-by, len(line) - len(line.lstrip(" "))) :]


def _line_break(text: str) -> str:
    """The line break most lines of `text` end with: `\r\n` or `\n` (a tie is `\n`)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf + text.count("\r") - crlf else "\n"


@dataclass
class _Mark:
    line: int
    column: int


def _untab_separators(text: str) -> str:
    """`text` with spaces for the tabs between tokens (`key:\tvalue`, `a: b\t# c`): libyaml,
    `validate`'s loader, reads them; ruamel.yaml's parser refuses them. Tabs inside scalars and
    comments stay (a double-quoted one becomes `\\t`); no line moves."""
    lines = _LINE_BREAK.split(text)
    breaks = _LINE_BREAK.findall(text)
    spans: dict[int, list[tuple[int, int, bool]]] = {}  # line -> token columns, double-quoted
    try:
        tokens = list(YAML(typ="safe").scan(text))
    except YAMLError:
        tokens = list(YAML(typ="safe", pure=True).scan(text))
    for token in tokens:
        begin, end = token.start_mark, token.end_mark
        style = getattr(token, "style", None)
        quoted = style == '"' and begin.line == end.line
        if style in ("|", ">"):  # on its first line only its header: `|`, `>-`, `|2`
            header = re.match(r"[|>][-+0-9]*", lines[begin.line][begin.column :])
            end = _Mark(begin.line, begin.column + (header.end() if header else 1))
        for number in range(begin.line, end.line + 1):
            left = begin.column if number == begin.line else 0
            right = end.column if number == end.line else len(lines[number])
            if right > left:
                spans.setdefault(number, []).append((left, right, quoted))
    for number, line in enumerate(lines):
        if "\t" not in line or number not in spans:
            continue
        inside = spans[number]
        first, last = min(a for a, _, _ in inside), max(b for _, b, _ in inside)
        comment = line.find("#", last)
        stop = comment if comment >= 0 else len(line)
        out = ""
        for column, char in enumerate(line):
            token = next((q for a, b, q in inside if a <= column < b), None)
            if char != "\t" or column < first or column >= stop:
                out += char
            elif token is None or column >= last:
                out += " " * (8 - len(out) % 8)
            else:
                out += "\\t" if token else char
        lines[number] = out
    return "".join(line + brk for line, brk in zip(lines, [*breaks, ""], strict=True))


# Checking the result -----------------------------------------------------------------------------


def _verify(text: str, result: str) -> None:
    """Raise `Unformattable` unless `result` is `text` reordered as intended (module doc)."""
    renumber = _same_data(text, result)
    before, after = _layout(text, None), _layout(result, None)
    if before is None or after is None:
        raise Unformattable(1, 1, "formatting would change the shape of this file", hint=None)
    _same_comments(_placed(before, None), _placed(after, renumber))
    if _format(result) != result:
        raise Unformattable(1, 1, "formatting this file twice would change it again")


Placed = tuple[int, int, str, bool, Where]  # line, column, text, alone on its line, owner


def _placed(layout: _Layout, renumber: Renumber | None) -> list[Placed]:
    """Each comment with its owner: a comment line belongs to the outermost entry starting on
    the next line of YAML, one ending a line to the innermost entry starting on that line (or
    else holding it); comment lines above the first key are about the file or that key."""
    lines, first = layout.lines, layout.spans[0]
    placed = []
    for number, column, alone in layout.comments():
        where: Where
        if alone:
            below = next((n for n in range(number + 1, len(lines)) if _is_yaml(layout, n)), None)
            if below is None:
                where = frozenset({END})
            elif below <= first.first:
                where = frozenset({HEAD, first.at(renumber)})
            else:
                here = layout.by_line.get(below)
                owner = here[0] if here else _holding(layout, below)
                where = frozenset({owner.at(renumber) if owner else (("nowhere", below),)})
        elif number < layout.head_end:
            where = frozenset({HEAD})
        else:
            here = layout.by_line.get(number)
            owner = here[-1] if here else _holding(layout, number)
            where = frozenset({owner.at(renumber) if owner else (("nowhere", number),)})
        placed.append((number, column, lines[number][column:].rstrip(), alone, where))
    return placed


def _is_yaml(layout: _Layout, number: int) -> bool:
    stripped = layout.lines[number].strip()
    return bool(stripped) and (number in layout.data or not stripped.startswith("#"))


def _holding(layout: _Layout, number: int) -> _Span | None:
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


def _same_data(text: str, result: str) -> Renumber:
    """How the sorted lists' items moved; raises if anything else changed."""
    problems: list[Any] = []
    old_doc, new_doc = parse_text(text, "before", []), parse_text(result, "after", problems)
    for problem in problems if new_doc is None else []:
        line = result.splitlines()[problem.line - 1] if "undefined alias" in problem.message else ""
        alias = re.match(r"\*([^\s,\]}]+)", line[problem.column - 1 :])
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
