"""Reading one YAML file fast, with locations.

Validation must stay within a small factor of a bare C-accelerated parse (SPEC §8), so the
round-trip loader is out. Instead the C-backed safe parser composes the node tree (every node
keeps its `start_mark`), we build plain Python values from it ourselves (reporting duplicate
keys on the way, which the safe constructor would drop), and keep the tree so a diagnostic can
find the line of any path later. Locations cost nothing until a diagnostic asks for one.
"""

from __future__ import annotations

import math
import re
import warnings
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from reconciler.config.diagnostics import config_problem
from reconciler.config.files import Unreadable, read_config_bytes
from reconciler.config.stream import (
    ALIAS_GROWTH,
    MAX_ALIASED_VALUES,
    MERGE_TAG,
    STR_TAG,
    TAG,
    Aliased,
    Keyed,
    StreamBuilder,
    TooDeep,
    TooLarge,
    pack,
    parse_events,
    position_of,
    unpack,
)
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
            return self._walk_nodes(path, key), None
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

    def _walk_nodes(self, path: YamlPath, key: bool) -> int | None:
        """`_walk` on a node tree (fmt's own checks): plain keys and indexes, no alias."""
        node = self.root
        if node is None:
            return None
        for step, item in enumerate(path):
            if isinstance(node, MappingNode):
                pairs = [p for p in node.value if p[0].value == item]
                pair = next((p for p in pairs if p[0].tag == STR_TAG), pairs[0] if pairs else None)
                if pair is None:
                    break
                node = pair[0] if key and step == len(path) - 1 else pair[1]
            elif (
                isinstance(node, SequenceNode) and isinstance(item, int) and item < len(node.value)
            ):
                node = node.value[item]
            else:
                break
        line, column = self.lines.position(node.start_mark)
        return pack(line - 1, column - 1)


def _key_at(mapping: dict[Any, Any], item: PathItem, table: list[Any]) -> tuple[int, Any] | None:
    """(index in the mapping's order, the key itself) for `item`: the key equal to it and of its
    type; else, for a string, the key written as that text (a store id YAML read as a number)."""
    for index, key in enumerate(mapping):
        if type(key) is type(item) and key == item:
            return index, key
    if isinstance(item, str):
        for index, key in enumerate(mapping):
            entry = table[1 + 2 * index]
            while isinstance(entry, Aliased):
                entry = entry.target
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


class _FastResolver(VersionedResolver):
    """ruamel.yaml's YAML 1.2 resolver with its per-scalar overhead taken out.

    With the C parser, ruamel.yaml 0.19 still resolves every scalar's implicit tag in Python, and
    re-derives the version's rule table (two property look-ups with exception handling) for each
    one: two thirds of a C-backed parse. Same rules, same regexes and same answers here; the table
    is taken once per document and tags are shared objects, which also lets the builder tell a
    plain string by identity. (The C parser ignores `%YAML` directives, so one table per document
    is what ruamel.yaml uses too.)"""

    _rules: dict[Any, list[tuple[str, Any]]] | None = None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if self.yaml_path_resolvers:  # never set by this loader; keep ruamel's semantics if so
            return super().resolve(kind, value, implicit)
        if kind is ScalarNode:
            if implicit[0]:
                rules = self._rules
                if rules is None:
                    rules = self._rules = self.versioned_resolver
                for tag, regexp in rules.get(value[0] if value else "", ()):
                    if regexp.match(value):
                        return _tag(tag)
                for tag, regexp in rules.get(None, ()):
                    if regexp.match(value):
                        return _tag(tag)
            return STR_NODE_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG


STR_NODE_TAG = Tag(suffix=STR_TAG)
_TAGS: dict[str, Tag] = {STR_TAG: STR_NODE_TAG}
_SEQ_TAG = VersionedResolver.DEFAULT_SEQUENCE_TAG
_MAP_TAG = VersionedResolver.DEFAULT_MAPPING_TAG


def _is_merge(key: Node) -> bool:
    """`<<:`; a plain string key (nearly all keys) is told apart by identity, without building
    the tag's text."""
    return key.ctag is not STR_NODE_TAG and key.tag == MERGE_TAG


def _tag(name: str) -> Tag:
    found = _TAGS.get(name)
    if found is None:
        found = _TAGS[name] = Tag(suffix=name)
    return found


def _compose(text: str, *, pure: bool) -> tuple[Node | None, bool]:
    """The node tree, and whether its scalars were resolved as YAML 1.1."""
    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = _FastResolver
    with warnings.catch_warnings():
        # ruamel.yaml's own parser warns on an anchor defined twice, which YAML allows: the
        # later one counts, as with libyaml. Never printed beside the diagnostics.
        warnings.simplefilter("ignore")
        root: Node | None = yaml.compose(text)
    version = yaml.resolver.processing_version
    return root, version in ((1, 1), "1.1")


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
        except (_TooLarge, TooLarge, TooDeep, RecursionError):
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
            except (_TooLarge, TooLarge, TooDeep, RecursionError):
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
    except (_TooLarge, TooLarge) as exc:
        if isinstance(exc, TooLarge):
            line, column = unpack(exc.at)
        else:
            line, column = lines.position(exc.node.start_mark)
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
    root, yaml11 = _compose(text, pure=pure)
    if root is None:
        return None
    builder = _Builder(display, diags, lines, yaml11)
    data = builder.build(root)
    return Document(display, root, data, lines, yaml11, builder.shared)


def _read_stream(
    text: str, display: str, diags: list[Finding], lines: LineIndex, pure: bool
) -> Document | None:
    position = None
    if lines.unusual:  # the parser's line breaks are not the editor's: count from the offset

        def position(mark: Any) -> int:
            line, column = lines.position(mark)
            return pack(line - 1, column - 1)

    builder = StreamBuilder(display, diags, position, _Rules(pure), pure=pure)
    data, table, found = builder.build(parse_events(text, pure=pure))
    if not found:
        return None
    return Document(display, None, data, lines, builder.yaml11, builder.shared, table)


class _Rules:
    """A plain scalar's implicit tag, and a tagged scalar's value, by YAML 1.2's rules (or 1.1's,
    for a file that asks for them and is read by ruamel.yaml's own parser, which honours that)."""

    def __init__(self, honour_version: bool) -> None:
        self.honour_version = honour_version
        self.yaml11 = False
        self._table = _rules((1, 2))
        self.first_characters = frozenset(self._table)

    def version(self, version: Any) -> bool:
        """Told the document's `%YAML` version; whether its scalars read as YAML 1.1."""
        self.yaml11 = self.honour_version and version in ((1, 1), "1.1")
        self._table = _rules((1, 1) if self.yaml11 else (1, 2))
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
        return _construct(tag, text, self.yaml11)


_RULE_TABLES: dict[Any, dict[Any, list[tuple[str, Any]]]] = {}


def _rules(version: tuple[int, int]) -> dict[Any, list[tuple[str, Any]]]:
    table = _RULE_TABLES.get(version)
    if table is None:
        table = _RULE_TABLES[version] = VersionedResolver(version=version).versioned_resolver
    return table


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


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node  # the anchor whose alias went over the limit, or the node reached


class _UnknownTag(LookupError):
    pass


@dataclass
class _Builder:
    """Turns composed nodes into plain values; aliases are shared, not copied, but count for
    every value they stand for, so a few lines of nested aliases cannot pass for a small file.
    Only what aliases add counts against the limit: a large file written out is not refused."""

    file: str
    diags: list[Finding]
    lines: LineIndex
    yaml11: bool = False
    memo: dict[int, Any] = field(default_factory=dict)  # id -> value
    sizes: dict[int, int] = field(default_factory=dict)  # id -> values in it (small ints: shared)
    active: set[int] = field(default_factory=set)
    size: int = 0
    aliased: int = 0  # values added by aliases, beyond those written out
    shared: bool = False

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            self.size += 1
            if node.ctag is STR_NODE_TAG or node.tag == STR_TAG:
                return node.value
            return self._scalar(node)
        ident = id(node)
        if ident in self.memo:
            self.shared = True
            self.size += self.sizes[ident]
            self.aliased += self.sizes[ident]
            written = self.size - self.aliased
            if self.aliased > max(MAX_ALIASED_VALUES, ALIAS_GROWTH * written):
                raise _TooLarge(node)
            return self.memo[ident]
        if ident in self.active:
            self._report(node, "yaml_unsupported", "an alias refers to a node that contains it")
            return None
        self.active.add(ident)
        start = self.size
        self.size += 1
        value: Any
        if isinstance(node, SequenceNode):
            if node.ctag is not _SEQ_TAG and node.tag != TAG + "seq":
                self._unsupported_tag(node)
            value = [self.build(child) for child in node.value]
        elif isinstance(node, MappingNode):
            if node.ctag is not _MAP_TAG and node.tag != TAG + "map":
                self._unsupported_tag(node)
            value = self._mapping(node)
        else:  # pragma: no cover - the composer produces only the three kinds
            value = None
        self.active.discard(ident)
        self.memo[ident] = value
        self.sizes[ident] = self.size - start
        return value

    def _mapping(self, node: MappingNode) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first: dict[Any, Node] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if _is_merge(key_node):
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self._report(key_node, "yaml_unsupported", "a mapping key must be a plain value")
                continue
            plain = key_node.ctag is STR_NODE_TAG or key_node.tag == STR_TAG
            key = key_node.value if plain else self._scalar(key_node)
            if key in first:
                line = self.lines.position(first[key].start_mark)[0]
                self._report(
                    key_node,
                    "duplicate_key",
                    f"duplicate key `{key_node.value}`: also set on line {line}",
                    "keep one of them; YAML readers silently disagree on which one wins",
                )
                continue
            first[key] = key_node
            result[key] = self.build(value_node)
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                built = self.build(source)
                if not isinstance(built, dict):
                    self._report(source, "invalid_type", "`<<` merges only mappings")
                    continue
                for key, value in built.items():
                    result.setdefault(key, value)
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return _construct(node.tag, node.value, self.yaml11)
        except ValueError:
            return node.value
        except _UnknownTag:
            self._unsupported_tag(node)
            return node.value

    def _unsupported_tag(self, node: Node) -> None:
        self._report(
            node,
            "yaml_unsupported",
            f"unsupported YAML tag `{node.tag}`",
            "remove the tag; plain strings, numbers, booleans, dates, lists and maps suffice",
        )

    def _report(self, node: Node, code: str, message: str, hint: str | None = None) -> None:
        line, column = self.lines.position(node.start_mark)
        self.diags.append(config_problem(self.file, line, column, code, message, hint))


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


def _construct(tag: str | None, text: str, yaml11: bool) -> Any:
    """The value of a scalar that is not a plain string. ValueError when `text` is not a value
    of `tag` (the text is then kept as a string); _UnknownTag for tags outside the schema."""
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
    raise _UnknownTag(tag)


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
