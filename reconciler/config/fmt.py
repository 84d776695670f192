"""Canonical formatting of config files, keeping comments (ruamel.yaml round-trip).

Canonical means: top-level keys in a fixed order, keys of each user and range in a fixed order,
users sorted by email and ranges by name, 2-space indentation. Unknown keys keep their place
after the known ones, so formatting never hides a mistake that `validate` reports.

Comments. ruamel.yaml hangs each comment on the token before it, in one of several places, and
its emitter mishandles some of the shapes it loads; moving items with those comment objects
moves comments to the wrong neighbour, loses them or breaks the YAML. So fmt owns the comments:
it reads them from the text (`scan`), gives each one an owner (a full-line comment belongs to the
key or list item on the next line of YAML, an end-of-line comment to the innermost key or item
that starts on its line), strips ruamel's comment objects, reorders, and hangs every comment back
on the token that now comes before its owner.

Comment lines above the first key stay at the top of the file (they are usually about the
file); comment lines keep their text and take the indentation of what they are above; a
comment at the end of a line keeps its column where the line leaves room.

Then it checks its own work (`verify`): the result holds the same data up to the intended
reordering, every comment is still there exactly once and with the same owner (or, for a
comment above an item's first key, the item), and formatting the result again changes nothing.
A file that fails a check raises `Unformattable`; nothing is written. Comments in places fmt
cannot keep (inside a flow `[...]` spanning lines) are refused the same way. A comment ending
the `---` line is about the document and stays there.

Anchors: ruamel writes an anchor (`&base`) where its node first comes and an alias (`*base`)
everywhere after, so fmt never reorders past one (`canonicalise`) and checks every anchor is still
defined by the same entry. Line endings: a file written with `\r\n` keeps them. Tabs between
tokens (`a: b\t# c`), which `validate`'s loader reads and ruamel's parser refuses, become spaces.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import Comment as RuamelComment
from ruamel.yaml.comments import CommentedMap, CommentedSeq, comment_attrib, merge_attrib
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken, DocumentStartToken, ScalarToken

from reconciler.config.canonical import (
    INDENT,
    KEY_ORDER,
    SORT_KEY,
    TOP_ORDER,
    WIDTH,
    key_rank,
    order_of,
)
from reconciler.config.document import parse_text
from reconciler.errors import AccessctlError

HAND_HINT = "put this part in canonical order by hand; fmt then has nothing to move"


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
        self.line = line
        self.column = column
        self.code = code


def format_text(text: str) -> str:
    """The canonical form of one file's text, checked (see the module doc).

    Raises ruamel's YAMLError on invalid YAML and `Unformattable` when the result could not be
    trusted."""
    source = _load(_untab_separators(text))
    if source is None:
        return text  # not a config file's shape (a list, a scalar, `{}`): nothing to order
    before = _Before(source.placed_comments(), anchor_sites(source.root))
    result = _with_line_breaks(_rewrite(source), _line_break(text))
    if result != text:
        _verify(text, before, result)
    return result


def verify(text: str, result: str) -> None:
    """fmt's check of its own work: raise `Unformattable` unless `result` holds the data of
    `text` (users and ranges may be reordered), each of its comments once and with the same
    owner, and is its own canonical form."""
    source = _load(_untab_separators(text))
    if source is None:
        if result != text:
            raise Unformattable(1, 1, "only a mapping can be formatted", hint=None)
        return
    _verify(text, _Before(source.placed_comments(), anchor_sites(source.root)), result)


# Before and after: what ruamel's round-trip parser and emitter do not keep -----------------------


def _line_break(text: str) -> str:
    """The line break most lines of `text` end with: `\r\n` or `\n` (a tie is `\n`)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf + text.count("\r") - crlf else "\n"


def _with_line_breaks(result: str, line_break: str) -> str:
    """ruamel writes `\n`; a file written with `\r\n` keeps them (YAML reads every line break
    in a scalar as `\n`, so the data is the same)."""
    return result if line_break == "\n" else result.replace("\n", line_break)


def _untab_separators(text: str) -> str:
    """`text` with spaces for the tabs that separate tokens on a line (`key:\tvalue`, `a: b\t`,
    `a: b\t# c`, `key: |\t# c`): libyaml, `validate`'s loader, reads them; ruamel's round-trip
    parser refuses them. Tabs inside scalars and comments, and before a line's first token,
    stay; no line moves, and the data is checked against `text` afterwards."""
    if "\t" not in text:
        return text
    lines = _LINE_BREAK.split(text)
    breaks = _LINE_BREAK.findall(text)
    first: dict[int, int] = {}  # line -> column where its first token starts
    covered: dict[int, list[tuple[int, int]]] = {}  # line -> column spans inside tokens
    for token in _tokens(text):
        begin, end = token.start_mark, token.end_mark
        if begin.index == end.index:
            continue
        for number in range(begin.line, end.line + 1):
            left = begin.column if number == begin.line else 0
            right = end.column if number == end.line else len(lines[number])
            covered.setdefault(number, []).append((left, right))
            first[number] = min(first.get(number, left), left)
    ends = [comment for comment in scan(text).comments if not comment.own_line]
    stops = {comment.line: comment.column for comment in ends}  # where a comment starts
    gaps = {comment.line: comment.column - len(comment.gap) for comment in ends}
    for number, line in enumerate(lines):
        if "\t" not in line or number not in first:
            continue
        stop = stops.get(number, len(line))
        spans = covered[number]
        tabs = {
            column
            for column in range(first[number], stop)
            if line[column] == "\t"
            and (column >= gaps.get(number, stop) or not any(a <= column < b for a, b in spans))
        }
        if tabs:
            out = ""
            for column, char in enumerate(line):
                out += " " * (8 - len(out) % 8) if column in tabs else char
            lines[number] = out
    return "".join(line + brk for line, brk in zip(lines, [*breaks, ""], strict=True))


# ruamel.yaml set-up ------------------------------------------------------------------------------


class _Emitter(RoundTripEmitter):
    """ruamel's emitter, with one fix: after an end-of-line comment it stands at the start of a
    line, so it is no longer "right after `- `". Unfixed, a flow item with a comment after a
    list's leading comment glued the next block item's keys onto one line (invalid YAML)."""

    def write_post_comment(self, event: Any) -> bool:
        written: bool = super().write_post_comment(event)
        if written:
            self.no_newline = False
        return written


class _Constructor(RoundTripConstructor):
    """Reports a timestamp-looking scalar that is no date (`2027-02-30`) like `validate` does,
    instead of a bare ValueError without a line."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError as exc:
            mark = node.start_mark
            raise Unformattable(
                mark.line + 1,
                mark.column + 1,
                f"expected a date (YYYY-MM-DD), got `{node.value}` ({exc})",
                code="invalid_type",
                hint="fix the date; fmt formats only files that load",
            ) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Emitter = _Emitter
    yaml.Constructor = _Constructor
    yaml.indent(mapping=INDENT, sequence=2 * INDENT, offset=INDENT)
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    return yaml


@dataclass
class _Source:
    """One text, loaded for formatting: its tree, its comments and who owns them."""

    yaml: YAML  # it loaded the text, and writes it with the same `%YAML` version
    root: CommentedMap
    layout: Layout
    owners: _Owners

    def placed_comments(self, renumber: Renumber | None = None) -> list[tuple[Comment, Where]]:
        """Each comment with its owner as paths; with `renumber`, items of the sorted lists are
        named by their index before sorting."""
        first = self.owners.first_entry()
        placed = []
        for comment in self.layout.comments:
            owner = self.owners.of(comment.line, comment.own_line)
            if owner is None:
                where: Where = frozenset({(("nowhere", comment.line),)})
            elif owner == HEAD:  # above the first key: about the file, or about that key
                where = frozenset({((HEAD, None),), *([_path(first, renumber)] if first else [])})
            elif owner == END:
                where = frozenset({((END, None),)})
            else:
                assert isinstance(owner, Entry)
                where = frozenset({_path(owner, renumber)})
            placed.append((comment, where))
        return placed


def _load(text: str) -> _Source | None:
    yaml = _yaml()
    try:
        root = yaml.load(text)
    except RecursionError:
        raise Unformattable(1, 1, "the YAML is nested too deeply to format", hint=None) from None
    if not isinstance(root, CommentedMap) or not root or root.fa.flow_style():
        return None
    layout = scan(text)
    return _Source(yaml, root, layout, _Owners(layout, entries(root)))


def _rewrite(source: _Source) -> str:
    """Reorder the tree, keeping the comments, and write it (this consumes `source`)."""
    notes = _take_notes(source)
    _strip_comments(source.root)
    moves = canonicalise(source.root)
    _hang(source.root, notes, moves)
    out = io.StringIO()
    out.writelines(line + "\n" for line in notes.preamble)
    source.yaml.explicit_start = source.layout.start is not None  # keep `---` (yamllint asks)
    source.yaml.dump(source.root, out)
    if notes.start is None:
        return out.getvalue()
    lines = out.getvalue().split("\n")  # ruamel writes a bare `---`; its comment goes back on it
    at = lines.index("---")  # the lines above it are comments, blank lines or `%YAML`
    lines[at] += notes.start.gap + notes.start.text
    return "\n".join(lines)


# Reordering --------------------------------------------------------------------------------------

Moves = dict[int, list[int]]  # id(list) -> for each new index, the item's old index


def canonicalise(root: CommentedMap) -> Moves:
    """Reorder `root` in place; returns how the lists' items moved.

    An anchor (`&base`) is written where its node first comes, and every later use as an alias
    (`*base`): reordering past one would move the definition into another item, leaving a bare
    `- *base`. So a list is not sorted when any item carries an anchor, alias or merge key
    (`<<`), and a mapping's keys are not reordered when that would change the order of the
    entries carrying one (`<<` included, which is written where it stands)."""
    moves: Moves = {}
    tied = _tied(root)
    for section, order in KEY_ORDER.items():
        value = root.get(section)
        if isinstance(value, CommentedMap):
            _order_map(value, order, tied)
        elif isinstance(value, CommentedSeq) and section in SORT_KEY:
            for item in value:
                if isinstance(item, CommentedMap):
                    _order_map(item, order, tied)
            if not any(_is_tied(item, tied) for item in value):
                _sort_seq(value, SORT_KEY[section], moves)
    _order_map(root, TOP_ORDER, tied)
    return moves


def _own_keys(mapping: CommentedMap) -> list[Any]:
    """The keys written in the mapping itself (not those a `<<` merge brings in)."""
    return [key for key, _ in mapping.non_merged_items()]


def _anchor(value: Any) -> str | None:
    """The name of the anchor on a node loaded from `&name ...` (or an alias of it)."""
    method = getattr(value, "yaml_anchor", None)
    anchor = method() if method is not None else None
    return getattr(anchor, "value", None)


def _merges(mapping: CommentedMap) -> Any:
    """What a `<<` merge key brings into `mapping` (empty without one)."""
    return getattr(mapping, merge_attrib, [])


def _tied(root: CommentedMap) -> set[int]:
    """The ids of the nodes carrying an anchor, an alias or a merge key, or holding one that
    does: the nodes whose order fmt must keep."""
    containers = list(_walk_containers(root))  # a node comes after one of its parents
    tied = {id(node) for node in containers if _anchor(node) is not None}
    tied |= {id(node) for node in containers if isinstance(node, CommentedMap) and _merges(node)}
    for node in reversed(containers):  # an unshared node after its only parent; shared: anchored
        values = node.values() if isinstance(node, CommentedMap) else node
        if any(_is_tied(value, tied) for value in values):
            tied.add(id(node))
    return tied


def _is_tied(value: Any, tied: set[int]) -> bool:
    if isinstance(value, CommentedMap | CommentedSeq):
        return id(value) in tied
    return _anchor(value) is not None  # a scalar's anchor (`role: &r Admin`), or its alias


_MERGE = object()  # where `<<` stands among a mapping's keys


def _order_map(mapping: CommentedMap, order: tuple[str, ...], tied: set[int]) -> None:
    keys = _own_keys(mapping)
    wanted = sorted(keys, key=lambda k: key_rank(order, k))
    if wanted == keys or _tied_order(mapping, wanted, tied) != _tied_order(mapping, keys, tied):
        return
    for key in wanted:
        mapping.move_to_end(key)


def _tied_order(mapping: CommentedMap, keys: list[Any], tied: set[int]) -> list[Any]:
    """The keys whose values carry an anchor, alias or merge, and `<<`, in the written order."""
    written: list[Any] = list(keys)
    merges = _merges(mapping)
    if merges:
        written.insert(getattr(merges, "merge_pos", 0), _MERGE)
    return [
        key
        for key in written
        if key is _MERGE or _is_tied(key, tied) or _is_tied(mapping[key], tied)
    ]


def _sort_seq(seq: CommentedSeq, field: str, moves: Moves) -> None:
    def sort_key(i: int) -> tuple[int, str]:
        item = seq[i]
        value = item.get(field) if isinstance(item, CommentedMap) else None
        return (0, order_of(value)) if value is not None else (1, "")

    positions = sorted(range(len(seq)), key=sort_key)
    if positions != list(range(len(seq))):
        items = list(seq)
        seq[:] = [items[i] for i in positions]
        moves[id(seq)] = positions


# Where the comments are --------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\n|\r")  # the line breaks of ruamel's YAML 1.2 reader
_HEADER_COMMENT = re.compile(r"(\s+)(#.*)$")


@dataclass(frozen=True)
class Comment:
    """One comment of a text; `line` and `column` are 0-based, `text` runs from the `#`."""

    line: int
    column: int
    text: str
    own_line: bool  # alone on its line (else it ends a line of YAML)
    gap: str = ""  # the blanks between the YAML and an end-of-line comment


@dataclass
class Layout:
    """A text's lines, which of them hold YAML, and its comments."""

    lines: list[str]
    content: list[bool]
    comments: list[Comment]
    start: int | None = None  # the line of an explicit document start, `---`
    anchors: list[int | None] = field(default_factory=list)  # per line: the next line of YAML

    def __post_init__(self) -> None:
        following: int | None = None
        self.anchors = [None] * len(self.lines)
        for number in range(len(self.lines) - 1, -1, -1):
            self.anchors[number] = following
            if self.content[number]:
                following = number


def scan(text: str) -> Layout:
    """Find every comment, from ruamel's token positions (a `#` inside a scalar is no comment)."""
    lines = [line.rstrip() for line in _LINE_BREAK.split(text)]
    content = [False] * len(lines)
    ends: dict[int, int] = {}  # line -> column where the last token ending on it ends
    open_lines: set[int] = set()  # lines a token runs past (nothing can follow it there)
    headers: dict[int, int] = {}  # line -> column of a block scalar's `|` or `>`
    start: int | None = None
    for token in _tokens(text):
        if isinstance(token, DocumentStartToken) and start is None:
            start = token.start_mark.line
        begin, end = token.start_mark, token.end_mark
        if begin.index == end.index:
            continue  # no text: stream and block boundaries, which may sit on a comment line
        last = end.line if end.column or end.line == begin.line else end.line - 1
        if isinstance(token, ScalarToken) and token.style in ("|", ">"):
            headers[begin.line] = begin.column
            if "+" not in lines[begin.line][begin.column :].split("#")[0]:
                while last > begin.line and not lines[last].strip():
                    last -= 1  # blank lines after a clipped block scalar are not part of it
        for number in range(begin.line, last + 1):
            content[number] = True
        if last == end.line:
            open_lines.update(range(begin.line, last))
            ends[last] = max(ends.get(last, 0), end.column)
        else:  # it ends with its line break: it runs past every line it is on
            open_lines.update(range(begin.line, last + 1))
    comments = []
    for number, line in enumerate(lines):
        stripped = line.lstrip()
        if not content[number]:
            if stripped.startswith("#"):
                comments.append(Comment(number, len(line) - len(stripped), stripped, True))
            continue
        if number in headers:
            found = _HEADER_COMMENT.search(line, headers[number])
            if found:
                comments.append(
                    Comment(number, found.start(2), found.group(2), False, found.group(1))
                )
            continue
        if number in open_lines:
            continue
        rest = line[ends.get(number, 0) :]
        if rest.lstrip().startswith("#"):
            gap = rest[: len(rest) - len(rest.lstrip())]
            column = ends.get(number, 0) + len(gap)
            comments.append(Comment(number, column, rest.lstrip(), False, gap))
    return Layout(lines, content, comments, start)


def _tokens(text: str) -> list[Any]:
    """ruamel's tokens; libyaml's scanner is ten times faster and agrees on where they are,
    unless the text holds characters libyaml counts as line breaks and ruamel does not."""
    if not any(char in text for char in "\x85\u2028\u2029\ufeff"):
        try:
            return list(YAML(typ="safe").scan(text))
        except YAMLError:
            pass  # libyaml is stricter (`{url: http://host/}`): ruamel's scanner decides
    return list(YAML(typ="safe", pure=True).scan(text))


@dataclass(frozen=True)
class Entry:
    """A key of a mapping or an item of a list, where it starts, and how to find it again."""

    path: tuple[tuple[str, Any], ...]  # ("key", key) and ("item", index) steps from the root
    line: int
    container: CommentedMap | CommentedSeq
    key: Any  # the mapping key or the list index
    in_block: bool  # its container is in block style (a flow one is written on one line)


def entries(root: CommentedMap) -> list[Entry]:
    """Every entry, parents before children, in the text's order; an alias is not entered."""
    found: list[Entry] = []
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[tuple[str, Any], ...]]] = [(root, ())]
    while stack:  # depth first without recursion: a deeply nested file must not crash fmt
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        block = not node.fa.flow_style()
        children: list[tuple[Any, tuple[tuple[str, Any], ...]]] = []
        if isinstance(node, CommentedMap):
            for key in _own_keys(node):
                step = (*path, ("key", key))
                found.append(Entry(step, node.lc.key(key)[0], node, key, block))
                children.append((node[key], step))
        else:
            for index, value in enumerate(node):
                step = (*path, ("item", index))
                found.append(Entry(step, node.lc.item(index)[0], node, index, block))
                children.append((value, step))
        stack += [c for c in reversed(children) if isinstance(c[0], CommentedMap | CommentedSeq)]
    found.sort(key=lambda e: (e.line, len(e.path)))
    return found


HEAD = "head"
END = "end"
Owner = Entry | str  # an entry, HEAD (before the first key) or END (after the last line of YAML)


class _Owners:
    """Who owns a comment: a full-line comment belongs to the outermost entry starting on the
    next line of YAML, an end-of-line comment to the innermost entry starting on its line.
    Entries of flow collections own nothing: flow collections are written on one line."""

    def __init__(self, layout: Layout, found: list[Entry]) -> None:
        self.layout = layout
        self.by_line: dict[int, list[Entry]] = {}
        for entry in found:
            if entry.in_block:
                self.by_line.setdefault(entry.line, []).append(entry)
        self.first = min(self.by_line) if self.by_line else None

    def of(self, line: int, own_line: bool) -> Owner | None:
        """None when no entry fits: the comment sits where fmt cannot keep it."""
        if own_line:
            anchor = self.layout.anchors[line]
            if anchor is None:
                return END
            if self.first is None or anchor <= self.first:
                return HEAD
            here = self.by_line.get(anchor, [])
            return here[0] if here else None
        here = self.by_line.get(line, [])
        return here[-1] if here else None

    def first_entry(self) -> Entry | None:
        return self.by_line[self.first][0] if self.first is not None else None


# Taking the comments off, hanging them back -----------------------------------------------------


@dataclass
class _Note:
    """The comments one entry owns: lines above it (blank lines too) and one at its end."""

    above: list[str] = field(default_factory=list)
    end: Comment | None = None


@dataclass
class _Notes:
    preamble: list[str] = field(default_factory=list)  # lines before `---` (and `%YAML`)
    head: list[str] = field(default_factory=list)  # lines after it, above the first key
    tail: list[str] = field(default_factory=list)
    start: Comment | None = None  # a comment ending the `---` line (about the document)
    entries: dict[tuple[int, Any], _Note] = field(default_factory=dict)

    def of(self, container: Any, key: Any) -> _Note | None:
        return self.entries.get((id(container), key))


def _take_notes(source: _Source) -> _Notes:
    layout, owners = source.layout, source.owners
    notes = _Notes()
    for comment in layout.comments:
        if comment.line == layout.start and not comment.own_line:
            notes.start = comment  # `--- # ...`: written back on the `---` line
            continue
        owner = owners.of(comment.line, comment.own_line)
        if owner is None or (not comment.own_line and _is_open_item(owner)):
            raise Unformattable(
                comment.line + 1,
                comment.column + 1,
                "cannot keep this comment in place while formatting",
                hint="move it onto its own line above a key or list item",
            )
        if not comment.own_line:
            assert isinstance(owner, Entry)
            notes.entries.setdefault((id(owner.container), owner.key), _Note()).end = comment
    for number, line in enumerate(layout.lines):
        if layout.content[number] or (number == len(layout.lines) - 1 and not line):
            continue  # YAML, or the empty "line" after the final line break
        owner = owners.of(number, True)
        if owner == HEAD and layout.start is not None and number < layout.start:
            notes.preamble.append(_indent(line, 0))
        elif owner == HEAD:
            notes.head.append(line)
        elif owner == END:
            notes.tail.append(line)
        elif isinstance(owner, Entry):
            notes.entries.setdefault((id(owner.container), owner.key), _Note()).above.append(line)
        # else a blank line inside a flow collection: flow collections are written on one line
    return notes


def _is_open_item(entry: Entry | str) -> bool:
    """A list item whose value is a block mapping or list: its line belongs to its first key."""
    if not isinstance(entry, Entry) or isinstance(entry.container, CommentedMap):
        return False
    return _is_block(entry.container[entry.key])


def _is_block(value: Any) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and bool(value) and not _is_flow(value)


def _is_flow(value: CommentedMap | CommentedSeq) -> bool:
    return bool(value.fa.flow_style())


def _walk_containers(root: Any) -> Iterator[CommentedMap | CommentedSeq]:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, CommentedMap | CommentedSeq) and id(node) not in seen:
            seen.add(id(node))
            yield node
            stack += list(node.values() if isinstance(node, CommentedMap) else node)


def _strip_comments(root: CommentedMap) -> None:
    for node in _walk_containers(root):
        setattr(node, comment_attrib, RuamelComment())
        values = node.values() if isinstance(node, CommentedMap) else node
        for value in values:
            if isinstance(value, LiteralScalarString | FoldedScalarString):
                _set_header(value, None)


@dataclass
class _Post:
    """What is written after one scalar or flow collection: a comment ending its line, then
    whole lines (comments and blank lines) before whatever comes next."""

    end: Comment | None = None
    lines: list[str] = field(default_factory=list)
    after_block: bool = False  # after a `|` or `>` scalar, which ends its own last line

    def token(self) -> CommentToken | None:
        if self.end is None and not self.lines:
            return None
        below = "".join(line + "\n" for line in self.lines)
        if self.end is None:
            return CommentToken(("" if self.after_block else "\n") + below, CommentMark(0), None)
        return CommentToken(self.end.text + "\n" + below, CommentMark(self.end.column), None)


def _hang(root: CommentedMap, notes: _Notes, moves: Moves) -> None:
    """Hang the notes on the reordered tree, each where ruamel's emitter writes it."""
    hanger = _Hanger(notes, moves)
    head = [_indent(line, 0) for line in notes.head]
    last = hanger.hang(root, head, 0, 0)
    if last is not None:
        last.lines += [_indent(line, 0) for line in notes.tail]
    if head:
        root.ca.comment = [None, [_lines_token(head)]]
    for container, key, post in hanger.posts:
        token = post.token()
        if token is not None:
            slot = container.ca.items.setdefault(key, [None, None, None, None])
            slot[2 if isinstance(container, CommentedMap) else 0] = token


@dataclass
class _Hanger:
    """Walks the reordered tree in the order it is written, hanging each entry's notes."""

    notes: _Notes
    moves: Moves
    posts: list[tuple[Any, Any, _Post]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    def hang(
        self, container: CommentedMap | CommentedSeq, first: list[str], indent: int, lead: int
    ) -> _Post | None:
        """`first` takes the lines above the first entry, indented by `lead`; the entries are
        indented by `indent`. Returns what is written after the container's last scalar (the
        lines above whatever follows go there)."""
        self.seen.add(id(container))
        last: _Post | None = None
        if isinstance(container, CommentedMap):
            keyed = [(key, key) for key in _own_keys(container)]
        else:
            old = self.moves.get(id(container), list(range(len(container))))
            keyed = list(enumerate(old))
        for key, old_key in keyed:
            note = self.notes.of(container, old_key) or _Note()
            above = first if last is None else last.lines
            above += [_indent(line, lead if last is None else indent) for line in note.above]
            value = container[key]
            if _is_block(value) and id(value) not in self.seen:
                if isinstance(container, CommentedSeq):  # lines above its first key: above `- `
                    last = self.hang(value, above, indent + 2, lead if last is None else indent)
                    continue
                inner: list[str] = []
                if note.end is not None:
                    self.posts.append((container, key, _Post(note.end)))
                last = self.hang(value, inner, indent + 2, indent + 2)
                if inner:
                    slot = container.ca.items.setdefault(key, [None, None, None, None])
                    slot[3] = [_lines_token(inner)]
                continue
            last = self._scalar(container, key, value, note.end)
        return last

    def _scalar(self, container: Any, key: Any, value: Any, end: Comment | None) -> _Post:
        """A scalar, alias or flow collection: written on one line, comments after it."""
        block_scalar = isinstance(value, LiteralScalarString | FoldedScalarString)
        post = _Post(after_block=block_scalar)
        if end is not None and block_scalar:
            header = end.gap + end.text  # after `|`: ruamel keeps it on the scalar
            _set_header(value, header)
            if isinstance(container, CommentedMap):
                container.ca.items.setdefault(key, [None, None, None, None])[3] = [header]
        else:
            post.end = end
        self.posts.append((container, key, post))
        return post


def _indent(line: str, column: int) -> str:
    """A comment line moved to `column` (canonical indentation); a blank line stays blank."""
    return " " * column + line.lstrip() if line.strip() else ""


def _set_header(scalar: Any, comment: str | None) -> None:
    """ruamel keeps the comment after a block scalar's `|` or `>` on the scalar itself."""
    scalar.comment = comment


def _lines_token(lines: list[str]) -> CommentToken:
    return CommentToken("".join(line + "\n" for line in lines), CommentMark(0), None)


# Checking the result -----------------------------------------------------------------------------


Renumber = dict[str, list[int]]  # sorted list -> for each new index, the item's old index
Path = tuple[tuple[str, Any], ...]  # ("key", key), ("item", index), ("merge", index) steps
Where = frozenset[Path]  # paths of a comment's owner (see placed_comments)


@dataclass
class _Before:
    """What the result is checked against, taken before the tree is reordered."""

    comments: list[tuple[Comment, Where]]
    anchors: dict[str, Path]


def _verify(text: str, before: _Before, result: str) -> None:
    """Raise `Unformattable` unless `result` is `text` reordered as intended (module doc)."""
    renumber = _same_data(text, result)
    again = _load(result)
    if again is None:
        raise Unformattable(1, 1, "formatting would change the shape of this file", hint=None)
    _same_comments(before.comments, again.placed_comments(renumber))
    _same_anchors(before.anchors, anchor_sites(again.root), renumber)
    if _with_line_breaks(_rewrite(again), _line_break(result)) != result:
        raise Unformattable(1, 1, "formatting this file twice would change it again")


def _same_data(text: str, result: str) -> Renumber:
    """How the sorted lists' items moved; raises if anything else changed."""
    old_doc, new_doc = parse_text(text, "before", []), parse_text(result, "after", [])
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
        if key not in old or key not in new or not _same(old[key], new[key]):
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


def _same(a: Any, b: Any) -> bool:
    return _freeze(a) == _freeze(b)


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


def _same_comments(before: list[tuple[Comment, Where]], after: list[tuple[Comment, Where]]) -> None:
    """Every comment once, as before, with a compatible owner."""
    left: dict[tuple[str, bool], list[Where]] = {}
    for comment, where in after:
        left.setdefault((comment.text, comment.own_line), []).append(where)
    texts = {comment.text for comment, _ in after}
    for comment, where in before:
        candidates = left.get((comment.text, comment.own_line), [])
        found = next((i for i, new in enumerate(candidates) if _compatible(where, new)), None)
        if found is None:
            raise Unformattable(
                comment.line + 1,
                comment.column + 1,
                "cannot reorder here without moving this comment; reorder by hand"
                if comment.text in texts
                else "formatting would lose this comment",
            )
        candidates.pop(found)
    extra = next(((text, own) for (text, own), rest in left.items() if rest), None)
    if extra is not None:
        raise Unformattable(1, 1, f"formatting would add the comment `{extra[0]}`")


def _path(entry: Entry, renumber: Renumber | None) -> Path:
    return _renumbered(entry.path, renumber)


def _renumbered(path: Path, renumber: Renumber | None) -> Path:
    """`path` with an item of a sorted list named by its index before sorting."""
    if renumber and len(path) >= 2 and path[0][1] in renumber and path[1][0] == "item":
        old = renumber[path[0][1]][path[1][1]]
        path = (path[0], ("item", old), *path[2:])
    return path


def anchor_sites(root: CommentedMap) -> dict[str, Path]:
    """Where each anchor is defined: the first place its node is written (every later place is
    written as an alias)."""
    sites: dict[str, Path] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, Path]] = [(root, ())]
    while stack:  # in the written order, without recursion
        node, path = stack.pop()
        name = _anchor(node)
        if name is not None:
            sites.setdefault(name, path)
        if not isinstance(node, CommentedMap | CommentedSeq) or id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[Any, Path]]
        if isinstance(node, CommentedSeq):
            children = [(item, (*path, ("item", i))) for i, item in enumerate(node)]
        else:
            children = [(value, (*path, ("key", key))) for key, value in node.non_merged_items()]
            merges = _merges(node)
            if merges:
                merged = merges.sequence if merges.sequence is not None else merges[0]
                position = getattr(merges, "merge_pos", 0)
                children.insert(position, (merged, (*path, ("merge", 0))))
        stack += reversed(children)
    return sites


def _same_anchors(before: dict[str, Path], after: dict[str, Path], renumber: Renumber) -> None:
    """Each anchor still defined by the same entry (not moved into another, leaving an alias)."""
    for name, path in before.items():
        moved = after.get(name)
        if moved is None or _renumbered(moved, renumber) != path:
            raise Unformattable(
                1, 1, f"formatting would move the definition of the anchor `&{name}`"
            )


def _compatible(old: Where, new: Where) -> bool:
    """The same owner, or the list item around it (a comment above an item's first key is
    written above the item's `- `)."""
    for a in old:
        for b in new:
            if a == b:
                return True
            if len(b) < len(a) and a[: len(b)] == b and b[-1][0] == "item":
                return True
    return False
