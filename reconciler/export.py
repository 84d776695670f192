"""Live state → desired-state YAML that plans to zero changes: how a team adopts accessctl.

The file follows the defaults: `policy.unmanaged_users: remove` (the YAML is authoritative), and
every user declares `stores`. What is left out, and why `plan` on the result is still empty:
- Terminated users: the reconciler never manages (nor removes) them; `plan` reports them as info.
- `ip_ranges` on a standard-plan organization (the plan has none).
External users whose access has ended (status `expired`, or an expiry on or before `today`) are
written, with their date: left out, they would be planned for removal. `validate` warns about
them (`expiry_in_past`) and `plan` leaves them as they are, so deleting their lines is how they
are removed. CIDRs are always quoted: an IPv6 network's colons are not safe in a flow mapping;
any other text is written plain only when it is plainly a word (`_text`). Store grants are
written as explicit lists (never `all`), so a store added later is not granted silently. The
token is never written: only the name of the variable that holds it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.config.canonical import order_of, writer
from reconciler.errors import UsageError
from reconciler.live import LiveState, LiveUser
from reconciler.roles import Role

if TYPE_CHECKING:
    from reconciler.pipeline import Progress

# The schema lives in the config repository (`python -m reconciler.config.schema >
# schemas/accessctl.schema.json`); the line points there, relative to the written file.
SCHEMA_PATH = "schemas/accessctl.schema.json"
DEFAULT_SCHEMA = SCHEMA_PATH


def schema_reference(out: str | None, root: str = ".") -> str:
    """The `$schema` path from the folder of `out` (stdout: the current one) to the config
    repository's schema, `root` being the repository (the current directory). A file written
    outside `root` gets the path as seen from the repository's top."""
    import os

    top = os.path.abspath(root)
    folder = os.path.dirname(os.path.abspath(out)) if out else top
    if os.path.commonpath([top, folder]) != top:
        return SCHEMA_PATH
    return os.path.relpath(os.path.join(top, SCHEMA_PATH), folder).replace(os.sep, "/")


# Starts with a letter (never a number, a date, an indicator or a sign), holds no `:`, `#`, `,`,
# brackets or quotes, and does not end in a space.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@+/()&-]*(?: [A-Za-z0-9_.@+/()&-]+)*")
# Plain words YAML 1.1 reads as booleans or null (1.2 as strings; some tools still read 1.1).
_KEYWORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])


def _flow_map(items: dict[str, Any]) -> CommentedMap:
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


def _text(value: str) -> str:
    """`value` written plain only when it is a run of letters, digits and a few safe marks that
    reads back as the same string under YAML 1.1 and 1.2, in a block or a flow collection;
    anything else double-quoted, where every character survives (U+0085, U+2028 and controls as
    escapes, which ruamel.yaml's plain and single-quoted styles would write as line breaks).
    ruamel.yaml's own choice is not trusted: it writes `: x` plain in a flow mapping."""
    if _PLAIN.fullmatch(value) and value.lower() not in _KEYWORDS:
        return value
    quoted: str = DoubleQuotedScalarString(value)
    return quoted


def _flow_seq(items: list[Any]) -> CommentedSeq:
    node = CommentedSeq(items)
    node.fa.set_flow_style()
    return node


def skipped(user: LiveUser) -> str | None:
    """Why `user` is left out of the export, or None to export it."""
    if user.role == Role.TERMINATED.value:
        return "terminated"
    return None


def ended(user: LiveUser, today: date) -> bool:
    """Whether an external user's access has ended (it is exported all the same)."""
    return user.type == "external" and (
        user.status == "expired" or (user.expires_at is not None and user.expires_at <= today)
    )


def _user(user: LiveUser) -> CommentedMap:
    entry: dict[str, Any] = {"email": _text(user.email)}  # keys in the canonical order
    if user.type == "external":
        if user.role != Role.EXTERNAL_USER.value:
            entry["role"] = user.role
        entry["type"] = "external"
        entry["expires"] = user.expires_at
    else:
        entry["role"] = user.role
    entry["stores"] = _flow_seq([_text(s) for s in sorted(set(user.stores))])
    return _flow_map(entry)


def export_document(
    live: LiveState, *, api_url: str | None, token_env: str | None, today: date
) -> tuple[CommentedMap, dict[str, int]]:
    """The YAML document, and how many users were left out per reason (`terminated`), or
    written although their access has ended (`ended`)."""
    doc = CommentedMap()
    doc["organization"] = live.organization.name
    api = CommentedMap()
    if api_url:
        api["url"] = api_url
    if token_env:
        api["token_env"] = token_env
    if api:
        doc["api"] = api
    doc["settings"] = CommentedMap(
        {"technical_support_access": live.organization.technical_support_access}
    )
    policy = CommentedMap({"unmanaged_users": "remove"})
    policy.yaml_add_eol_comment(
        "the default: deleting a user's lines removes the user", "unmanaged_users"
    )
    doc["policy"] = policy
    doc["stores"] = CommentedMap(
        (_text(s.id), _text(s.name)) for s in sorted(live.stores, key=lambda s: s.id)
    )
    if live.ip_ranges is not None:
        doc["ip_ranges"] = CommentedSeq(
            _flow_map({"name": _text(r.name), "cidr": DoubleQuotedScalarString(r.cidr)})
            for r in sorted(live.ip_ranges, key=lambda r: order_of(r.name))
        )
    counts: dict[str, int] = {}
    users = CommentedSeq()
    for user in sorted(live.users, key=lambda u: order_of(u.email)):
        reason = skipped(user)
        if reason is None:
            users.append(_user(user))
            if ended(user, today):
                counts["ended"] = counts.get("ended", 0) + 1
        else:
            counts[reason] = counts.get(reason, 0) + 1
    doc["users"] = users
    return doc, counts


def export_yaml(
    live: LiveState,
    *,
    api_url: str | None,
    token_env: str | None,
    today: date,
    schema: str = DEFAULT_SCHEMA,
) -> str:
    doc, counts = export_document(live, api_url=api_url, token_env=token_env, today=today)
    header = [
        f"# yaml-language-server: $schema={schema}",
        f"# Exported by accessctl from the live organization {live.organization.name}.",
    ]
    if counts.get("terminated"):
        n = counts["terminated"]
        header.append(
            f"# Terminated users not exported ({n}): the platform assigned that role, accessctl "
            "never changes it; `accessctl plan` reports them."
        )
    if counts.get("ended"):
        n = counts["ended"]
        header.append(
            f"# External users whose access has ended ({n}): `validate` warns about them; delete "
            "their lines to remove them."
        )
    yaml = writer()  # fmt's layout: an export is already canonical
    out = io.StringIO()
    out.write("\n".join(header) + "\n")
    yaml.dump(doc, out)
    return out.getvalue()


@dataclass(frozen=True)
class Exported:
    """An organization's live state as YAML, and what the CLI says about it."""

    text: str
    organization: str
    live_users: int


def export_paths(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str],
    today: date,
    api_url: str | None = None,
    token_env: str | None = None,
    only_org: str | None = None,
    schema: str = DEFAULT_SCHEMA,
    progress: Progress | None = None,
) -> Exported:
    """Fetch the live state of the organization whose API is named by the config at `paths`
    (else by `api_url` and `token_env`) and write it as YAML. A token of another organization
    than the one expected (the config's, or `only_org`) is refused."""
    from reconciler.api import fetch_live_state
    from reconciler.pipeline import client_for

    url, env, expected = export_target(paths, environ, today, api_url, token_env, only_org)
    client = client_for(url, env, environ, organization=expected or "", progress=progress)
    try:
        live = fetch_live_state(client)
    finally:
        client.close()
    if expected is not None and live.organization.name != expected:
        where = f"--org {only_org}" if not paths else f"{', '.join(paths)} is for {expected}"
        raise UsageError(
            f"{where}: the token in {env} belongs to organization "
            f"{live.organization.name}, not {expected}; nothing was written",
            hint=f"use the token of {expected}" + ("" if paths else ", or leave out --org"),
        )
    text = export_yaml(live, api_url=url, token_env=env, today=today, schema=schema)
    return Exported(text, live.organization.name, len(live.users))


def export_target(
    paths: Sequence[str],
    environ: Mapping[str, str],
    today: date,
    api_url: str | None,
    token_env: str | None,
    only_org: str | None,
) -> tuple[str, str, str | None]:
    """(API URL, token variable, the organization expected) from a config file's `api` and
    `organization`, else from the options."""
    from reconciler.pipeline import load_desired, resolve_url

    if paths:
        orgs, _ = load_desired(list(paths), today=today, only_org=only_org)
        if len(orgs) > 1:
            names = ", ".join(o.config.organization for o in orgs)
            raise UsageError(f"the config has several organizations ({names}): pick one with --org")
        api = orgs[0].config.api
        url = resolve_url(api.url, environ, api_url)
        env = token_env or api.token_env
        expected: str | None = orgs[0].config.organization
    else:
        url = resolve_url(None, environ, api_url)
        env = token_env
        expected = only_org
    if not env:
        raise UsageError("name the environment variable that holds the API token: --token-env VAR")
    return url, env, expected
