"""Editing YAML text in place at the composed tree's node marks (pre-commit's `yaml_rewrite.py`
idea): a changed value's text span is replaced, a new item or key is inserted with the file's
own indentation and style, an item is cut out with the comment lines above it. Everything else
stays byte for byte as it was: comments, key order, flow or block style, quoting.

Edits are collected first and applied at the end, from the last offset to the first, so the
marks of the untouched tree stay valid while the edits are planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.emails import hidden_character

_PLAIN = re.compile(r"\w[\w .@+/()'-]*")
# YAML 1.1's booleans that 1.2 reads as strings (`true`, `false` are quoted by both)
_YAML_11_BOOL = re.compile(r"[yYnN]|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF")
_BREAK = re.compile(r"\r\n|\r|\n")
_COMMENT_LINE = re.compile(r"[ \t]*#[^\r\n]*(\r\n|\r|\n)")


class SpliceError(Exception):
    """The text cannot be edited in place here (an alias, a merge key, an odd layout)."""

    def __init__(self, node: Node | None, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1 if node is not None else 1
        self.message = message


def scalar(value: str) -> str:
    """`value` as a YAML scalar that reads back as that string in block and flow context:
    plain when that is safe, else double-quoted. Letters stay as written (`Zürich`, `josé@`),
    for a reviewer to read; a character that cannot be seen, or that an editor or libyaml
    takes for a line break, is written as its escape (`\\u200b`), for a reviewer to see."""
    if _PLAIN.fullmatch(value) and not value.endswith(" ") and _reads_back(value):
        return value
    return '"' + "".join(_ESCAPES.get(char) or _escaped(char) for char in value) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(char: str) -> str:
    if char.isprintable() and hidden_character(char) is None:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _reads_back(value: str) -> bool:
    """Whether `value` written plain reads back as itself, in a YAML 1.2 file and in one
    marked `%YAML 1.1`, where `NO`, `on` and `y` are booleans."""
    if _YAML_11_BOOL.fullmatch(value):
        return False
    try:
        loaded = YAML(typ="safe").load(f"- [{value}]\n- {{k: {value}}}\n- {value}\n")
    except Exception:  # any parse failure means: quote it
        return False
    return bool(loaded == [[value], {"k": value}, value])


@dataclass
class Edit:
    start: int
    end: int
    text: str


@dataclass
class Splicer:
    """The edits to one file's text; `result()` applies them."""

    text: str
    edits: list[Edit] = field(default_factory=list)
    _filled: set[int] = field(default_factory=set)  # empty flow collections given an item
    _removed: dict[int, int] = field(default_factory=dict)  # block list -> items cut out
    _grown: set[int] = field(default_factory=set)  # lists given an item

    def keep_a_list(self, key: Node, seq: SequenceNode) -> None:
        """Once every item of the block list after `key` is cut out and none added, write `[]`
        after the key's colon: a key without a value would read as null."""
        if seq.flow_style or id(seq) in self._grown:
            return
        if not seq.value or self._removed.get(id(seq), 0) < len(seq.value):
            return
        colon = self.text.index(":", key.end_mark.index) + 1
        self.edits.append(Edit(colon, colon, " []"))

    def _first_in(self, node: Node, item: str) -> str:
        if id(node) in self._filled:
            return f", {item}"
        self._filled.add(id(node))
        return item

    @property
    def newline(self) -> str:
        if "\r\n" in self.text:
            return "\r\n"
        return "\r" if "\r" in self.text and "\n" not in self.text else "\n"  # old Mac: CR

    def result(self) -> str:
        out = self.text
        # the last edit first; at equal offsets, in the order they were asked for
        for edit in sorted(
            enumerate(self.edits), key=lambda e: (e[1].start, e[1].end, e[0]), reverse=True
        ):
            out = out[: edit[1].start] + edit[1].text + out[edit[1].end :]
        return out

    # -- primitives ----------------------------------------------------------------------

    def replace(self, node: Node, text: str) -> None:
        """Replace the text of `node`; the line break after a `|` or `>` scalar (where its end
        mark stands) and any blank lines it keeps stay."""
        start, end = node.start_mark.index, content_end(node)
        end = start + len(self.text[start:end].rstrip())
        self.edits.append(Edit(start, end, text))

    def line_start(self, index: int) -> int:
        return max(self.text.rfind("\n", 0, index), self.text.rfind("\r", 0, index)) + 1

    def line_end(self, index: int) -> int:
        """The offset after the line break of the line holding `index` (or the text's end)."""
        found = _BREAK.search(self.text, index)
        return len(self.text) if found is None else found.end()

    def comments_above(self, index: int) -> int:
        """The start of the full-line comments directly above the line holding `index`."""
        start = self.line_start(index)
        while start > 0:
            previous = self.line_start(start - 1)
            if not _COMMENT_LINE.fullmatch(self.text, previous, start):
                break
            start = previous
        return start

    # -- mappings ------------------------------------------------------------------------

    def set_value(
        self, mapping: MappingNode, key: str, text: str, order: tuple[str, ...] = ()
    ) -> None:
        """Give `key` the value written as `text`: its value's span is replaced, or the pair is
        inserted before the first key that `order` puts after it (else at the end)."""
        found = pair(mapping, key)
        if found is not None:
            if found[1].start_mark.index < found[0].end_mark.index:
                raise SpliceError(found[0], f"`{key}` is written as an alias")
            self.replace(found[1], text)
            return
        self.insert_pair(mapping, key, text, order)

    def insert_pair(
        self, mapping: MappingNode, key: str, text: str, order: tuple[str, ...] = ()
    ) -> None:
        self.insert_pair_before(mapping, _later_keys(mapping, key, order), key, text)

    def insert_pair_before(
        self, mapping: MappingNode, later: Node | None, key: str, text: str
    ) -> None:
        """Insert `key: text` before the key node `later` (None: after the last pair)."""
        if not mapping.value:
            if mapping.flow_style:
                at = mapping.start_mark.index + 1
                self.edits.append(Edit(at, at, self._first_in(mapping, f"{key}: {text}")))
                return
            raise SpliceError(mapping, "an empty block mapping cannot be extended here")
        if later is not None:
            at = later.start_mark.index
            if mapping.flow_style:
                self.edits.append(Edit(at, at, f"{key}: {text}, "))
            else:
                indent = " " * later.start_mark.column
                self.edits.append(Edit(at, at, f"{key}: {text}{self.newline}{indent}"))
            return
        last_key, last_value = mapping.value[-1]
        end = content_end(last_value)
        if mapping.flow_style:
            self.edits.append(Edit(end, end, f", {key}: {text}"))
        else:
            indent = " " * last_key.start_mark.column
            at = self._after_line(end)
            self.edits.append(Edit(at, at, f"{self._break(at)}{indent}{key}: {text}{self.newline}"))

    def remove_key(self, mapping: MappingNode, key: str) -> None:
        position = next((i for i, (k, _) in enumerate(mapping.value) if _is(k, key)), None)
        if position is None:
            return
        key_node, value = mapping.value[position]
        if position + 1 < len(mapping.value):  # up to the next key: it takes this one's place
            nxt = mapping.value[position + 1][0]
            self.edits.append(Edit(key_node.start_mark.index, nxt.start_mark.index, ""))
        elif mapping.flow_style:
            previous = mapping.value[position - 1][1] if position else None
            start = previous.end_mark.index if previous is not None else key_node.start_mark.index
            self.edits.append(Edit(start, value.end_mark.index, ""))
        elif position == 0:
            raise SpliceError(key_node, f"`{key}` is the only key of its mapping")
        else:
            start = self.line_start(key_node.start_mark.index)
            self.edits.append(Edit(start, self._after_line(content_end(value)), ""))

    # -- sequences -----------------------------------------------------------------------

    def insert_item(self, seq: SequenceNode, before: int | None, flow: str, block: str) -> None:
        """Insert an item before item `before` (None: at the end). `flow` is the item as flow
        text; `block` as the lines of a block item (`- ` first, without indentation)."""
        items = seq.value
        self._grown.add(id(seq))
        if seq.flow_style:
            if not items:  # after `[`; a second insertion follows the first
                at = seq.start_mark.index + 1
                self.edits.append(Edit(at, at, self._first_in(seq, flow)))
            elif before is None:
                end = items[-1].end_mark.index
                self.edits.append(Edit(end, end, f", {flow}"))
            else:
                at = items[before].start_mark.index
                self.edits.append(Edit(at, at, f"{flow}, "))
            return
        column = self._dash_column(seq)
        lines = "".join(f"{' ' * column}{line}{self.newline}" for line in block.split("\n"))
        if before is None:
            at = self._after_line(content_end(items[-1]))
        else:
            at = self.comments_above(self.dash(items[before]))
        self.edits.append(Edit(at, at, self._break(at) + lines))

    def remove_item(self, seq: SequenceNode, position: int) -> None:
        items = seq.value
        item = items[position]
        if seq.flow_style:
            if position + 1 < len(items):
                self.edits.append(
                    Edit(item.start_mark.index, items[position + 1].start_mark.index, "")
                )
            elif position > 0:
                self.edits.append(Edit(items[position - 1].end_mark.index, item.end_mark.index, ""))
            else:
                self.replace(seq, "[]")
            return
        start = self.comments_above(self.dash(item))
        self.edits.append(Edit(start, self._after_line(content_end(item)), ""))
        self._removed[id(seq)] = self._removed.get(id(seq), 0) + 1

    def dash(self, item: Node) -> int:
        """The offset of the `-` that starts a block item."""
        found = self.text.rfind("-", 0, item.start_mark.index + 1)
        if found < 0:
            raise SpliceError(item, "no `-` before a list item")
        return found

    def _dash_column(self, seq: SequenceNode) -> int:
        if seq.value:
            dash = self.dash(seq.value[0])
            return dash - self.line_start(dash)
        return int(seq.start_mark.column)

    def _break(self, at: int) -> str:
        """The line break to write before lines inserted at `at`: one when `at` is the end of
        a last line without its own (a file without a final newline)."""
        ended = self.text.endswith(("\n", "\r"))
        return self.newline if at == len(self.text) and not ended else ""

    def _after_line(self, end: int) -> int:
        """Where the next line starts after a node ending at `end`. A block node's end mark
        may already sit at the start of the next line (after its break)."""
        if end > 0 and self.text[end - 1] in "\r\n":
            return end
        return self.line_end(end)


def content_end(node: Node) -> int:
    """Where the text of `node` ends. A block collection's own end mark sits at the token after
    it (often the next item's line): its last value's end is where its text ends."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return content_end(last[1] if isinstance(node, MappingNode) else last)
    return int(node.end_mark.index)


def pair(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for key_node, value in mapping.value:
        if _is(key_node, key):
            return key_node, value
    return None


def _is(node: Node, key: str) -> bool:
    return isinstance(node, ScalarNode) and node.value == key


def _later_keys(mapping: MappingNode, key: str, order: tuple[str, ...]) -> Node | None:
    if key not in order:
        return None
    after = order[order.index(key) + 1 :]
    for key_node, _ in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value in after:
            return key_node
    return None
