"""Reading one YAML file fast, with locations.

Validation must stay within a small factor of a bare C-accelerated parse (SPEC §8), so the
round-trip loader is out. Instead the C-backed safe parser composes the node tree (every node
keeps its `start_mark`), we build plain Python values from it ourselves (reporting duplicate
keys on the way, which the safe constructor would drop), and keep the tree so a diagnostic can
find the line of any path later. Locations cost nothing until a diagnostic asks for one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from reconciler.config.diagnostics import Diagnostic
from reconciler.model import Source

_TAG = "tag:yaml.org,2002:"
STR_TAG = _TAG + "str"
MERGE_TAG = _TAG + "merge"
MAX_EXPANDED_NODES = 2_000_000  # aliases may not blow a small file up into a huge one

PathItem = str | int
YamlPath = Sequence[PathItem]


@dataclass
class Document:
    """One parsed file: its plain value and the node tree it came from."""

    file: str
    root: Node | None
    data: Any

    def node(self, path: YamlPath, *, key: bool = False) -> Node | None:
        """The node at `path` (the deepest one that exists), or its key node when `key`."""
        current = self.root
        key_node: Node | None = None
        for item in path:
            if isinstance(current, MappingNode):
                pair = _find_pair(current, item)
                if pair is None:
                    break
                key_node, current = pair
            elif isinstance(current, SequenceNode) and isinstance(item, int):
                if not 0 <= item < len(current.value):
                    break
                key_node, current = None, current.value[item]
            else:
                break
        else:
            if key and key_node is not None:
                return key_node
        return current

    def locate(self, path: YamlPath = (), *, key: bool = False) -> Source:
        """`file:line:column` (1-based) of the node at `path`."""
        found = self.node(path, key=key)
        if found is None:
            return Source(self.file, 1, 1)
        mark = found.start_mark
        return Source(self.file, mark.line + 1, mark.column + 1)


def _find_pair(mapping: MappingNode, item: PathItem) -> tuple[Node, Node] | None:
    wanted = str(item)
    merged: list[Node] = []
    for key_node, value_node in mapping.value:
        if _is_merge(key_node):
            merged.append(value_node)
        elif isinstance(key_node, ScalarNode) and key_node.value == wanted:
            return key_node, value_node
    for source in merged:
        for candidate in source.value if isinstance(source, SequenceNode) else [source]:
            if isinstance(candidate, MappingNode):
                pair = _find_pair(candidate, item)
                if pair is not None:
                    return pair
    return None


def read_document(path: Path, display: str, diags: list[Diagnostic]) -> Document | None:
    """Parse one file; problems go to `diags`. None when nothing usable could be read."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        diags.append(
            Diagnostic(display, 1, 1, "error", "file_unreadable", f"cannot read file: {reason}")
        )
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


def _compose(text: str, *, pure: bool) -> Node | None:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = _FastResolver
    root: Node | None = yaml.compose(text)
    return root


def parse_text(text: str, display: str, diags: list[Diagnostic]) -> Document | None:
    """Parse YAML text into a Document; problems go to `diags`."""
    try:
        root = _compose(text, pure=False)
    except Exception as exc:  # any parser failure is the input's fault: report, never raise
        # The C parser (libyaml) is stricter than YAML 1.2 in places users meet daily, e.g. an
        # unquoted URL in a flow mapping: `api: {url: https://host/api/v1}`. ruamel.yaml's own
        # parser is the reference; only when it refuses too is the file wrong.
        try:
            root = _compose(text, pure=True)
        except Exception:
            diags.append(syntax_diagnostic(exc, display, text))
            return None
    if root is None:
        diags.append(
            Diagnostic(
                display,
                1,
                1,
                "error",
                "empty_file",
                "the file holds no YAML document",
                "every file starts with `organization: <name>`",
            )
        )
        return None
    builder = _Builder(display, diags)
    try:
        data = builder.build(root)
    except RecursionError:
        diags.append(
            Diagnostic(display, 1, 1, "error", "yaml_unsupported", "the YAML is nested too deeply")
        )
        return None
    except _TooLarge:
        diags.append(
            Diagnostic(
                display,
                1,
                1,
                "error",
                "yaml_unsupported",
                "aliases expand this file to more than "
                f"{MAX_EXPANDED_NODES:,} values; write the values out instead",
            )
        )
        return None
    return Document(display, root, data)


def syntax_diagnostic(exc: Exception, display: str, text: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = getattr(mark, "line", 0) + 1 if mark is not None else 1
    column = getattr(mark, "column", 0) + 1 if mark is not None else 1
    lines = str(exc).splitlines()
    problem = getattr(exc, "problem", None) or (lines[0] if lines else "")
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem or type(exc).__name__}"
    if context:
        message += f" ({context})"
    hint = None
    source_lines = text.splitlines()
    bad_line = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    if "\t" in bad_line[: column + 1]:
        hint = "indent with spaces, not tabs"
    elif "unexpected ':'" in str(exc):
        hint = 'quote a value that holds `:`, e.g. url: "http://127.0.0.1:8765/api/v1"'
    return Diagnostic(display, line, column, "error", "yaml_syntax", message, hint)


class _TooLarge(Exception):
    pass


@dataclass
class _Builder:
    """Turns composed nodes into plain values; aliases are shared, not copied."""

    file: str
    diags: list[Diagnostic]
    memo: dict[int, Any] = field(default_factory=dict)
    active: set[int] = field(default_factory=set)
    size: int = 0

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            self.size += 1
            if node.ctag is STR_NODE_TAG or node.tag == STR_TAG:
                return node.value
            return self._scalar(node)
        ident = id(node)
        if ident in self.memo:
            self.size += 1
            if self.size > MAX_EXPANDED_NODES:
                raise _TooLarge
            return self.memo[ident]
        if ident in self.active:
            self._report(node, "yaml_unsupported", "an alias refers to a node that contains it")
            return None
        self.active.add(ident)
        self.size += 1
        if self.size > MAX_EXPANDED_NODES:
            raise _TooLarge
        value: Any
        if isinstance(node, SequenceNode):
            if node.ctag is not _SEQ_TAG and node.tag != _TAG + "seq":
                self._unsupported_tag(node)
            value = [self.build(child) for child in node.value]
        elif isinstance(node, MappingNode):
            if node.ctag is not _MAP_TAG and node.tag != _TAG + "map":
                self._unsupported_tag(node)
            value = self._mapping(node)
        else:  # pragma: no cover - the composer produces only the three kinds
            value = None
        self.active.discard(ident)
        self.memo[ident] = value
        return value

    def _mapping(self, node: MappingNode) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
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
            if key in lines:
                self._report(
                    key_node,
                    "duplicate_key",
                    f"duplicate key `{key_node.value}`: also set on line {lines[key]}",
                    "keep one of them; YAML readers silently disagree on which one wins",
                )
                continue
            lines[key] = key_node.start_mark.line + 1
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
        tag, text = node.tag, node.value
        try:
            if tag == _TAG + "null":
                return None
            if tag == _TAG + "bool":
                return text.lower() == "true"
            if tag == _TAG + "int":
                return _to_int(text)
            if tag == _TAG + "float":
                return _to_float(text)
            if tag == _TAG + "timestamp":
                return _to_timestamp(text)
        except ValueError:
            return text
        self._unsupported_tag(node)
        return text

    def _unsupported_tag(self, node: Node) -> None:
        self._report(
            node,
            "yaml_unsupported",
            f"unsupported YAML tag `{node.tag}`",
            "remove the tag; plain strings, numbers, booleans, dates, lists and maps suffice",
        )

    def _report(self, node: Node, code: str, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        self.diags.append(
            Diagnostic(self.file, mark.line + 1, mark.column + 1, "error", code, message, hint)
        )


def _to_int(text: str) -> int:
    clean = text.replace("_", "")
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
