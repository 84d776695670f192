"""Canonical formatting of config files, keeping comments (ruamel.yaml round-trip).

Canonical means: top-level keys in a fixed order, keys of each user and range in a fixed order,
users sorted by email and ranges by name, 2-space indentation. Unknown keys keep their place
after the known ones, so formatting never hides a mistake that `validate` reports.

ruamel attaches a full-line comment to the token *before* it; moving items would move comments
to the wrong neighbour. So before reordering a mapping or sequence we detach the full-line
comments that precede each item, and after reordering we attach them in front of the same item.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

TOP_ORDER = ("organization", "api", "settings", "policy", "stores", "ip_ranges", "users")
KEY_ORDER: dict[str, tuple[str, ...]] = {
    "api": ("url", "token_env"),
    "settings": ("technical_support_access",),
    "policy": ("unmanaged_users", "max_removals", "protected"),
    "ip_ranges": ("name", "cidr"),
    "users": ("email", "type", "role", "expires", "stores"),
}
SORT_KEY = {"ip_ranges": "name", "users": "email"}

Slot = tuple[list[Any], int]  # a comment entry of ruamel's `.ca.items` and the index in it


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def format_text(text: str) -> str:
    """The canonical form of one file's text. Raises ruamel's YAMLError on invalid YAML."""
    yaml = _yaml()
    data = yaml.load(text)
    if not isinstance(data, CommentedMap):
        return text
    canonicalise(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def canonicalise(root: CommentedMap) -> None:
    """Reorder `root` in place (bottom-up, so comments travel with their items)."""
    for section, order in KEY_ORDER.items():
        value = root.get(section)
        if isinstance(value, CommentedMap):
            _order_map(value, order)
        elif isinstance(value, CommentedSeq) and section in SORT_KEY:
            for item in value:
                if isinstance(item, CommentedMap):
                    _order_map(item, order)
            _sort_seq(value, SORT_KEY[section], head=_slot(root, section))
    _order_map(root, TOP_ORDER)


def _order_map(mapping: CommentedMap, order: Sequence[str]) -> None:
    keys = list(mapping)
    rank = {key: i for i, key in enumerate(order)}
    wanted = sorted(
        keys, key=lambda k: rank.get(k, len(order)) if isinstance(k, str) else len(order)
    )
    if wanted == keys:
        return
    positions = [keys.index(k) for k in wanted]

    def apply() -> None:
        for key in wanted:
            mapping.move_to_end(key)

    _reorder(mapping, keys, positions, apply, head=None)


def _sort_seq(seq: CommentedSeq, field: str, head: Slot | None) -> None:
    def sort_key(i: int) -> tuple[int, str]:
        item = seq[i]
        value = item.get(field) if isinstance(item, CommentedMap) else None
        return (0, str(value).strip().casefold()) if value is not None else (1, "")

    positions = sorted(range(len(seq)), key=sort_key)
    if positions == list(range(len(seq))):
        return
    items = list(seq)
    comments = dict(seq.ca.items)

    def apply() -> None:
        seq[:] = [items[i] for i in positions]
        seq.ca.items.clear()
        for new, old in enumerate(positions):
            if old in comments:
                seq.ca.items[new] = comments[old]

    _reorder(seq, list(range(len(seq))), positions, apply, head=head)


def _reorder(
    container: CommentedMap | CommentedSeq,
    keys: list[Hashable],
    positions: list[int],
    apply: Callable[[], None],
    head: Slot | None,
) -> None:
    """Move the items to `positions` (new index -> old index) with their leading comments."""
    count = len(keys)
    leading: list[str] = [_take_lines(head) if head else ""]
    leading += [_take_lines(_tail(container, key)) for key in keys]
    trailer = leading.pop()  # after the last item: belongs to whatever follows the container
    apply()
    new_keys = list(container) if isinstance(container, CommentedMap) else list(range(count))
    for new, old in enumerate(positions):
        if new:
            _give_lines(_tail(container, new_keys[new - 1]), leading[old])
        elif head is not None:
            _give_lines(head, leading[old])
        elif leading[old]:
            _give_header(container, leading[old])
    _give_lines(_tail(container, new_keys[-1]), trailer)


def _slot(mapping: CommentedMap, key: Hashable) -> Slot:
    entry = mapping.ca.items.setdefault(key, [None, None, None, None])
    return entry, 2


def _tail(container: CommentedMap | CommentedSeq, key: Hashable) -> Slot:
    """Where the comment after item `key` lives: the last scalar token of its block."""
    value = container[key]
    if isinstance(value, CommentedMap | CommentedSeq) and len(value) and not value.fa.flow_style():
        last = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        return _tail(value, last)
    if isinstance(container, CommentedMap):
        return _slot(container, key)
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    return entry, 0


def _take_lines(slot: Slot) -> str:
    """Detach the full-line comments from a comment token, keeping its end-of-line part."""
    entry, index = slot
    token = entry[index] if len(entry) > index else None
    if not isinstance(token, CommentToken):
        return ""
    value: str = token.value
    newline = value.find("\n")
    if newline == -1 or not value[newline + 1 :]:
        return ""
    own, rest = value[: newline + 1], value[newline + 1 :]
    if own.strip():
        token.value = own
    else:
        entry[index] = None
    return rest


def _give_header(container: CommentedMap | CommentedSeq, lines: str) -> None:
    """Comment lines before the first item of a container that has no key before it."""
    if container.ca.comment is None:
        container.ca.comment = [None, []]
    if container.ca.comment[1] is None:
        container.ca.comment[1] = []
    container.ca.comment[1].append(CommentToken(lines, CommentMark(0), None))


def _give_lines(slot: Slot, lines: str) -> None:
    if not lines:
        return
    entry, index = slot
    token = entry[index]
    if isinstance(token, CommentToken):
        value: str = token.value
        token.value = (value if value.endswith("\n") else value + "\n") + lines
    else:
        entry[index] = CommentToken("\n" + lines, CommentMark(0), None)
