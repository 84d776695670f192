"""Live state → desired-state YAML that plans to zero changes: how a team adopts accessctl.

What is left out, and why `plan` on the result is still empty:
- Terminated users: the reconciler never manages them; `plan` reports them as info.
- Expired external users (status `expired`, or an expiry on or before `today`): a past expiry
  does not validate; with `policy.unmanaged_users: report` they show up as warnings, not changes.
- `ip_ranges` on a standard-plan organization (the plan has none).
CIDRs are always quoted: an IPv6 network's colons are not safe in a flow mapping. Store grants
are written as explicit lists (never `all`), so a store added later is not granted
silently. The token is never written: only the name of the variable that holds it.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.config.canonical import order_of, writer
from reconciler.model import LiveState, LiveUser, Role

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


def _flow_map(items: dict[str, Any]) -> CommentedMap:
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


def _text(value: str) -> str:
    """`value` quoted where ruamel.yaml would write it plain but read it back as something else:
    a leading `?` in a flow collection reads as a mapping key (`[?q]` is `[{q: null}]`)."""
    return DoubleQuotedScalarString(value) if value.startswith("?") else value


def _flow_seq(items: list[Any]) -> CommentedSeq:
    node = CommentedSeq(items)
    node.fa.set_flow_style()
    return node


def skipped(user: LiveUser, today: date) -> str | None:
    """Why `user` is left out of the export, or None to export it."""
    if user.role == Role.TERMINATED.value:
        return "terminated"
    if user.status == "expired" or (user.expires_at is not None and user.expires_at <= today):
        return "expired"
    return None


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
    """The YAML document, and how many users were left out per reason."""
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
    doc["policy"] = CommentedMap({"unmanaged_users": "report"})
    doc["stores"] = CommentedMap(
        (_text(s.id), _text(s.name)) for s in sorted(live.stores, key=lambda s: s.id)
    )
    if live.ip_ranges is not None:
        doc["ip_ranges"] = CommentedSeq(
            _flow_map({"name": _text(r.name), "cidr": DoubleQuotedScalarString(r.cidr)})
            for r in sorted(live.ip_ranges, key=lambda r: order_of(r.name))
        )
    left_out: dict[str, int] = {}
    users = CommentedSeq()
    for user in sorted(live.users, key=lambda u: order_of(u.email)):
        reason = skipped(user, today)
        if reason is None:
            users.append(_user(user))
        else:
            left_out[reason] = left_out.get(reason, 0) + 1
    doc["users"] = users
    return doc, left_out


def export_yaml(
    live: LiveState,
    *,
    api_url: str | None,
    token_env: str | None,
    today: date,
    schema: str = DEFAULT_SCHEMA,
) -> str:
    doc, left_out = export_document(live, api_url=api_url, token_env=token_env, today=today)
    header = [
        f"# yaml-language-server: $schema={schema}",
        f"# Exported by accessctl from the live organization {live.organization.name}.",
    ]
    if left_out:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(left_out.items()))
        header.append(f"# Users not exported ({reasons}): `accessctl plan` reports them.")
    yaml = writer()  # fmt's layout: an export is already canonical
    out = io.StringIO()
    out.write("\n".join(header) + "\n")
    yaml.dump(doc, out)
    return out.getvalue()
