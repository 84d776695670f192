"""Schema checks: validate one file's plain value against the pydantic model and turn pydantic's
errors into diagnostics pinned to YAML lines. Items that fail are dropped, so the rule checks can
still run over the rest and a user sees every problem in one run."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler import emails
from reconciler.config.document import Document, PathItem, Written
from reconciler.findings import Finding, Location
from reconciler.model import (
    HIDDEN_CHARACTER,
    ROLE_NAMES,
    ApiConfig,
    IpRange,
    OrgConfig,
    Policy,
    Settings,
    User,
    normalise_email,
)

_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): OrgConfig,
    ("users",): User,
    ("ip_ranges",): IpRange,
    ("api",): ApiConfig,
    ("settings",): Settings,
    ("policy",): Policy,
}
_LIST_SECTIONS = ("users", "ip_ranges")
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD) without a time",
}
_FIELD_MESSAGES = {
    "stores": ("invalid_type", "`stores` must be a list of store ids or `all`"),
    "max_removals": (
        "invalid_value",
        "`max_removals` must be a whole number or a percentage from 0% to 100%, such as `10%`",
    ),
    "token_env": (
        "invalid_value",
        "`token_env` must name an environment variable (letters, digits and `_`)",
    ),
}

_MISSING_HINTS = {
    # a user without `stores:` would otherwise lose every store grant without a word
    "stores": "add `stores: all`, or a list of store ids such as `stores: [MID1000001]` "
    "(`stores: []` for none)",
}


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
            _diag(
                doc,
                (),
                "invalid_type",
                f"the file must be a mapping, not {_kind(data)}",
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
                text = doc.key_text((*path, key)) or str(key)
                src = doc.locate((*path, key), key=True)
                if parent == ("stores",):
                    replaced[text] = value
                    message = f"store id `{text}` must be a string; quote it"
                    hint = f'write `"{text}"`: unquoted, YAML reads it as {_key_kind(key)}'
                    diags.append(_at(src, "invalid_type", message, hint))
                    continue
                where = _pretty(path) or "the top level"
                message = f"unknown field `{text}` in {where}: keys must be plain words"
                hint = f"YAML reads `{text}` as {_key_kind(key)}; allowed here: "
                diags.append(_at(src, "unknown_field", message, hint + ", ".join(_allowed(path))))
            fixed = _replace(fixed, path, replaced)
    return fixed


def _key_kind(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "a boolean"
    if isinstance(key, int | float):
        return "a number"
    if isinstance(key, date):
        return "a date"
    return f"a {type(key).__name__}"


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
        diags.append(_to_diagnostic(doc, path, on_key, err))
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
    model = _MODELS.get(tuple(p for p in path if isinstance(p, str)))
    return model is not None and name in model.model_fields


def _to_diagnostic(
    doc: Document, path: tuple[PathItem, ...], on_key: bool, err: ErrorDetails
) -> Finding:
    kind = err["type"]
    name = str(path[-1]) if path else "file"
    where = _pretty(path[:-1]) or "the top level"
    value = err.get("input")
    hint: str | None = None
    if kind == "extra_forbidden":
        allowed = _allowed(path[:-1])
        hint = _did_you_mean(name, allowed) or f"allowed here: {', '.join(allowed)}"
        return _diag(doc, path, "unknown_field", f"unknown field `{name}` in {where}", hint, True)
    if kind == "missing":
        parent = path[:-1]
        code = "missing_organization" if path == ("organization",) else "missing_field"
        hint = _MISSING_HINTS.get(name) if parent else None
        if not parent:
            hint = "each file names the organization it configures"
        return _diag(doc, parent, code, f"missing required field `{name}` in {where}", hint)
    if name == "role" and kind == "enum":
        declarable = [role for role in ROLE_NAMES if role != "Terminated"]  # platform-only
        hint = _did_you_mean(str(value), ROLE_NAMES) or f"roles: {', '.join(declarable)}"
        return _diag(doc, path, "unknown_role", f"unknown role `{value}`", hint)
    if name == "email" and kind == "string_pattern_mismatch":
        return _diag(doc, path, "invalid_email", f"`{value}` is not an email address")
    hidden = str(err["msg"]).partition(HIDDEN_CHARACTER)[2]
    if name == "email" and kind == "value_error" and hidden:
        shown = emails.escape(str(value))
        message = f"`{shown}` is not an email address: it holds {hidden.split(' ')[0]}"
        hint = f"remove {hidden}: it cannot be seen, or it reorders the text around it"
        return _diag(doc, path, "invalid_email", message, hint)
    field_name = next((str(p) for p in reversed(path) if isinstance(p, str)), name)
    if field_name in _FIELD_MESSAGES and (
        len(err["loc"]) > len(path) or kind.endswith("pattern_mismatch")
    ):
        code, message = _FIELD_MESSAGES[field_name]
        return _diag(doc, path, code, f"{_pretty(path)}: {message}")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = _did_you_mean(str(value), options)
        message = f"{_pretty(path)}: must be one of {expected}, not `{value}`"
        return _diag(doc, path, "invalid_value", message, hint)
    if kind in _EXPECTED:
        message = f"{_pretty(path)}: expected {_EXPECTED[kind]}, got {_kind(value)}"
        return _diag(doc, path, "invalid_type", message, key=on_key)
    message = str(err["msg"]).removeprefix("Value error, ")
    return _diag(doc, path, "invalid_value", f"{_pretty(path)}: {message}", key=on_key)


def _diag(
    doc: Document,
    path: Sequence[PathItem],
    code: str,
    message: str,
    hint: str | None = None,
    key: bool = False,
) -> Finding:
    return _at(doc.locate(path, key=key), code, message, hint)


def _at(src: Location, code: str, message: str, hint: str | None = None) -> Finding:
    return Finding(severity="error", code=code, message=message, source=src, hint=hint)


def _allowed(parent: Sequence[PathItem]) -> list[str]:
    model = _MODELS.get(tuple(p for p in parent if isinstance(p, str)))
    return list(model.model_fields) if model else []


def _did_you_mean(value: str, options: Sequence[str]) -> str | None:
    folded = {o.casefold().replace(" ", "").replace("_", ""): o for o in options}
    key = value.casefold().replace(" ", "").replace("_", "").replace("-", "")
    if key in folded:
        return f"did you mean `{folded[key]}`?"
    match = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    return f"did you mean `{folded[match[0]]}`?" if match else None


def did_you_mean(value: str, options: Sequence[str]) -> str | None:
    """'did you mean `X`?' for the closest option (case, space and `_` insensitive)."""
    return _did_you_mean(value, options)


def _pretty(path: Sequence[PathItem]) -> str:
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number `{value}`"
    return f"`{value}`"
