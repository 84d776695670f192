"""Reading one YAML file fast, with locations: `parse_text` and `read_document` give a
`Document`, its plain value and where each part of it is written.

Validation must stay within a small factor of a bare C-accelerated parse (SPEC §8), so the
round-trip loader is out. `load` builds the values and a table of their locations from the C
parser's events (`stream.py`, `locations.py`); fmt and adopt, which edit the text at the nodes'
marks, keep the composed node tree instead (`nodes.py`). Scalars read alike in both
(`scalars.py`), and a file over the limits (`limits.py`) is refused alike.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import Node

from reconciler.config.diagnostics import config_problem
from reconciler.config.files import Unreadable, read_config_bytes
from reconciler.config.limits import MAX_ALIASED_VALUES, TooDeep, TooLarge
from reconciler.config.locations import Aliased, Keyed, pack, position_of, unpack, unwrap
from reconciler.config.nodes import node_position, read_nodes
from reconciler.config.scalars import Rules
from reconciler.config.stream import StreamBuilder
from reconciler.findings import Finding, Location

PathItem = str | int
Written = tuple[int, str]  # what is written once in a file: (position, kind), see Document.written
YamlPath = Sequence[PathItem]

# What a parser may count as a line break but editors and GitHub do not: libyaml breaks lines at
# all three everywhere, ruamel.yaml's own parser in comments.
_UNUSUAL_BREAKS = ("\x85", "\u2028", "\u2029")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_YAML_11 = re.compile(r"^%YAML[ \t]+1\.1\b", re.MULTILINE)


class LineIndex:
    """Lines and columns as editors count them: breaks at `\\n`, `\\r\\n` and `\\r` only.

    A parser's mark counts U+0085, U+2028 and U+2029 as line breaks too (libyaml anywhere in the
    file), so each one written in a quoted label would shift every later diagnostic by a line.
    Marks also carry the character offset, which both parsers count alike: positions are
    recomputed from it, and only for files that hold one of those characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.unusual = any(ch in text for ch in _UNUSUAL_BREAKS)
        self._starts: list[int] | None = None

    def position(self, mark: Any) -> tuple[int, int]:
        """1-based (line, column) of a parser's mark."""
        if self.unusual:
            index = getattr(mark, "index", None)
            if isinstance(index, int) and 0 <= index <= len(self.text):
                return self.at(index)
        return getattr(mark, "line", 0) + 1, getattr(mark, "column", 0) + 1

    def at(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of the character at `index`."""
        starts = self._line_starts()
        line = bisect_right(starts, index) - 1
        return line + 1, index - starts[line] + 1

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its break ('' when out of range)."""
        starts = self._line_starts()
        if not 0 < number <= len(starts):
            return ""
        end = starts[number] if number < len(starts) else len(self.text)
        return self.text[starts[number - 1] : end].rstrip("\r\n")

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]
        return self._starts


@dataclass
class Document:
    """One parsed file: its plain value, and where each part is written: a table of locations
    (`stream.py`), or, when parsed with `nodes=True` for fmt and adopt, the node tree."""

    file: str
    root: Node | None
    data: Any
    lines: LineIndex = field(default_factory=lambda: LineIndex(""), repr=False)
    yaml11: bool = False  # the file asked for YAML 1.1 (`%YAML 1.1`): its scalars read so
    shared: bool = False  # an alias or merge made one list or mapping appear in two places
    table: Any = field(default=None, repr=False)

    def locate(self, path: YamlPath = (), *, key: bool = False) -> Location:
        """`file:line:column` (1-based) of what is at `path`, or of the deepest part of it that
        exists. When the path goes through an alias (`- *user`), that is where the alias is
        written, not its anchor: the same value appears in two places, and a diagnostic must
        name the one it is about."""
        entry, alias = self._walk(path, key)
        at = alias if alias is not None else position_of(entry) if entry is not None else 0
        line, column = unpack(at)
        return Location(self.file, line, column)

    def written(self, path: YamlPath, *, key: bool = False) -> Written | None:
        """What is at `path` as written once in the file, whichever alias leads there: the same
        for every path through an alias to it (a finding is reported once, where written)."""
        entry, _ = self._walk(path, key)
        if entry is None:
            return None
        return position_of(entry), type(entry).__name__  # a mapping and its first key share a place

    def key_text(self, path: YamlPath) -> str | None:
        """How the key at `path` is written, when YAML read it as something else than a string."""
        entry, _ = self._walk(path, True)
        return entry.text if isinstance(entry, Keyed) else None

    def _walk(self, path: YamlPath, key: bool) -> tuple[Any, int | None]:
        """The entry at `path` (aliases followed) and where the first alias on the way is."""
        if self.table is None:
            return node_position(self.root, self.lines, path, key), None
        data: Any = self.data
        entry: Any = self.table
        alias: int | None = None
        last = len(path) - 1
        for step, item in enumerate(path):
            if isinstance(data, dict):
                found = _key_at(data, item, entry)
                if found is None:
                    break
                index, data_key = found
                target = entry[1 + 2 * index] if key and step == last else entry[2 + 2 * index]
                data = data[data_key]
            elif isinstance(data, list) and isinstance(item, int) and 0 <= item < len(data):
                target = entry[1 + item]
                data = data[item]
            else:
                break
            if isinstance(target, Aliased):
                if alias is None:
                    alias = target.at
                while isinstance(target, Aliased):
                    target = target.target
            entry = target
        return entry, alias


def _key_at(mapping: dict[Any, Any], item: PathItem, table: list[Any]) -> tuple[int, Any] | None:
    """(index in the mapping's order, the key itself) for `item`: the key equal to it and of its
    type; else, for a string, the key written as that text (a store id YAML read as a number)."""
    for index, key in enumerate(mapping):
        if type(key) is type(item) and key == item:
            return index, key
    if isinstance(item, str):
        for index, key in enumerate(mapping):
            entry = unwrap(table[1 + 2 * index])
            if isinstance(entry, Keyed) and entry.text == item:
                return index, key
    return None


def read_document(path: Path, display: str, diags: list[Finding]) -> Document | None:
    """Parse one file; problems go to `diags`. None when nothing usable could be read."""
    try:
        text = read_config_bytes(path).decode("utf-8-sig")
    except (Unreadable, UnicodeDecodeError) as exc:
        reason = (
            exc.reason if isinstance(exc, Unreadable) else "cannot read file: it is not UTF-8 text"
        )
        diags.append(config_problem(display, 1, 1, "file_unreadable", reason))
        return None
    return parse_text(text, display, diags)


def parse_text(
    text: str, display: str, diags: list[Finding], *, nodes: bool = False
) -> Document | None:
    """Parse YAML text into a Document; problems go to `diags`. With `nodes`, the Document keeps
    the node tree (fmt and adopt edit the text at node marks) instead of a table of locations."""
    # libyaml ignores `%YAML 1.1` and reads `yes` as a string, ruamel.yaml's parser honours it
    # and reads `yes` as true: a file that asks for 1.1 goes to the one that honours it, so what
    # it means does not depend on whether something else in it trips libyaml.
    pure = "%YAML" in text and _YAML_11.search(text) is not None
    lines = LineIndex(text)
    read = _read_nodes if nodes else _read_stream
    problems: list[Finding] = []  # what the builder finds counts only if the file parses
    try:
        try:
            document = read(text, display, problems, lines, pure)
        except (TooLarge, TooDeep, RecursionError):
            raise
        except Exception as exc:  # any parser failure is the input's fault: report, never raise
            # The C parser (libyaml) is stricter than YAML 1.2 in places users meet daily, e.g.
            # an unquoted URL in a flow mapping: `api: {url: https://host/api/v1}`. ruamel.yaml's
            # own parser is the reference; only when it refuses too is the file wrong. When it
            # refuses too, its error is the one reported: libyaml stopped at the first place it
            # is stricter, which may be a line that parsed (the URL) before the real mistake.
            problems.clear()
            try:
                document = read(text, display, problems, lines, True)
            except (TooLarge, TooDeep, RecursionError):
                raise
            except Exception as reference:
                same = _mark_index(reference) == _mark_index(exc)
                diags.append(syntax_diagnostic(exc if same else reference, display, text))
                return None
    except (RecursionError, TooDeep):
        diags.append(
            config_problem(display, 1, 1, "yaml_unsupported", "the YAML is nested too deeply")
        )
        return None
    except TooLarge as exc:
        line, column = unpack(exc.at)
        diags.append(
            config_problem(
                display,
                line,
                column,
                "yaml_unsupported",
                f"aliases add more than {MAX_ALIASED_VALUES:,} values to this file; write "
                "the values out instead",
            )
        )
        return None
    if document is None:
        diags.append(
            config_problem(
                display,
                1,
                1,
                "empty_file",
                "the file holds no YAML document",
                "every file starts with `organization: <name>`",
            )
        )
        return None
    diags.extend(problems)
    return document


def _read_nodes(
    text: str, display: str, diags: list[Finding], lines: LineIndex, pure: bool
) -> Document | None:
    read = read_nodes(text, display, diags, lines, pure)
    if read is None:
        return None
    root, data, yaml11, shared = read
    return Document(display, root, data, lines, yaml11, shared)


def _read_stream(
    text: str, display: str, diags: list[Finding], lines: LineIndex, pure: bool
) -> Document | None:
    position = None
    if lines.unusual:  # the parser's line breaks are not the editor's: count from the offset

        def position(mark: Any) -> int:
            line, column = lines.position(mark)
            return pack(line - 1, column - 1)

    builder = StreamBuilder(display, diags, position, Rules(pure), pure=pure)
    events = iter(parse_events(text, pure=pure))
    try:
        data, table, found = builder.build(events)
    except (TooLarge, TooDeep):
        for _ in events:  # a syntax error further down is the file's first problem
            pass
        raise
    if not found:
        return None
    return Document(display, None, data, lines, builder.yaml11, builder.shared, table)


def _mark_index(exc: Exception) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    index = getattr(mark, "index", None)
    return index if isinstance(index, int) else None


def syntax_diagnostic(exc: Exception, display: str, text: str) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    lines = LineIndex(text)
    line, column = lines.position(mark) if mark is not None else (1, 1)
    message_lines = str(exc).splitlines()
    problem = getattr(exc, "problem", None) or (message_lines[0] if message_lines else "")
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem or type(exc).__name__}"
    if context:
        message += f" ({context})"
    hint = None
    bad_line = lines.line(line)
    if "\t" in bad_line[: column + 1]:
        hint = "indent with spaces, not tabs"
    elif "unexpected ':'" in str(exc):
        hint = 'quote a value that holds `:`, e.g. url: "http://127.0.0.1:8765/api/v1"'
    return config_problem(display, line, column, "yaml_syntax", message, hint)


def parse_events(text: str, *, pure: bool) -> Iterable[Any]:
    """The parser's events for `text` (ruamel.yaml's own parser when `pure`, else libyaml's)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=pure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield from yaml.parse(text)
