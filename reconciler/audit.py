"""Who changed access, and was it through git? Recent audit events of an organization, each
classified as made by accessctl (its annotation says so, and names the commit, PR and plan) or
by hand (in the portal or with another tool: actor and IP). Logins are counted apart: they change
nothing. Every field of an event comes from the API: the text report shows it through `visible`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote

from reconciler import TOOL_NAME
from reconciler.annotations import parse_annotation
from reconciler.errors import UsageError
from reconciler.render.terminal import visible

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
Origin = Literal["accessctl", "hand", "login"]


class ListClient(Protocol):
    def list_all(self, path: str) -> Any: ...


def parse_duration(text: str) -> timedelta:
    """`30m`, `24h`, `7d`, `2w` -> timedelta."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise UsageError(
            f"--since {text!r}: expected a duration such as 30m, 24h, 7d or 2w",
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class AuditEntry:
    """One audit event, read for people."""

    at: str
    actor: str
    action: str
    target: str
    ip: str | None
    origin: Origin
    annotation: dict[str, Any] = field(default_factory=dict)
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "origin": self.origin,
            "annotation": self.annotation or None,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class OrgAudit:
    organization: str
    since: str
    entries: list[AuditEntry]

    def of(self, origin: Origin) -> list[AuditEntry]:
        return [e for e in self.entries if e.origin == origin]

    @property
    def hand_made(self) -> list[AuditEntry]:
        return self.of("hand")

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "since": self.since,
            "by_accessctl": [e.as_dict() for e in self.of("accessctl")],
            "by_hand": [e.as_dict() for e in self.hand_made],
            "logins": [e.as_dict() for e in self.of("login")],
        }


def _target(value: Any) -> str:
    if isinstance(value, dict):
        kind = str(value.get("type") or "")
        name = value.get("name") or value.get("id") or ""
        return f"{kind} {name}".strip()
    return "" if value is None else str(value)


def classify(event: dict[str, Any]) -> AuditEntry:
    annotation = parse_annotation(event.get("annotation")) or {}
    action = str(event.get("action") or "")
    if action == "login":
        origin: Origin = "login"
    elif annotation.get("tool") == TOOL_NAME:
        origin = "accessctl"
    else:
        origin = "hand"
    ip = event.get("ip")
    return AuditEntry(
        at=str(event.get("at") or ""),
        actor=str(event.get("actor") or "?"),
        action=action,
        target=_target(event.get("target")),
        ip=str(ip) if ip else None,
        origin=origin,
        annotation=annotation,
        before=event.get("before"),
        after=event.get("after"),
    )


def fetch_audit(client: ListClient, organization: str, since: datetime) -> OrgAudit:
    """The organization's audit events at or after `since` (oldest first)."""
    stamp = since.isoformat(timespec="seconds")
    listing = client.list_all(f"/audit-events?since={quote(stamp)}")
    items: Iterable[dict[str, Any]] = getattr(listing, "items", listing)
    entries = sorted((classify(e) for e in items), key=lambda e: e.at)
    return OrgAudit(organization, stamp, entries)


def describe(entry: AuditEntry) -> str:
    """One line: when, what, on what, by whom — and the git provenance or the hand's IP."""
    head = f"{visible(entry.at)}  {visible(entry.action):<22} {visible(entry.target)}"
    if entry.origin == "accessctl":
        note = entry.annotation
        parts = [f"by {entry.actor} via accessctl"]
        if note.get("commit"):
            parts.append(f"commit {str(note['commit'])[:12]}")
        if note.get("pr"):
            parts.append(f"PR #{note['pr']}")
        if note.get("plan"):
            parts.append(f"plan {str(note['plan'])[:12]}")
        if note.get("source"):
            parts.append(str(note["source"]))
        return f"{head}  ({visible(', '.join(parts))})"
    who = f"by {entry.actor}" + (f" from {entry.ip}" if entry.ip else "")
    delta = _delta(entry.before, entry.after)
    return f"{head}  ({visible(who)})" + (f"  {visible(delta)}" if delta else "")


def _delta(before: Any, after: Any) -> str:
    """`role: "User" → "Admin"` for the fields an event changed (updates only)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    skip = {"etag", "id", "status"}
    keys = [k for k in after if k not in skip and before.get(k) != after.get(k)]
    return "; ".join(f"{k}: {json.dumps(before.get(k))} → {json.dumps(after.get(k))}" for k in keys)


def render_text(audits: Sequence[OrgAudit]) -> list[str]:
    lines: list[str] = []
    for audit in audits:
        ours, hand, logins = audit.of("accessctl"), audit.hand_made, audit.of("login")
        lines.append(
            f"Organization {visible(audit.organization)}: audit events since {audit.since}"
        )
        lines.append(f"  Made by accessctl ({len(ours)}):")
        lines += [f"    {describe(e)}" for e in ours] or ["    none"]
        lines.append(f"  Made by hand, outside accessctl ({len(hand)}):")
        lines += [f"    {describe(e)}" for e in hand] or ["    none"]
        who = sorted({visible(e.actor) for e in logins})
        lines.append(f"  Logins: {len(logins)}" + (f" ({', '.join(who)})" if who else ""))
        lines.append("")
    total = sum(len(a.hand_made) for a in audits)
    lines.append(
        f"Hand-made changes: {total}."
        + (" Review them, then put them in the config or revert them." if total else "")
    )
    return lines
