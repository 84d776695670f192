"""Live state → the YAML in place: how a team takes a hand-made change (drift) into git.

`export` writes a new file; `adopt` edits the files that are there, at the text spans of the
values that differ (`reconciler.config.splice`), so every comment, the key order, flow or block
style and the sections it never touches (`api`, `policy`) stay byte for byte:

- a declared user's `type`, `role`, `expires` and `stores` are rewritten where live differs;
- a live user not declared is added (in email order, in the style of its neighbours) to the
  first of the organization's files that holds `users:`, unless `unmanaged_users: ignore`;
- a declared user gone from live, or Terminated there, is cut out with the comments above it;
- ranges (when the YAML manages them), `technical_support_access` (when declared) and stores the
  live organization has and `stores:` lacks are taken in the same way.

The result is checked before anything is written: it must load without errors, and `plan` on
it must be empty against the live state it was made from. Otherwise nothing is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.config.canonical import KEY_ORDER, order_of
from reconciler.config.diagnostics import Diagnostic
from reconciler.config.document import Document, parse_text
from reconciler.config.splice import Edit, SpliceError, Splicer, pair, scalar
from reconciler.diff import cidr_key, desired_user_fields, diff, live_user_fields, ranges_managed
from reconciler.errors import AccessctlError
from reconciler.model import (
    DesiredOrg,
    LiveRange,
    LiveState,
    LiveUser,
    Role,
    User,
    normalise_email,
)

if TYPE_CHECKING:
    from reconciler.pipeline import Progress

USER_KEYS = KEY_ORDER["users"]
RANGE_KEYS = KEY_ORDER["ip_ranges"]


class AdoptError(AccessctlError):
    """The live state cannot be taken into these files safely; nothing was written."""


@dataclass(frozen=True)
class Note:
    """One thing adopt changed: `+` added, `-` removed, `~` rewritten."""

    organization: str
    sign: str
    address: str
    detail: str
    file: str

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"  {self.sign} {self.address}{detail} ({self.file})"


@dataclass
class Adoption:
    """What adopt would write: the new text of each file that changes, and why."""

    raw: dict[str, bytes] = field(default_factory=dict)  # the files as read, to write safely
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return [name for name, text in self.after.items() if text != self.before[name]]

    def unified_diff(self) -> str:
        out: list[str] = []
        for name in self.changed:
            out += difflib.unified_diff(
                self.before[name].splitlines(keepends=True),
                self.after[name].splitlines(keepends=True),
                fromfile=name if Path(name).is_absolute() else f"a/{name}",
                tofile=name if Path(name).is_absolute() else f"b/{name}",
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


# --------------------------------------------------------------------------------------------


@dataclass
class _File:
    name: str
    doc: Document
    splicer: Splicer

    @property
    def root(self) -> MappingNode:
        assert isinstance(self.doc.root, MappingNode)
        return self.doc.root

    def section(self, key: str) -> Node | None:
        found = pair(self.root, key)
        return None if found is None else found[1]

    def keep_lists(self) -> None:
        for name in ("ip_ranges", "users"):
            found = pair(self.root, name)
            if found is not None and isinstance(found[1], SequenceNode):
                self.splicer.keep_a_list(found[0], found[1])


def adopt_org(desired: DesiredOrg, live: LiveState, texts: Mapping[str, str]) -> Adoption:
    """The edits that take `live` into the files of `desired` (their current `texts`)."""
    files: list[_File] = []
    for name in desired.files:
        diags: list[Diagnostic] = []
        doc = parse_text(texts[name], name, diags)
        if doc is None or not isinstance(doc.root, MappingNode):
            raise AdoptError(f"{name}: the file no longer reads as it did; nothing was written")
        files.append(_File(name, doc, Splicer(texts[name])))
    work = _Work(desired, live, files)
    try:
        work.settings()
        work.stores()
        work.ranges()
        work.users()
        for f in files:
            f.keep_lists()
            if f.splicer.edits and f.doc.shared:
                raise SpliceError(
                    None,
                    f"{f.name} uses a YAML alias or merge key (`*name`, `<<:`) for a list or "
                    "mapping, so one edit could change several places",
                )
    except SpliceError as exc:
        raise AdoptError(
            f"cannot edit in place: {exc.message}; nothing was written",
            hint="edit that part by hand (or remove the alias), then run adopt again",
        ) from None
    result = Adoption(notes=work.notes)
    for f in files:
        result.before[f.name] = texts[f.name]
        result.after[f.name] = f.splicer.result()
    return result


class _Work:
    def __init__(self, desired: DesiredOrg, live: LiveState, files: list[_File]) -> None:
        self.desired = desired
        self.live = live
        self.files = files
        self.org = desired.config.organization
        self.notes: list[Note] = []
        self.all_stores = sorted({s.id for s in live.stores})

    def note(self, sign: str, address: str, detail: str, file: _File) -> None:
        self.notes.append(Note(self.org, sign, address, detail, file.name))

    # -- settings -----------------------------------------------------------------------

    def settings(self) -> None:
        wanted = self.desired.config.settings.technical_support_access
        current = self.live.organization.technical_support_access
        if wanted is None or wanted == current:
            return
        for f in self.files:
            section = f.section("settings")
            if isinstance(section, MappingNode):
                text = "true" if current else "false"
                f.splicer.set_value(section, "technical_support_access", text)
                detail = f"{str(wanted).lower()} → {text}"
                self.note("~", "settings/technical_support_access", detail, f)
                return

    # -- stores -------------------------------------------------------------------------

    def stores(self) -> None:
        holder = next((f for f in self.files if f.section("stores") is not None), None)
        if holder is None:
            return
        section = holder.section("stores")
        if not isinstance(section, MappingNode):
            return
        declared = set(self.desired.config.stores)
        for store in sorted(self.live.stores, key=lambda s: s.id):
            if store.id in declared:
                continue
            later = next(
                (
                    k
                    for k, _ in section.value
                    if isinstance(k, ScalarNode) and str(k.value) > store.id
                ),
                None,
            )
            holder.splicer.insert_pair_before(
                section, later, scalar(store.id), scalar(store.name or store.id)
            )
            self.note("+", f"stores/{store.id}", store.name, holder)

    # -- ranges -------------------------------------------------------------------------

    def ranges(self) -> None:
        if self.live.ip_ranges is None or not ranges_managed(self.desired):
            return
        live_by_name = {r.name: r for r in self.live.ip_ranges}
        declared: list[tuple[_File, SequenceNode, int, MappingNode, str, str]] = []
        for f in self.files:
            seq = f.section("ip_ranges")
            if not isinstance(seq, SequenceNode):
                continue
            for i, item in enumerate(seq.value):
                if isinstance(item, MappingNode):
                    declared.append((f, seq, i, item, _text(item, "name"), _text(item, "cidr")))
        names = {name for *_, name, _ in declared}
        spare = [r for r in self.live.ip_ranges if r.name not in names]
        for f, seq, i, item, name, cidr in declared:
            have = live_by_name.get(name)
            if have is None:
                same = next((r for r in spare if cidr_key(r.cidr) == cidr_key(cidr)), None)
                if same is not None:  # a rename: the network is the same
                    spare.remove(same)
                    f.splicer.set_value(item, "name", scalar(same.name), RANGE_KEYS)
                    self.note("~", f"ip_ranges/{same.name}", f"renamed from {name}", f)
                else:
                    f.splicer.remove_item(seq, i)
                    self.note("-", f"ip_ranges/{name}", "", f)
            elif cidr_key(have.cidr) != cidr_key(cidr):
                f.splicer.set_value(item, "cidr", scalar(cidr_key(have.cidr)), RANGE_KEYS)
                self.note("~", f"ip_ranges/{name}", f"cidr {cidr} → {cidr_key(have.cidr)}", f)
        holder = next((f for f in self.files if f.section("ip_ranges") is not None), None)
        if holder is None or not spare:
            return
        seq = holder.section("ip_ranges")
        if not isinstance(seq, SequenceNode):
            raise SpliceError(seq, "`ip_ranges` is not a list")
        for rng in sorted(spare, key=lambda r: order_of(r.name)):
            self._insert(holder, seq, "name", rng.name, _range_pairs(rng))
            self.note("+", f"ip_ranges/{rng.name}", cidr_key(rng.cidr), holder)

    # -- users --------------------------------------------------------------------------

    def users(self) -> None:
        live_by_email = {normalise_email(u.email): u for u in self.live.users}
        models = {u.email: u for u in self.desired.config.users}
        declared: set[str] = set()
        for f in self.files:
            seq = f.section("users")
            if not isinstance(seq, SequenceNode):
                continue
            for i, item in enumerate(seq.value):
                if not isinstance(item, MappingNode):
                    continue
                email = normalise_email(_text(item, "email"))
                declared.add(email)
                have = live_by_email.get(email)
                if have is None or have.role == Role.TERMINATED.value:
                    why = "gone from live" if have is None else "Terminated on the platform"
                    f.splicer.remove_item(seq, i)
                    self.note("-", f"users/{email}", why, f)
                elif email in models:
                    self._user(f, item, models[email], have)
        if self.desired.config.policy.unmanaged_users == "ignore":
            return
        new = [
            u
            for email, u in sorted(live_by_email.items(), key=lambda kv: order_of(kv[0]))
            if email not in declared and u.role != Role.TERMINATED.value
        ]
        if not new:
            return
        holder = next((f for f in self.files if f.section("users") is not None), None)
        if holder is None:
            holder = self.files[0]
            end = len(holder.splicer.text)
            newline = holder.splicer.newline
            lines = "".join(f"  - {_flow(_user_pairs(u))}{newline}" for u in new)
            lead = "" if holder.splicer.text.endswith(("\n", "\r")) else newline
            holder.splicer.edits.append(Edit(end, end, f"{lead}users:{newline}{lines}"))
            for u in new:
                self.note("+", f"users/{normalise_email(u.email)}", u.role, holder)
            return
        seq = holder.section("users")
        if not isinstance(seq, SequenceNode):
            raise SpliceError(seq, "`users` is not a list")
        for u in new:
            self._insert(holder, seq, "email", normalise_email(u.email), _user_pairs(u))
            self.note("+", f"users/{normalise_email(u.email)}", u.role, holder)

    def _user(self, f: _File, item: MappingNode, user: User, have: LiveUser) -> None:
        after = desired_user_fields(user, self.all_stores)
        before = live_user_fields(have)
        splicer = f.splicer
        details: list[str] = []
        if after["type"] != before["type"]:
            details.append(f"type {after['type']} → {before['type']}")
            if have.type == "external":
                splicer.set_value(item, "type", "external", USER_KEYS)
            elif pair(item, "type") is not None:
                splicer.remove_key(item, "type")
        if after["role"] != before["role"]:
            details.append(f"role {after['role']} → {before['role']}")
            if have.type == "external" and have.role == Role.EXTERNAL_USER.value:
                if pair(item, "role") is not None:
                    splicer.set_value(item, "role", scalar(have.role), USER_KEYS)
            else:
                splicer.set_value(item, "role", scalar(have.role), USER_KEYS)
        if after["expires_at"] != before["expires_at"]:
            details.append(f"expires {after['expires_at']} → {before['expires_at']}")
            if have.expires_at is None:
                splicer.remove_key(item, "expires")
            else:
                splicer.set_value(item, "expires", have.expires_at.isoformat(), USER_KEYS)
        if after["stores"] != before["stores"]:
            details.append(f"stores {_list(after['stores'])} → {_list(before['stores'])}")
            stores = [scalar(s) for s in before["stores"]]
            found = pair(item, "stores")
            if found is not None and isinstance(found[1], SequenceNode) and not found[1].flow_style:
                if found[1].start_mark.index < found[0].end_mark.index:
                    raise SpliceError(found[0], "`stores` is written as an alias")
                column = found[1].value[0].start_mark.column - 2 if found[1].value else 0
                text = (splicer.newline + " " * column).join(f"- {s}" for s in stores)
                splicer.replace(found[1], text or "[]")
            else:
                splicer.set_value(item, "stores", "[" + ", ".join(stores) + "]", USER_KEYS)
        if details:
            self.note("~", f"users/{normalise_email(have.email)}", ", ".join(details), f)

    def _insert(
        self, f: _File, seq: SequenceNode, key: str, value: str, pairs: list[tuple[str, str]]
    ) -> None:
        """A new item in the order of `key` (case-insensitive), styled like its neighbour."""
        before = next(
            (
                i
                for i, item in enumerate(seq.value)
                if isinstance(item, MappingNode) and order_of(_text(item, key)) > order_of(value)
            ),
            None,
        )
        neighbour = seq.value[before if before is not None else -1] if seq.value else None
        flow = _flow(pairs)
        if isinstance(neighbour, MappingNode) and not neighbour.flow_style:
            dash = f.splicer.dash(neighbour)
            indent = " " * max(2, neighbour.start_mark.index - dash)
            block = "\n".join(
                ("- " if n == 0 else indent) + f"{k}: {v}" for n, (k, v) in enumerate(pairs)
            )
        else:
            block = f"- {flow}"
        f.splicer.insert_item(seq, before, flow, block)


def _text(mapping: MappingNode, key: str) -> str:
    found = pair(mapping, key)
    return str(found[1].value) if found is not None and isinstance(found[1], ScalarNode) else ""


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _flow(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def _user_pairs(user: LiveUser) -> list[tuple[str, str]]:
    """A live user as the pairs `export` writes (stores always a list, never `all`)."""
    pairs = [("email", scalar(normalise_email(user.email)))]
    if user.type == "external":
        if user.role != Role.EXTERNAL_USER.value:
            pairs.append(("role", scalar(user.role)))
        pairs.append(("type", "external"))
        if user.expires_at is not None:
            pairs.append(("expires", user.expires_at.isoformat()))
    else:
        pairs.append(("role", scalar(user.role)))
    pairs.append(("stores", _list([scalar(s) for s in sorted(set(user.stores))])))
    return pairs


def _range_pairs(rng: LiveRange) -> list[tuple[str, str]]:
    return [("name", scalar(rng.name)), ("cidr", scalar(cidr_key(rng.cidr)))]


# --------------------------------------------------------------------------------------------


def verify(
    paths: Sequence[str | Path],
    adoption: Adoption,
    lives: Mapping[str, LiveState],
    *,
    today: date,
) -> None:
    """The adopted files must load without errors and plan empty against `lives`; AdoptError
    (naming the first problems) otherwise."""
    from reconciler.config import load

    result = load(list(paths), today=today, texts=adoption.after)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors:
        shown = "; ".join(f"{d.file}:{d.line}: {d.code}: {d.message}" for d in errors[:3])
        raise AdoptError(
            f"the adopted configuration would not validate ({shown}); nothing was written",
            hint="this is a bug in adopt, or a part it cannot rewrite: edit the YAML by hand",
        )
    for org in result.orgs:
        live = lives.get(org.config.organization)
        if live is None:
            continue
        changes, findings = diff(org, live)
        left = [c.address for c in changes]
        left += [f.address or f.code for f in findings if f.code == "unmanaged_user"]
        if left:
            raise AdoptError(
                f"{org.config.organization}: after adopting, the plan would still show "
                f"{', '.join(left[:5])}; nothing was written",
                hint="edit that part of the YAML by hand",
            )


def adopt_paths(
    paths: Sequence[str | Path],
    *,
    today: date,
    environ: Mapping[str, str],
    api_url: str | None = None,
    only_org: str | None = None,
    progress: Progress | None = None,
) -> Adoption:
    """Fetch each organization's live state and take it into its files, checked (`verify`).
    Raises ConfigError before any network call when the config has errors; ApiError when a
    fetch fails; AdoptError when the result would not be right. Writes nothing."""
    from reconciler.api import fetch_many
    from reconciler.pipeline import load_desired, open_client

    orgs, _ = load_desired(paths, today=today, only_org=only_org)
    raw = read_files(orgs)
    texts = {name: data.decode("utf-8-sig") for name, data in raw.items()}
    clients = []
    try:
        for org in orgs:
            name = org.config.organization
            clients.append(open_client(name, org.config.api, environ, api_url, progress=progress))
        lives = fetch_many(clients)
    finally:
        for client in clients:
            client.close()
    adoption = Adoption(raw=raw)
    for org, live in zip(orgs, lives, strict=True):
        name = org.config.organization
        if live.organization.name != name:
            raise AdoptError(
                f"{name}: the token in {org.config.api.token_env} belongs to organization "
                f"{live.organization.name}; nothing was written",
                hint=f"use the token of {name}",
            )
        one = adopt_org(org, live, texts)
        adoption.before.update(one.before)
        adoption.after.update(one.after)
        adoption.notes += one.notes
    verify(
        paths,
        adoption,
        {org.config.organization: live for org, live in zip(orgs, lives, strict=True)},
        today=today,
    )
    return adoption


def read_files(orgs: Sequence[DesiredOrg]) -> dict[str, bytes]:
    raw: dict[str, bytes] = {}
    for org in orgs:
        for name in org.files:
            try:
                raw[name] = Path(name).read_bytes()
            except OSError as exc:
                raise AdoptError(f"cannot read {name}: {exc.strerror}") from None
    return raw


def write(adoption: Adoption) -> None:
    """Replace each changed file atomically (a BOM kept); a file that changed on disk since it
    was read is left as it is (AdoptError)."""
    from reconciler.atomic import ChangedOnDisk, write_text

    for name in adoption.changed:
        raw = adoption.raw
        bom = "\ufeff" if raw[name].startswith(b"\xef\xbb\xbf") else ""
        try:
            write_text(name, bom + adoption.after[name], expected=raw[name])
        except ChangedOnDisk:
            raise AdoptError(
                f"{name} changed while adopting; it was left as it is", hint="run adopt again"
            ) from None
        except OSError as exc:
            raise AdoptError(f"cannot write {name}: {exc.strerror or exc}") from None
