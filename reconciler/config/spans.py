"""Canonical formatting by moving line spans (the core of `fmt`; `reformat.py` checks its work).

Canonical means: top-level keys in the model's order, keys of each user, range, `api`,
`settings` and `policy` in the model's order, users sorted by email and ranges by name, block
collections indented by two spaces (`reconciler/config/canonical.py`). Unknown keys keep their
place after the known ones, so formatting never hides a mistake that `validate` reports.

The text is composed into nodes (with their line and column marks) and every entry of a block
mapping or list becomes a span of lines: the comment and blank lines directly above it, its own
lines, and the comment ending its first line. Reordering moves spans; re-indenting rewrites the
start of an entry's first line and shifts its other lines (a flow `[...]` over several lines, a
`|` scalar) by as much. Text inside an entry is not otherwise touched, except that a one-line
flow mapping's keys are put in order. Comment lines above the first top-level key are about the
file and stay at the top; a comment ending a line keeps its column where the line leaves room.
Tabs between tokens become spaces; a file written with CRLF line breaks keeps them. A list
holding an anchor or alias is not sorted, and keys are not reordered past one, so a definition
never moves after its use.
"""

from __future__ import annotations

import re
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


# Reading: spans of lines ------------------------------------------------------------------------


@dataclass(eq=False)
class Span:
    """One entry of a block mapping (`key` set) or list: its lines and what is above them."""

    path: Path
    key: ScalarNode | None
    value: Node
    first: int  # the line of its key or `- `
    column: int  # where the key or `- ` stands on it
    last: int = 0  # its last line of YAML
    start: int = 0  # where its first line's text after `- ` (or its key) starts
    end: int | None = None  # where that text ends on the first line (None: it runs on)
    children: list[Span] | None = None  # a block collection as value
    lead: list[int] = field(default_factory=list)  # comment and blank lines above it
    tied: bool = False  # holds an anchored node, an alias or a merge: its order is kept
    order: tuple[str, ...] | None = None  # key order of its value, a mapping
    sort: str | None = None  # field its value's items are sorted on


class Layout:
    """A text's lines and its top-level spans, with what the writer and the self-check need."""

    def __init__(self, text: str, root: Node) -> None:
        self.lines = [line.rstrip("\r\n") for line in _LINE_BREAK.split(text)]
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.shared = _shared(root, "*" in text or "<<" in text)
        self.seen: set[int] = set()
        self.data: set[int] = set()  # lines inside a multi-line scalar: no comment there
        self.flow: set[int] = set()  # lines inside a flow collection, after its first
        self.ends: dict[int, int] = {}  # line -> column where an end-of-line comment starts
        self.by_line: dict[int, list[Span]] = {}
        self.spans = self._block(root, (), -1)
        top = self.spans
        self.head_end = top[0].first
        self.tail = list(range(top[-1].last + 1, len(self.lines)))
        if top[0].lead:
            top[0].lead = []

    def _block(self, node: Node, path: Path, above: int) -> list[Span]:
        spans = []
        pairs = node.value if isinstance(node, MappingNode) else [(None, v) for v in node.value]
        for index, (key, value) in enumerate(pairs):
            if key is not None:
                step: Path = (*path, ("key", key.value))
                span = Span(step, key, value, key.start_mark.line, key.start_mark.column)
                self._key(span)
            else:
                span = Span((*path, ("item", index)), None, value, value.start_mark.line, 0)
                self._item(span)
            span.lead = list(range(above + 1, span.first))
            self.by_line.setdefault(span.first, []).append(span)
            self._value(span)
            spans.append(span)
            above = span.last
        return spans

    def _key(self, span: Span) -> None:
        assert span.key is not None
        line, mark = self.lines[span.first], span.key.end_mark
        if mark.line != span.first or ":" not in line[mark.column :]:
            raise self._refuse(span.first, span.column)
        colon = line.index(":", mark.column) + 1
        span.start = colon + len(line[colon:]) - len(line[colon:].lstrip())

    def _item(self, span: Span) -> None:
        line = self.lines[span.first]
        found = re.search(r"-[ \t]+$", line[: span.value.start_mark.column])
        if found is None:
            raise self._refuse(span.first, span.value.start_mark.column)
        span.column, span.start = found.start(), found.end()

    def _value(self, span: Span) -> None:
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
        span.tied = span.tied or (bool(self.shared) and _holds(value, self.shared))
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
                self.flow.update(range(span.first + 1, end.line + 1))
        if span.end is not None:
            self._comment(span.first, span.end)

    def _comment(self, number: int, column: int) -> None:
        rest = self.lines[number][column:]
        if rest.strip() and not rest.lstrip().startswith("#"):
            raise self._refuse(number, column)
        if rest.strip():
            self.ends[number] = column + len(rest) - len(rest.lstrip())

    def _refuse(self, line: int, column: int) -> Unformattable:
        return Unformattable(
            line + 1,
            column + 1,
            "cannot format this shape of YAML",
            hint="write the key or list item on one line with its `- ` or `key:`",
        )


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


def render(text: str, found: Layout | None) -> str:
    """`text`, read into `found` (`layout`), in canonical form; unchecked (`reformat.py` checks)."""
    if found is None:
        return text
    _plan(found.spans)
    lines = found.lines
    out = [_at(lines[n], 0) for n in range(found.head_end)]
    out += _Writer(lines, found.ends).block(found.spans, 0, None)
    out += [_at(lines[n], 0) for n in found.tail]
    while out and not out[0]:  # blank lines that came above a key now first: not at the top
        out.pop(0)
    brk = line_break(text)
    return brk.join(out) + brk


def layout(text: str, document: Document | None) -> Layout | None:
    """The spans of `text`; None when it is no block mapping (nothing to order)."""
    work, root = text, None
    if "\t" in text:
        work = _untab_separators(text)
        root = _compose(work)
    elif any(char in text for char in _UNUSUAL):
        root = _compose(text)
    else:
        document = document or parse_text(text, "", [], nodes=True)
        root = document.root if document is not None else _compose(text)
    if not isinstance(root, MappingNode) or not root.value or root.flow_style:
        return None
    return Layout(work, root)


def _compose(text: str) -> Node | None:
    """ruamel.yaml's own parser: it counts lines as editors do, and reads what libyaml does not."""
    node: Node | None = YAML(typ="safe", pure=True).compose(text)
    return node


def _plan(top: list[Span]) -> None:
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


def _ordered(spans: list[Span], order: tuple[str, ...] | None, sort: str | None) -> list[Span]:
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

    def block(self, spans: list[Span], indent: int, parent: Span | None) -> list[str]:
        order, sort = (TOP_ORDER, None) if parent is None else (parent.order, parent.sort)
        out: list[str] = []
        for span in _ordered(spans, order, sort):
            out += [_at(self.lines[n], indent) for n in span.lead]
            out += self.entry(span, indent)
        return out

    def entry(self, span: Span, indent: int) -> list[str]:
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

    def _flow_keys(self, span: Span) -> tuple[str, int | None]:
        """The first line with a one-line flow mapping's keys in order, and where its YAML ends."""
        line, node = self.lines[span.first], span.value
        if (
            span.order is None
            or not isinstance(node, MappingNode)
            or not node.flow_style
            or node.start_mark.line != node.end_mark.line
        ):
            return line, span.end
        keys = [Span((), key, value, 0, 0) for key, value in node.value]
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
    """A line inside an entry, moved `by` columns with it."""
    if not line.strip():
        return ""
    if by >= 0:
        return " " * by + line
    return line[min(-by, len(line) - len(line.lstrip(" "))) :]


def line_break(text: str) -> str:
    """The line break most lines of `text` end with: CRLF or LF (a tie is LF)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf + text.count("\r") - crlf else "\n"


def _untab_separators(text: str) -> str:
    """`text` with spaces for the tabs between tokens (after `key:`, before `# c`): libyaml,
    `validate`'s loader, reads them; ruamel.yaml's parser refuses them. Tabs inside scalars and
    comments stay (in a double-quoted one, as the escape backslash-t); no line moves."""
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
        quoted, until = style == '"' and begin.line == end.line, (end.line, end.column)
        if style in ("|", ">"):  # on its first line only its header: `|`, `>-`, `|2`
            header = re.match(r"[|>][-+0-9]*", lines[begin.line][begin.column :])
            until = (begin.line, begin.column + (header.end() if header else 1))
        for number in range(begin.line, until[0] + 1):
            left = begin.column if number == begin.line else 0
            right = until[1] if number == until[0] else len(lines[number])
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
