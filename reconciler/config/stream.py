"""Values and their locations straight from the parser's event stream, without a node tree.

`load` needs two things from a file: its plain values, and where each one is written, for the
diagnostics. A composed node tree holds both, at about 340 bytes a node (the node, two marks, its
text): 460 MiB for a 100,000-user file, most of a plan's peak memory, and a third of its load
time (benchmarks/plan_bench.py). Here the C parser's events are consumed one at a time and only
what is kept is built: the values, and beside each list or mapping a *table* of where its items
are written (`locations.py`).

The same rules as the node builder (`nodes.py`, kept for fmt and adopt, which need the nodes):
duplicate keys, tags, merges, the limit on what aliases add (`limits.py`); a test checks that
both read every file alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ruamel.yaml.composer import ComposerError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.config.diagnostics import config_problem
from reconciler.config.limits import MAX_DEPTH, TooDeep, TooLarge, too_much_aliased
from reconciler.config.locations import (
    Aliased,
    Keyed,
    items_of,
    pack,
    position_of,
    unpack,
    unwrap,
    written_at,
)
from reconciler.config.scalars import MAP_TAG, MERGE_TAG, SEQ_TAG, STR_TAG, Rules, unsupported_tag
from reconciler.findings import Finding


class _Anchor:
    __slots__ = ("entry", "held", "level", "open", "size", "tag", "text", "unread", "value")

    def __init__(self, value: Any, entry: Any, size: int, open: bool, level: int) -> None:
        self.value = value
        self.entry = entry
        self.size = size
        self.open = open  # a list or mapping still being read: an alias to it is a cycle
        self.level = level  # how many refused parts it is in (see `StreamBuilder.muted`)
        self.unread = level > 0  # in a refused part: the first alias to it is its first reading
        self.held = (0, 0)  # the problems found in it while it was read in a refused part
        self.tag: str | None = None  # a scalar's resolved tag and text as written
        self.text: str | None = None


class _Frame:
    """A list or mapping being read."""

    __slots__ = (
        "anchor",
        "is_map",
        "key",
        "key_entry",
        "merges",
        "muted",
        "refused",
        "start",
        "table",
        "value",
    )

    def __init__(self, value: Any, table: list[Any], is_map: bool, start: int) -> None:
        self.value = value
        self.table = table
        self.is_map = is_map
        self.start = start  # values counted when it opened
        self.anchor: _Anchor | None = None
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_entry: Any = None
        self.merges: list[tuple[Any, Any]] | None = None
        self.muted = False  # read but not kept (a refused key, or its value): nothing reported
        self.refused = False  # itself a refused key or a refused key's value (not only in one)


_NO_KEY = object()
_SKIP = object()  # the key was refused: its value is read but not kept
_MERGE = object()  # the key is `<<`: its value is merged in when the mapping ends


class StreamBuilder:
    """Builds (values, table) from events; problems go to `diags`. `rules.scalar(tag, text)`
    turns a scalar that is not a plain string into its value (ValueError keeps the text,
    LookupError marks a tag outside the schema); `rules.resolve(text)` gives a plain scalar's
    implicit tag; `position(mark)` packs a mark (None: the mark's own line and column)."""

    def __init__(
        self,
        file: str,
        diags: list[Finding],
        position: Callable[[Any], int] | None,
        rules: Rules,
        *,
        pure: bool = False,
    ) -> None:
        self.file = file
        self.diags = diags
        self.position = position
        self.rules = rules
        self.pure = pure
        self.anchors: dict[str, _Anchor] = {}
        self.size = 0
        self.aliased = 0
        self.shared = False
        self.yaml11 = False
        # Refused parts open (a key that is no plain value, a duplicate key's value): what is in
        # them is read, its problems held at this depth; an alias releases its anchor's depth.
        self.muted = 0
        self.held: list[tuple[int, Finding]] = []
        self.released: set[int] = set()
        self.documents = 0
        self.document_mark: Any = None

    def build(self, events: Iterable[Any]) -> tuple[Any, Any, bool]:
        """(value, entry, whether a document was found) of the stream's one document.

        The loop is the hot path of every load (some 150,000 events per 10,000 users, three in
        four of them scalars): a scalar's common cases (a plain string, a key not seen before,
        an item added) are written out here rather than in calls."""
        document = _Frame([], [0], False, 0)  # holds the document's one value
        stack: list[_Frame] = [document]
        top = document
        position = self.position
        rules = self.rules
        special = rules.first_characters  # a plain scalar starting otherwise is a string
        for event in events:
            kind = event.__class__
            if kind is ScalarEvent:
                text = event.value
                tag = event.ctag
                if tag is None or tag == "!":
                    implicit = event.implicit[0] and text[:1] in special
                    tag = rules.resolve(text) if implicit else STR_TAG
                elif tag.__class__ is not str:
                    tag = str(tag)
                mark = event.start_mark
                entry = mark.line << 32 | mark.column if position is None else position(mark)
                self.size += 1
                if top.is_map and top.key is _NO_KEY:  # a key
                    if tag == STR_TAG and text not in top.value and event.anchor is None:
                        top.key, top.key_entry = text, entry
                    else:
                        held = len(self.held)
                        value = (
                            text if tag in (STR_TAG, MERGE_TAG) else self._scalar(tag, text, entry)
                        )
                        self._anchor_scalar(event, value, entry, held, tag)
                        self._key(top, value, entry, tag, text)
                elif tag == STR_TAG and not top.is_map and event.anchor is None:
                    top.value.append(text)
                    top.table.append(entry)
                else:
                    muted = top.is_map and _refused(top)  # not kept: read, never reported
                    self.muted += muted
                    held = len(self.held)
                    value = text if tag == STR_TAG else self._scalar(tag, text, entry)
                    self._anchor_scalar(event, value, entry, held, tag)
                    self.muted -= muted
                    self._add(top, value, entry)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                top = self._open(event, kind is MappingStartEvent, top, stack)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                top = self._close(stack)
            elif kind is AliasEvent:
                self._alias_item(event, top)
            elif kind is DocumentStartEvent:
                self._document(event)
                special = rules.first_characters
            elif kind is StreamEndEvent:
                break
        if not document.value:
            return None, None, self.documents > 0
        return document.value[0], document.table[1], True

    def _position(self, mark: Any) -> int:
        return pack(mark.line, mark.column) if self.position is None else self.position(mark)

    def _open(self, event: Any, mapping: bool, top: _Frame, stack: list[_Frame]) -> _Frame:
        """A list or mapping begins: the frame its items go to."""
        if len(stack) > MAX_DEPTH:
            raise TooDeep
        at = self._position(event.start_mark)
        frame = _Frame({} if mapping else [], [at], mapping, self.size)
        self.size += 1
        if top.is_map and top.key is _NO_KEY:
            # a list or mapping as a key: refused; it and its value are read, not kept
            self._report(at, "yaml_unsupported", "a mapping key must be a plain value")
            top.key = _SKIP
            frame.refused = True
        elif top.is_map and _refused(top):
            frame.refused = True  # the value of a refused key
        frame.muted = frame.refused or top.muted  # or part of one
        self.muted += frame.refused
        if event.anchor is not None:  # first: what is found in it, its tag too, is its own
            frame.anchor = _Anchor(frame.value, frame.table, 0, True, self.muted)
            frame.anchor.held = (len(self.held), 0)
            self.anchors[event.anchor] = frame.anchor
        tag = event.ctag
        if tag is not None and tag != "!" and str(tag) != (MAP_TAG if mapping else SEQ_TAG):
            self._report(at, "yaml_unsupported", *unsupported_tag(str(tag)))
        stack.append(frame)
        return frame

    def _close(self, stack: list[_Frame]) -> _Frame:
        """A list or mapping ends: it is added to its parent, the frame items go to again."""
        frame = stack.pop()
        top = stack[-1]
        if frame.merges:
            self._merge(frame)
        self.muted -= frame.refused
        if frame.anchor is not None:
            frame.anchor.size = self.size - frame.start
            frame.anchor.held = (frame.anchor.held[0], len(self.held))
            frame.anchor.open = False
        if top.key is _SKIP and top.is_map and top.key_entry is None:
            top.key_entry = _SKIP  # the refused key is done: its value comes next
        else:
            self._add(top, frame.value, frame.table)
        return top

    def _alias_item(self, event: Any, top: _Frame) -> None:
        at = self._position(event.start_mark)
        counted = not self.muted and not (top.is_map and _refused(top))
        merged = top.is_map and top.key is _MERGE
        value, entry = self._alias(event, at, counted, merged)
        if top.is_map and top.key is _NO_KEY:
            self._alias_key(top, value, entry, at, event.anchor)
        else:
            self._add(top, value, entry)

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents == 2:
            raise ComposerError(
                "expected a single document in the stream",
                self.document_mark,
                "but found another document",
                event.start_mark,
            )
        self.document_mark = event.start_mark
        self.yaml11 = self.rules.version(event.version)

    def _scalar(self, tag: str, text: str, at: int) -> Any:
        try:
            return self.rules.scalar(tag, text)
        except ValueError:
            return text
        except LookupError:
            self._report(at, "yaml_unsupported", *unsupported_tag(tag))
            return text

    def _key(self, frame: _Frame, value: Any, entry: int, tag: str, text: str) -> None:
        if tag == MERGE_TAG:
            frame.key, frame.key_entry = _MERGE, entry
            return
        frame.key = value
        frame.key_entry = entry if tag == STR_TAG else Keyed(entry, text)
        if value in frame.value:
            index = next(i for i, key in enumerate(frame.value) if key is value or key == value)
            line = unpack(position_of(frame.table[1 + 2 * index]))[0]
            self._report(
                entry,
                "duplicate_key",
                f"duplicate key `{text}`: also set on line {line}",
                "keep one of them; YAML readers silently disagree on which one wins",
            )
            frame.key_entry = _SKIP

    def _alias_key(self, frame: _Frame, value: Any, entry: Any, at: int, alias: str) -> None:
        if isinstance(value, dict | list):
            message = "a mapping key must be a plain value"
            self._report(position_of(entry), "yaml_unsupported", message)
            frame.key, frame.key_entry = _SKIP, _SKIP
            return
        anchor = self.anchors[alias]
        self._key(frame, value, at, anchor.tag or STR_TAG, anchor.text or "")

    def _anchor_scalar(self, event: Any, value: Any, entry: int, held: int, tag: str) -> None:
        if event.anchor is not None:
            anchor = _Anchor(value, entry, 1, False, self.muted)
            anchor.held = (held, len(self.held))
            anchor.tag, anchor.text = tag, event.value  # an alias as a key reads as written
            self.anchors[event.anchor] = anchor

    def _add(self, frame: _Frame, value: Any, entry: Any) -> None:
        """`value` (written at `entry`) as the next item of the list or mapping `frame`."""
        if not frame.is_map:
            frame.value.append(value)
            frame.table.append(entry)
            return
        key, key_entry = frame.key, frame.key_entry
        frame.key, frame.key_entry = _NO_KEY, None
        if key is _MERGE:
            if frame.merges is None:
                frame.merges = []
            frame.merges.append((value, entry))
        elif key is not _SKIP and key_entry is not _SKIP:
            frame.value[key] = value
            frame.table.append(key_entry)
            frame.table.append(entry)

    def _alias(self, event: Any, at: int, counted: bool, merged: bool) -> tuple[Any, Any]:
        """What the alias stands for; `counted`: it is kept (not in a refused part); `merged`:
        it is the value of `<<`, where a list stands for its items, read one by one."""
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            # the words of the parser in use, as composing with it would say
            problem = "found undefined alias"
            if self.pure:
                problem += f" {event.anchor!r}"
            raise ComposerError(None, None, problem, event.start_mark)
        if anchor.open:
            message = "an alias refers to a node that contains it"
            self._report(position_of(anchor.entry), "yaml_unsupported", message)
            return None, Aliased(at, at)
        if isinstance(anchor.value, dict | list):
            self.shared = True  # also when uncounted: a refused part may be read again later
        if counted and anchor.unread:  # read where it is kept: what was found in it counts
            anchor.unread = False
            self._release(*anchor.held, anchor.level)
        self._count(anchor, merged)  # in a refused part too: the limit holds everywhere
        return anchor.value, Aliased(at, anchor.entry)

    def _count(self, anchor: _Anchor, merged: bool) -> None:
        """What an alias adds to the values read, against the limit on what aliases add."""
        if not isinstance(anchor.value, dict | list):
            self.size += 1
        else:  # merged in, a list stands for its items: they are read, not the list
            added = anchor.size - 1 if merged and isinstance(anchor.value, list) else anchor.size
            self.size += added
            self.aliased += added
            if too_much_aliased(self.aliased, self.size):
                raise TooLarge(position_of(anchor.entry))

    def _merge(self, frame: _Frame) -> None:
        """Keys merged in with `<<`, after the mapping's own: a key already set is kept."""
        result: dict[Any, Any] = frame.value
        assert frame.merges is not None
        for value, entry in frame.merges:
            if isinstance(value, list):
                sources = list(zip(value, items_of(entry), strict=True))
            else:
                sources = [(value, entry)]
            for source, source_entry in sources:
                if not isinstance(source, dict):
                    message = "`<<` merges only mappings"
                    self._report(written_at(source_entry), "invalid_type", message)
                    continue
                via = source_entry.at if isinstance(source_entry, Aliased) else None
                table = unwrap(source_entry)
                for index, (key, item) in enumerate(source.items()):
                    if key in result:
                        continue
                    result[key] = item
                    key_entry, item_entry = table[1 + 2 * index], table[2 + 2 * index]
                    if via is not None:
                        key_entry, item_entry = Aliased(via, key_entry), Aliased(via, item_entry)
                    frame.table.append(key_entry)
                    frame.table.append(item_entry)

    def _report(self, at: int, code: str, message: str, hint: str | None = None) -> None:
        line, column = unpack(at)
        found = config_problem(self.file, line, column, code, message, hint)
        if self.muted:
            self.held.append((self.muted, found))
        else:
            self.diags.append(found)

    def _release(self, start: int, end: int, level: int) -> None:
        """Problems held in a refused part, now that an alias reads part of it where it is kept:
        those of the anchor's own part, not those of a refused part inside it."""
        for index in range(start, end):
            held_at, found = self.held[index]
            if held_at == level and index not in self.released:
                self.released.add(index)
                self.diags.append(found)


def _refused(frame: _Frame) -> bool:
    """The mapping's key in hand was refused (not a plain value, or a duplicate)."""
    return frame.key is _SKIP or frame.key_entry is _SKIP
