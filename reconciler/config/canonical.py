"""The canonical form of a config file, in one place: used by `fmt`, `export` and `adopt`.

Key order is the model's field order (`reconciler.model`), so a new field takes its place
everywhere at once: top-level sections as `OrgConfig` declares them, and the keys of `api`,
`settings`, `policy`, each range and each user as their models do. Users are sorted by email and
ranges by name, ignoring case and surrounding space. Block YAML is indented by two spaces, list
items included (`  - email: ...`), and lines are never wrapped.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from reconciler.model import ApiConfig, IpRange, OrgConfig, Policy, Settings, User

TOP_ORDER: tuple[str, ...] = tuple(OrgConfig.model_fields)
KEY_ORDER: dict[str, tuple[str, ...]] = {
    "api": tuple(ApiConfig.model_fields),
    "settings": tuple(Settings.model_fields),
    "policy": tuple(Policy.model_fields),
    "ip_ranges": tuple(IpRange.model_fields),
    "users": tuple(User.model_fields),
}
SORT_KEY: dict[str, str] = {"ip_ranges": "name", "users": "email"}  # list -> field it sorts on

INDENT = 2  # a mapping's keys, and a list's `- ` under its key
WIDTH = 4096  # never wrap: a long line is left long rather than split


def order_of(value: Any) -> str:
    """What a user's email or a range's name is sorted by."""
    return str(value).strip().casefold()


def key_rank(order: tuple[str, ...], key: Any) -> int:
    """Where `key` goes in a mapping whose known keys are `order`: unknown keys (which
    `validate` reports) keep their place after the known ones."""
    if isinstance(key, str) and key in order:
        return order.index(key)
    return len(order)


def writer() -> YAML:
    """A ruamel.yaml writer that emits the canonical layout (for files written from data)."""
    yaml = YAML()
    yaml.width = WIDTH
    yaml.indent(mapping=INDENT, sequence=2 * INDENT, offset=INDENT)
    return yaml
