"""Credentials must never be written in the YAML: the token lives in the environment variable
named by `api.token_env`. This scan flags secret-looking keys and values without echoing them."""

from __future__ import annotations

import re
from typing import Any

from reconciler.config.document import Document, PathItem, Written
from reconciler.findings import Finding

SECRET_KEYS = frozenset(
    {
        "token",
        "api_token",
        "access_token",
        "auth_token",
        "bearer",
        "authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "private_key",
        "credentials",
    }
)
_SECRET_VALUE = re.compile(
    r"""(?ix)
    bearer\s+\S{8,}                                   # an Authorization header value
    | eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*                 # a JWT
    | (?:ghp_|gho_|ghs_|github_pat_|sk_live_|sk_test_|xox[abprs]-|glpat-)[\w-]{10,}
    | https?://[^/@\s?#]+:[^/@\s?#]*@                 # a URL with user:password@
    | https?://[^\s?#]*\?(?:[^#\s]*&)?(?:token|access_token|api_key|apikey|key|password)=
    """
)
_HINT = (
    "remove it: put the token in an environment variable and name that variable in `api.token_env`"
)


def find_secrets(doc: Document, diags: list[Finding]) -> set[Written]:
    """Report inline secrets; returns what was reported (keys or values, as written), so
    other checks do not report them again wherever an alias repeats them."""
    found: set[Written] = set()
    # A list or mapping that aliases repeat is one node in the file: scan it once (nested
    # aliases can repeat one list millions of times).
    seen: set[int] | None = set() if doc.shared else None
    _walk(doc.data, (), doc, diags, found, seen)
    return found


def _walk(
    value: Any,
    path: tuple[PathItem, ...],
    doc: Document,
    diags: list[Finding],
    found: set[Written],
    seen: set[int] | None,
) -> None:
    """Every string and key below `value`; paths are built only for containers and findings
    (a 10,000-user file holds some 100,000 scalars)."""
    if seen is not None and isinstance(value, dict | list):
        if id(value) in seen:
            return
        seen.add(id(value))
    if isinstance(value, str):
        _check_value(value, path, doc, diags, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _is_secret_key(key) and item not in (None, ""):
                where = (*path, key)
                _report(doc, where, True, f"`{key}` is a credential written inline", diags, found)
            elif isinstance(item, str):
                if len(item) >= 12:
                    _check_value(item, (*path, key), doc, diags, found)
            elif isinstance(item, dict | list):
                _walk(item, (*path, key), doc, diags, found, seen)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                if len(item) >= 12:
                    _check_value(item, (*path, index), doc, diags, found)
            elif isinstance(item, dict | list):
                _walk(item, (*path, index), doc, diags, found, seen)


def _check_value(
    value: str,
    path: tuple[PathItem, ...],
    doc: Document,
    diags: list[Finding],
    found: set[Written],
) -> None:
    if len(value) >= 12 and _SECRET_VALUE.match(value):
        message = "this value looks like a credential written inline"
        _report(doc, path, False, message, diags, found)


def _is_secret_key(key: str) -> bool:
    folded = key.casefold().replace("-", "_")
    return folded in SECRET_KEYS or folded.endswith(("_password", "_secret"))


def _report(
    doc: Document,
    path: tuple[PathItem, ...],
    on_key: bool,
    message: str,
    diags: list[Finding],
    found: set[Written],
) -> None:
    written = doc.written(path, key=on_key)
    if written is not None:
        if written in found:  # a string repeated by an alias: reported where it is written
            return
        found.add(written)
    source = doc.locate(path, key=on_key)
    diags.append(
        Finding(severity="error", code="inline_secret", message=message, source=source, hint=_HINT)
    )
