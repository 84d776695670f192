"""How a shape error reads: pydantic's errors, and keys YAML read as something else than a
string, as diagnostics pinned to the YAML, worded for the person who fixes them (what was
expected, what was found, and the closest allowed name)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from reconciler import emails
from reconciler.config.document import Document, PathItem
from reconciler.findings import Finding, Location
from reconciler.model import (
    HIDDEN_CHARACTER,
    MAX_EMAIL_LENGTH,
    TOO_LONG,
    ApiConfig,
    IpRange,
    OrgConfig,
    Policy,
    Settings,
    User,
)
from reconciler.roles import ROLE_NAMES

_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): OrgConfig,
    ("users",): User,
    ("ip_ranges",): IpRange,
    ("api",): ApiConfig,
    ("settings",): Settings,
    ("policy",): Policy,
}
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


def describe(doc: Document, path: tuple[PathItem, ...], on_key: bool, err: ErrorDetails) -> Finding:
    """The diagnostic for pydantic's error `err` about what is at `path`."""
    kind = err["type"]
    name = str(path[-1]) if path else "file"
    where = pretty(path[:-1]) or "the top level"
    value = err.get("input")
    hint: str | None = None
    if kind == "extra_forbidden":
        allowed = allowed_fields(path[:-1])
        hint = did_you_mean(name, allowed) or f"allowed here: {', '.join(allowed)}"
        return problem_at(
            doc, path, "unknown_field", f"unknown field `{name}` in {where}", hint, True
        )
    if kind == "missing":
        parent = path[:-1]
        code = "missing_organization" if path == ("organization",) else "missing_field"
        hint = _MISSING_HINTS.get(name) if parent else None
        if not parent:
            hint = "each file names the organization it configures"
        return problem_at(doc, parent, code, f"missing required field `{name}` in {where}", hint)
    if name == "role" and kind == "enum":
        declarable = [role for role in ROLE_NAMES if role != "Terminated"]  # platform-only
        hint = did_you_mean(str(value), ROLE_NAMES) or f"roles: {', '.join(declarable)}"
        return problem_at(doc, path, "unknown_role", f"unknown role `{value}`", hint)
    if name == "email" and kind == "string_pattern_mismatch":
        return problem_at(doc, path, "invalid_email", f"`{value}` is not an email address")
    hidden = str(err["msg"]).partition(HIDDEN_CHARACTER)[2]
    if name == "email" and kind == "value_error" and hidden:
        shown = emails.escape(str(value))
        message = f"`{shown}` is not an email address: it holds {hidden.split(' ')[0]}"
        hint = f"remove {hidden}: it cannot be seen, or it reorders the text around it"
        return problem_at(doc, path, "invalid_email", message, hint)
    length = str(err["msg"]).partition(TOO_LONG)[2]
    if name == "email" and kind == "value_error" and length:
        message = f"`{emails.escape(str(value).strip())[:40]}…` is not an email address: it is "
        message += f"{length} characters long, and an address has at most {MAX_EMAIL_LENGTH}"
        hint = "mail systems refuse a longer one: check that two addresses were not pasted together"
        return problem_at(doc, path, "invalid_email", message, hint)
    field_name = next((str(p) for p in reversed(path) if isinstance(p, str)), name)
    if field_name in _FIELD_MESSAGES and (
        len(err["loc"]) > len(path) or kind.endswith("pattern_mismatch")
    ):
        code, message = _FIELD_MESSAGES[field_name]
        return problem_at(doc, path, code, f"{pretty(path)}: {message}")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(value), options)
        message = f"{pretty(path)}: must be one of {expected}, not `{value}`"
        return problem_at(doc, path, "invalid_value", message, hint)
    if kind in _EXPECTED:
        message = f"{pretty(path)}: expected {_EXPECTED[kind]}, got {kind_of(value)}"
        return problem_at(doc, path, "invalid_type", message, key=on_key)
    message = str(err["msg"]).removeprefix("Value error, ")
    return problem_at(doc, path, "invalid_value", f"{pretty(path)}: {message}", key=on_key)


def problem_at(
    doc: Document,
    path: Sequence[PathItem],
    code: str,
    message: str,
    hint: str | None = None,
    key: bool = False,
) -> Finding:
    """An error at what is at `path` (at its key, with `key`)."""
    return located_problem(doc.locate(path, key=key), code, message, hint)


def located_problem(src: Location, code: str, message: str, hint: str | None = None) -> Finding:
    """An error at `src`."""
    return Finding(severity="error", code=code, message=message, source=src, hint=hint)


def allowed_fields(parent: Sequence[PathItem]) -> list[str]:
    """The fields of the mapping at `parent` (list indexes ignored); [] when not a model's."""
    model = _MODELS.get(tuple(p for p in parent if isinstance(p, str)))
    return list(model.model_fields) if model else []


def did_you_mean(value: str, options: Sequence[str]) -> str | None:
    """'did you mean `X`?' for the closest option (case, space and `_` insensitive)."""
    folded = {o.casefold().replace(" ", "").replace("_", ""): o for o in options}
    key = value.casefold().replace(" ", "").replace("_", "").replace("-", "")
    if key in folded:
        return f"did you mean `{folded[key]}`?"
    match = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    return f"did you mean `{folded[match[0]]}`?" if match else None


def pretty(path: Sequence[PathItem]) -> str:
    """`users[2].role`: a path as a message names it."""
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def kind_of(value: Any) -> str:
    """What was found, as a message says it: `a list`, the number `5`, `yes`."""
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


def key_kind(key: Any) -> str:
    """What YAML read a key that is not a string as: `a number`, `a date`, `null`."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "a boolean"
    if isinstance(key, int | float):
        return "a number"
    if isinstance(key, date):
        return "a date"
    return f"a {type(key).__name__}"
