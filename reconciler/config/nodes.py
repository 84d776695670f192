"""Reading one YAML file into its node tree, for fmt and adopt, which edit the text at the
nodes' marks (`parse_text(..., nodes=True)`); `load` reads the parser's events instead
(`stream.py`), and a test checks that both read every file alike.

The C-backed safe parser composes the node tree (every node keeps its `start_mark`), and we
build plain Python values from it ourselves, reporting duplicate keys on the way, which the safe
constructor would drop.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from reconciler.config.diagnostics import config_problem
from reconciler.config.limits import TooLarge, too_much_aliased
from reconciler.config.locations import pack
from reconciler.config.scalars import (
    MERGE_TAG,
    STR_TAG,
    TAG,
    UnknownTag,
    construct,
    unsupported_tag,
)
from reconciler.findings import Finding

if TYPE_CHECKING:
    from reconciler.config.document import LineIndex, PathItem


def read_nodes(
    text: str, file: str, diags: list[Finding], lines: LineIndex, pure: bool
) -> tuple[Node, Any, bool, bool] | None:
    """(root node, its plain value, read as YAML 1.1, shared) of `text`'s one document; None
    when it holds none. Problems go to `diags`."""
    root, yaml11 = compose(text, pure=pure)
    if root is None:
        return None
    builder = _Builder(file, diags, lines, yaml11)
    return root, builder.build(root), yaml11, builder.shared


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


def compose(text: str, *, pure: bool) -> tuple[Node | None, bool]:
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
            if too_much_aliased(self.aliased, self.size):
                line, column = self.lines.position(node.start_mark)
                raise TooLarge(pack(line - 1, column - 1))  # the anchor the alias stands for
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
            return construct(node.tag, node.value, self.yaml11)
        except ValueError:
            return node.value
        except UnknownTag:
            self._unsupported_tag(node)
            return node.value

    def _unsupported_tag(self, node: Node) -> None:
        self._report(node, "yaml_unsupported", *unsupported_tag(str(node.tag)))

    def _report(self, node: Node, code: str, message: str, hint: str | None = None) -> None:
        line, column = self.lines.position(node.start_mark)
        self.diags.append(config_problem(self.file, line, column, code, message, hint))


def node_position(
    root: Node | None, lines: LineIndex, path: Sequence[PathItem], key: bool
) -> int | None:
    """Where what is at `path` is written (packed, see `locations.pack`), or the deepest part of
    it that exists, in a node tree: plain keys and indexes, no alias (fmt's own checks)."""
    node = root
    if node is None:
        return None
    for step, item in enumerate(path):
        if isinstance(node, MappingNode):
            pairs = [p for p in node.value if p[0].value == item]
            pair = next((p for p in pairs if p[0].tag == STR_TAG), pairs[0] if pairs else None)
            if pair is None:
                break
            node = pair[0] if key and step == len(path) - 1 else pair[1]
        elif isinstance(node, SequenceNode) and isinstance(item, int) and item < len(node.value):
            node = node.value[item]
        else:
            break
    line, column = lines.position(node.start_mark)
    return pack(line - 1, column - 1)
