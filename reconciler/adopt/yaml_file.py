"""One YAML file as adopt edits it: its parsed document (where each value is) and the
`Splicer` that collects the text edits; and the text of the items adopt writes, in the style
`export` writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.config.canonical import order_of
from reconciler.config.document import Document
from reconciler.config.splice import Splicer, pair, scalar
from reconciler.diff import cidr_key
from reconciler.live import LiveRange, LiveUser
from reconciler.model import normalise_email
from reconciler.roles import Role


@dataclass
class YamlFile:
    """One file of the organization: its name, its parsed document, and the edits so far."""

    name: str
    doc: Document
    splicer: Splicer

    @property
    def root(self) -> MappingNode:
        assert isinstance(self.doc.root, MappingNode)
        return self.doc.root

    def section(self, key: str) -> Node | None:
        found = pair(self.root, key)
        return None if found is None else found[1]

    def keep_lists(self) -> None:
        for name in ("ip_ranges", "users"):
            found = pair(self.root, name)
            if found is not None and isinstance(found[1], SequenceNode):
                self.splicer.keep_a_list(found[0], found[1])

    def insert_sorted(
        self, seq: SequenceNode, key: str, value: str, pairs: list[tuple[str, str]]
    ) -> None:
        """A new item in the order of `key` (case-insensitive), styled like its neighbour."""
        before = next(
            (
                i
                for i, item in enumerate(seq.value)
                if isinstance(item, MappingNode) and order_of(text_of(item, key)) > order_of(value)
            ),
            None,
        )
        neighbour = seq.value[before if before is not None else -1] if seq.value else None
        one_line = flow(pairs)
        if isinstance(neighbour, MappingNode) and not neighbour.flow_style:
            dash = self.splicer.dash(neighbour)  # its first key may be on the line below
            column = dash - self.splicer.line_start(dash)
            indent = " " * max(2, neighbour.start_mark.column - column)
            block = "\n".join(
                ("- " if n == 0 else indent) + f"{k}: {v}" for n, (k, v) in enumerate(pairs)
            )
        else:
            block = f"- {one_line}"
        self.splicer.insert_item(seq, before, one_line, block)


def text_of(mapping: MappingNode, key: str) -> str:
    found = pair(mapping, key)
    return str(found[1].value) if found is not None and isinstance(found[1], ScalarNode) else ""


def list_text(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def flow(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def user_pairs(user: LiveUser) -> list[tuple[str, str]]:
    """A live user as the pairs `export` writes (stores always a list, never `all`)."""
    pairs = [("email", scalar(normalise_email(user.email)))]
    if user.type == "external":
        if user.role != Role.EXTERNAL_USER.value:
            pairs.append(("role", scalar(user.role)))
        pairs.append(("type", "external"))
        if user.expires_at is not None:
            pairs.append(("expires", user.expires_at.isoformat()))
    else:
        pairs.append(("role", scalar(user.role)))
    pairs.append(("stores", list_text([scalar(s) for s in sorted(set(user.stores))])))
    return pairs


def range_pairs(rng: LiveRange) -> list[tuple[str, str]]:
    return [("name", scalar(rng.name)), ("cidr", scalar(cidr_key(rng.cidr)))]
