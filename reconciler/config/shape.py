"""Schema checks: validate one file's plain value against the pydantic model and turn pydantic's
errors into diagnostics pinned to YAML lines (worded in `messages.py`). Items that fail are
dropped, so the rule checks can still run over the rest and a user sees every problem in one
run."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.config.document import Document, PathItem, Written
from reconciler.config.messages import (
    allowed_fields,
    describe,
    key_kind,
    kind_of,
    located_problem,
    pretty,
    problem_at,
)
from reconciler.findings import Finding
from reconciler.model import OrgConfig, normalise_email

_LIST_SECTIONS = ("users", "ip_ranges")


@dataclass
class FileConfig:
    """A file whose shape is valid (after dropping broken items), with the map back to YAML."""

    doc: Document
    config: OrgConfig
    user_index: list[int]  # config.users[k] was written at users[user_index[k]]
    range_index: list[int]
    sections: set[str] = field(default_factory=set)  # top-level keys the file sets
    broken: set[str] = field(default_factory=set)  # sections it sets, dropped for an error
    # users dropped for a shape error that still name an email: (folded email, index), so that a
    # duplicate email is reported in the same run as the error that dropped one of the two
    dropped_emails: list[tuple[str, int]] = field(default_factory=list)


def check_shape(
    doc: Document, diags: list[Finding], skip: Collection[Written] = ()
) -> FileConfig | None:
    """Validate `doc`; `skip` holds what was already reported (e.g. inline secrets)."""
    data = doc.data
    if not isinstance(data, dict):
        diags.append(
            problem_at(
                doc,
                (),
                "invalid_type",
                f"the file must be a mapping, not {kind_of(data)}",
                "start with `organization: <name>`, then `users:` and the other sections",
            )
        )
        return None
    bad: set[tuple[PathItem, ...]] = set()
    try:
        config = OrgConfig.model_validate(data)
    except ValidationError as exc:
        keyed = _string_keys(doc, data, diags)  # pydantic cannot say where such keys are
        errors = exc.errors(include_url=False) if keyed is data else _errors(keyed)
        data = keyed
        bad, unknown = _report(doc, data, errors, diags, skip)
        cleaned = _without(_strip(data, unknown), bad)
        if cleaned is None:
            return None
        try:
            config = OrgConfig.model_validate(cleaned)
        except ValidationError:
            return None
    user_index = _kept(data.get("users"), bad, "users")
    range_index = _kept(data.get("ip_ranges"), bad, "ip_ranges")
    sections = {k for k in data if isinstance(k, str)}
    dropped = _dropped_emails(data.get("users"), set(user_index))
    broken = {str(path[0]) for path in bad if len(path) == 1}
    return FileConfig(doc, config, user_index, range_index, sections, broken, dropped)


def _errors(data: dict[Any, Any]) -> list[ErrorDetails]:
    try:
        OrgConfig.model_validate(data)
    except ValidationError as exc:
        return exc.errors(include_url=False)
    return []


# The mappings whose keys are field names or store ids, as paths with `[]` for "every item".
_MAPPINGS: tuple[tuple[str, ...], ...] = (
    (),
    ("api",),
    ("settings",),
    ("policy",),
    ("stores",),
    ("users", "[]"),
    ("ip_ranges", "[]"),
)


def _string_keys(doc: Document, data: dict[Any, Any], diags: list[Finding]) -> dict[Any, Any]:
    """`data` with its keys that YAML read as something else than a string (`~`, `true`, `5`,
    a date) reported and taken out; a store id written as a number is kept as its text, so the
    rest of the file is checked as if it were quoted. `data` itself when there are none."""
    fixed = data
    for parent in _MAPPINGS:
        for path, mapping in _mappings_at(fixed, parent):
            odd = [key for key in mapping if not isinstance(key, str)]
            if not odd:
                continue
            replaced = dict(mapping)
            for key in odd:
                value = replaced.pop(key)
                written = doc.key_text((*path, key))  # `` for a key left empty, `~`, `true`
                text = str(key) if written is None else written
                src = doc.locate((*path, key), key=True)
                if parent == ("stores",):
                    replaced[text] = value
                    message = f"store id `{text}` must be a string; quote it"
                    hint = f'write `"{text}"`: unquoted, YAML reads it as {key_kind(key)}'
                    diags.append(located_problem(src, "invalid_type", message, hint))
                    continue
                where = pretty(path) or "the top level"
                message = f"unknown field `{text}` in {where}: keys must be plain words"
                hint = f"YAML reads `{text}` as {key_kind(key)}; allowed here: "
                diags.append(
                    located_problem(
                        src, "unknown_field", message, hint + ", ".join(allowed_fields(path))
                    )
                )
            fixed = _replace(fixed, path, replaced)
    return fixed


def _mappings_at(data: Any, parent: tuple[str, ...]) -> list[tuple[tuple[PathItem, ...], Any]]:
    """(path, mapping) for each mapping at `parent` (`[]`: every item of a list)."""
    found: list[tuple[tuple[PathItem, ...], Any]] = [((), data)]
    for step in parent:
        deeper: list[tuple[tuple[PathItem, ...], Any]] = []
        for path, value in found:
            if step == "[]" and isinstance(value, list):
                deeper += [((*path, i), item) for i, item in enumerate(value)]
            elif isinstance(value, dict) and step in value:
                deeper.append(((*path, step), value[step]))
        found = deeper
    return [(path, value) for path, value in found if isinstance(value, dict)]


def _replace(data: Any, path: Sequence[PathItem], new: Any) -> Any:
    """A copy of `data` with the value at `path` replaced (containers on the way are copied)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, list):
        copy = list(data)
        copy[head] = _replace(data[head], rest, new)  # type: ignore[index]
        return copy
    return {**data, head: _replace(data[head], rest, new)}


def _dropped_emails(items: Any, kept: set[int]) -> list[tuple[str, int]]:
    if not isinstance(items, list):
        return []
    return [
        (normalise_email(item["email"]), i)
        for i, item in enumerate(items)
        if i not in kept and isinstance(item, dict) and isinstance(item.get("email"), str)
    ]


def _kept(items: Any, bad: set[tuple[PathItem, ...]], section: str) -> list[int]:
    if not isinstance(items, list) or (section,) in bad:
        return []
    return [i for i in range(len(items)) if (section, i) not in bad]


def _strip(value: Any, paths: set[tuple[PathItem, ...]]) -> Any:
    """A copy of `value` without the keys at `paths` (unknown fields: the rest stays checked)."""
    if not paths or not isinstance(value, dict | list):
        return value
    heads: dict[PathItem, set[tuple[PathItem, ...]]] = {}
    for path in paths:
        heads.setdefault(path[0], set()).add(path[1:])
    if isinstance(value, list):
        return [_strip(item, heads[i]) if i in heads else item for i, item in enumerate(value)]
    return {
        key: _strip(item, heads[key]) if key in heads else item
        for key, item in value.items()
        if () not in heads.get(key, set())
    }


def _without(data: dict[Any, Any], bad: set[tuple[PathItem, ...]]) -> dict[Any, Any] | None:
    """A copy of `data` without the broken sections and list items; None when unusable."""
    if ("organization",) in bad:
        return None
    cleaned: dict[Any, Any] = {}
    for key, value in data.items():
        if (key,) in bad:
            continue
        if key in _LIST_SECTIONS and isinstance(value, list):
            value = [item for i, item in enumerate(value) if (key, i) not in bad]
        cleaned[key] = value
    return cleaned


def _report(
    doc: Document,
    data: Any,
    errors: Sequence[ErrorDetails],
    diags: list[Finding],
    skip: Collection[Written],
) -> tuple[set[tuple[PathItem, ...]], set[tuple[PathItem, ...]]]:
    """Diagnostics for pydantic's errors about `data` (`doc.data`, keys made strings); returns
    the sections and list items to drop, and the unknown keys to strip."""
    bad: set[tuple[PathItem, ...]] = set()
    unknown: set[tuple[PathItem, ...]] = set()
    seen: set[tuple[PathItem, ...]] = set()
    resolved = [(_resolve(data, err["loc"]), err) for err in errors]
    paths = {path for (path, _), _ in resolved}
    for (path, on_key), err in resolved:
        if err["type"] == "extra_forbidden" and path:
            unknown.add(path)
        elif not path:
            bad.add(("organization",))
        elif path[0] in _LIST_SECTIONS and len(path) > 1:
            bad.add(path[:2])
        else:
            bad.add(path[:1])
        if path in seen or _has_deeper(path, paths, err):
            continue
        seen.add(path)
        if skip and _reported(doc, path, on_key or err["type"] == "extra_forbidden", skip):
            continue
        diags.append(describe(doc, path, on_key, err))
    return bad, unknown


def _reported(
    doc: Document, path: tuple[PathItem, ...], key: bool, skip: Collection[Written]
) -> bool:
    return doc.written(path, key=key) in skip


def _has_deeper(
    path: tuple[PathItem, ...], paths: set[tuple[PathItem, ...]], err: ErrorDetails
) -> bool:
    """A union member's error at a field that another member explains more precisely."""
    if len(err["loc"]) == len(path):
        return False
    return any(len(other) > len(path) and other[: len(path)] == path for other in paths)


def _resolve(data: Any, loc: tuple[int | str, ...]) -> tuple[tuple[PathItem, ...], bool]:
    """Pydantic's `loc` as a path into the YAML value, without union-member labels."""
    path: list[PathItem] = []
    current = data
    on_key = False
    for item in loc:
        if (isinstance(current, dict) and item in current) or (
            isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current)
        ):
            path.append(item)
            current = current[item]  # type: ignore[index]
        elif item == "[key]":
            on_key = True
        elif isinstance(current, dict) and isinstance(item, str) and _is_field(path, item):
            path.append(item)  # a missing field: its parent is where it belongs
            current = None
    return tuple(path), on_key


def _is_field(path: Sequence[PathItem], name: str) -> bool:
    return name in allowed_fields(path)
