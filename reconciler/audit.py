"""Who changed access, and was it through git? Recent audit events of an organization, each
classified as made by accessctl (its annotation names the commit, PR and plan, and its seal checks)
or by hand (in the portal or with another tool: actor and IP). Logins are counted apart: they
change nothing. Every field of an event comes from the API: the text report shows it through
`visible`.

Trust: anyone who can call the API can send `X-Audit-Annotation: {"tool":"accessctl",…}`. An
event counts as accessctl's only when its annotation carries a seal (see `annotations.seal_of`)
that the reader's key checks for the event's own actor and organization; any other event that
claims to be accessctl's is hand-made, and says it claimed."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from reconciler import TOOL_NAME
from reconciler.annotations import parse_annotation, seal_holds
from reconciler.display import visible
from reconciler.errors import UsageError
from reconciler.live import AuditEvent, AuditTarget
from reconciler.model import normalise_email

if TYPE_CHECKING:
    from reconciler.api import AccessApiClient

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
Origin = Literal["accessctl", "hand", "login"]


@dataclass(frozen=True)
class Verifier:
    """What the reader checks a seal with: the organization and its key (`name` says which)."""

    organization: str
    key: str = field(repr=False)
    name: str

    def doubt(self, annotation: dict[str, Any], actor: str) -> str:
        """Why an annotation that claims to be accessctl's is not taken as such ("" if it is)."""
        if "sig" not in annotation:
            return "its annotation carries no signature"
        if not seal_holds(self.key, self.organization, actor, annotation):
            return (
                f"its signature does not check with {self.name} for {actor}: written or copied "
                "by another principal, or signed with another key"
            )
        return ""


NO_KEY = "there was no key to check its signature with"


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
    # Set on a hand-made change whose annotation claimed to be accessctl's: why it is not taken.
    claimed: str = ""

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
            "claimed_accessctl": bool(self.claimed),
            "not_verified": self.claimed or None,
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


def _target(target: AuditTarget) -> str:
    return f"{target.type} {target.name or target.id}".strip()


def classify(event: AuditEvent, verifier: Verifier | None = None) -> AuditEntry:
    """One event as accessctl's, hand-made or a login. An annotation that claims accessctl counts
    only when `verifier` checks its seal for the event's actor; without a verifier, none does.
    An action this version does not know is a change, and not accessctl's unless sealed."""
    annotation = parse_annotation(event.annotation) or {}
    actor = event.actor or "?"
    claimed = ""
    if event.action == "login":
        origin: Origin = "login"
    elif annotation.get("tool") == TOOL_NAME:
        claimed = verifier.doubt(annotation, actor) if verifier is not None else NO_KEY
        claimed = claimed or _another_change(annotation, event.target)
        origin = "hand" if claimed else "accessctl"
    else:
        origin = "hand"
    return AuditEntry(
        at=event.at,
        actor=actor,
        action=event.action,
        target=_target(event.target),
        ip=event.ip or None,
        origin=origin,
        annotation=annotation,
        before=event.before,
        after=event.after,
        claimed=claimed,
    )


# The kind of object an annotation's `change` address names, by the audit target type it is.
_ADDRESS_KIND = {"user": "users", "ip_range": "ip_ranges", "organization": "settings"}


def _another_change(annotation: dict[str, Any], target: AuditTarget) -> str:
    """Why a sealed annotation is not the one accessctl sent for a change of `target` ("" when
    it may be): the seal binds the annotation to its principal, not to the object, so a header
    copied from an older change (outside the window, where the replay check cannot see it)
    onto a change of another user or kind of object would pass as accessctl's. A range is
    compared by kind only (a rename changes its name); an annotation without `change`, or a
    target type this version does not know, is not compared."""
    change = annotation.get("change")
    kind = _ADDRESS_KIND.get(target.type)
    if not isinstance(change, str) or kind is None:
        return ""
    named, _, name = change.partition("/")
    if named == kind and (kind != "users" or normalise_email(name) == normalise_email(target.name)):
        return ""
    return (
        f"its annotation was sealed for the change {change}, not for this {target.type}: "
        "a header copied from another change"
    )


def fetch_audit(
    client: AccessApiClient, organization: str, since: datetime, verifier: Verifier | None = None
) -> OrgAudit:
    """The organization's audit events at or after `since` (oldest first). The whole answer is
    refused (`invalid_response`) when any event is malformed: a change skipped would be a
    hand-made change not reported."""
    from reconciler.api.fetch import fetch_audit_events

    stamp = since.isoformat(timespec="seconds")
    events = sorted(fetch_audit_events(client, f"?since={quote(stamp)}"), key=_when)
    # Seals are compared across all that was read, then what is older than `since` is left out
    # here too: a server that ignores `since=` must not put months of changes in a 7-day audit.
    entries = _without_replays([classify(event, verifier) for event in events])
    kept = [entry for entry, event in zip(entries, events, strict=True) if event.moment >= since]
    return OrgAudit(organization, stamp, kept)


def _when(event: AuditEvent) -> datetime:
    return event.moment


def audit_paths(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str],
    since: str,
    now: datetime,
    api_url: str | None = None,
    only_org: str | None = None,
) -> list[OrgAudit]:
    """The audit, since `since` (a duration, `7d`) before `now`, of each organization of the
    config at `paths`, read with its own token; a token of another organization is refused (its
    audit log says nothing about this one). Seals are checked with `$ACCESSCTL_PLAN_KEY` when
    set, else with the organization's token."""
    from reconciler.api.fetch import fetch_organization
    from reconciler.pipeline import api_target, client_for, load_desired
    from reconciler.signing import plan_key, signing_key

    try:
        start = now - parse_duration(since)
    except OverflowError:
        raise UsageError(
            f"--since {since!r}: too far back (before the year 1)",
            hint="use a duration such as 30d or 52w",
        ) from None
    orgs, _ = load_desired(paths, today=now.date(), only_org=only_org)
    plan_key(environ)  # a key too short is refused before any request
    audits = []
    for org in orgs:
        name = org.config.organization
        url, token_env = api_target(name, org.config.api, environ, api_url)
        with client_for(url, token_env, environ) as client:
            live_name = fetch_organization(client).name
            if live_name != name:
                raise UsageError(
                    f"{name}: the token in {token_env} belongs to organization {live_name}: "
                    f"its audit log says nothing about {name}",
                    hint=f"use the token of {name}",
                )
            key = signing_key(environ, token_env)
            named = f"${key.name}" if key.is_plan_key else f"the token in {key.name}"
            audits.append(fetch_audit(client, name, start, Verifier(name, key.secret, named)))
    return audits


def _without_replays(entries: list[AuditEntry]) -> list[AuditEntry]:
    """accessctl sends each sealed annotation once (a retry is answered without a second event):
    a seal seen again is a copy of an earlier header, by its own principal, and is hand-made."""
    first: dict[str, str] = {}
    kept: list[AuditEntry] = []
    for entry in entries:
        sig = entry.annotation.get("sig") if entry.origin == "accessctl" else None
        if isinstance(sig, str) and sig in first:
            why = f"its signature was already used by the change at {first[sig]}: a copied header"
            entry = replace(entry, origin="hand", claimed=why)
        elif isinstance(sig, str):
            first[sig] = entry.at
        kept.append(entry)
    return kept


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
    line = f"{head}  ({visible(who)})" + (f"  {visible(delta)}" if delta else "")
    if entry.claimed:
        line += f"  [claimed to be accessctl, but {visible(entry.claimed)}]"
    return line


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
    claimed = sum(1 for a in audits for e in a.hand_made if e.claimed)
    lines.append(
        f"Hand-made changes: {total}"
        + (f" ({claimed} claimed to be accessctl's and could not be verified)" if claimed else "")
        + "."
        + (" Review them, then put them in the config or revert them." if total else "")
    )
    return lines
