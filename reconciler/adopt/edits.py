"""The edits that take a live state into the files of one organization (`adopt_org`): settings,
stores, ranges and users, each at the text span of the value that differs."""

from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from reconciler.adopt.adoption import AdoptError, Adoption, Note
from reconciler.adopt.yaml_file import (
    YamlFile,
    flow,
    list_text,
    range_pairs,
    text_of,
    user_pairs,
)
from reconciler.config.canonical import KEY_ORDER, order_of
from reconciler.config.document import parse_text
from reconciler.config.splice import Edit, SpliceError, Splicer, pair, scalar
from reconciler.diff import cidr_key, desired_user_fields, live_user_fields, ranges_managed
from reconciler.findings import Finding
from reconciler.live import LiveState, LiveUser
from reconciler.model import DesiredOrg, User, normalise_email
from reconciler.roles import Role

USER_KEYS = KEY_ORDER["users"]
RANGE_KEYS = KEY_ORDER["ip_ranges"]


def adopt_org(desired: DesiredOrg, live: LiveState, texts: Mapping[str, str]) -> Adoption:
    """The edits that take `live` into the files of `desired` (their current `texts`)."""
    files: list[YamlFile] = []
    for name in desired.files:
        diags: list[Finding] = []
        doc = parse_text(texts[name], name, diags, nodes=True)
        if doc is None or not isinstance(doc.root, MappingNode):
            raise AdoptError(f"{name}: the file no longer reads as it did; nothing was written")
        files.append(YamlFile(name, doc, Splicer(texts[name])))
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
    _keep_canonical(result)
    return result


def _keep_canonical(adoption: Adoption) -> None:
    """A file that was in `fmt`'s canonical form stays in it. An edit in place can leave it out
    of order (a range renamed on the portal keeps its place in a list sorted by name), and a
    pre-commit `fmt --check` would then refuse adopt's own output. A file that was not canonical
    keeps its order: only the changed text is touched, as before."""
    from ruamel.yaml.error import YAMLError

    from reconciler.config.reformat import Unformattable, format_text

    for name in adoption.changed:
        before = adoption.before[name]
        try:
            if format_text(before) == before:
                adoption.after[name] = format_text(adoption.after[name])
        except (Unformattable, YAMLError, RecursionError):
            continue  # left as edited: `verify` still checks it


class _Work:
    def __init__(self, desired: DesiredOrg, live: LiveState, files: list[YamlFile]) -> None:
        self.desired = desired
        self.live = live
        self.files = files
        self.org = desired.config.organization
        self.notes: list[Note] = []
        self.all_stores = sorted({s.id for s in live.stores})

    def note(self, sign: str, address: str, detail: str, file: YamlFile) -> None:
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
        declared: list[tuple[YamlFile, SequenceNode, int, MappingNode, str, str]] = []
        for f in self.files:
            seq = f.section("ip_ranges")
            if not isinstance(seq, SequenceNode):
                continue
            for i, item in enumerate(seq.value):
                if isinstance(item, MappingNode):
                    declared.append((f, seq, i, item, text_of(item, "name"), text_of(item, "cidr")))
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
            holder.insert_sorted(seq, "name", rng.name, range_pairs(rng))
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
                email = normalise_email(text_of(item, "email"))
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
        if new:
            self._add_users(new)

    def _add_users(self, new: list[LiveUser]) -> None:
        """Live users not declared, in email order, to the first file that holds `users:` (or
        to a `users:` section at the end of the first file)."""
        holder = next((f for f in self.files if f.section("users") is not None), None)
        if holder is None:
            holder = self.files[0]
            end = len(holder.splicer.text)
            newline = holder.splicer.newline
            lines = "".join(f"  - {flow(user_pairs(u))}{newline}" for u in new)
            lead = "" if holder.splicer.text.endswith(("\n", "\r")) else newline
            holder.splicer.edits.append(Edit(end, end, f"{lead}users:{newline}{lines}"))
            for u in new:
                self.note("+", f"users/{normalise_email(u.email)}", u.role, holder)
            return
        seq = holder.section("users")
        if not isinstance(seq, SequenceNode):
            raise SpliceError(seq, "`users` is not a list")
        for u in new:
            holder.insert_sorted(seq, "email", normalise_email(u.email), user_pairs(u))
            self.note("+", f"users/{normalise_email(u.email)}", u.role, holder)

    def _user(self, f: YamlFile, item: MappingNode, user: User, have: LiveUser) -> None:
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
            details.append(f"stores {list_text(after['stores'])} → {list_text(before['stores'])}")
            stores = [scalar(s) for s in before["stores"]]
            found = pair(item, "stores")
            if found is not None and isinstance(found[1], SequenceNode) and not found[1].flow_style:
                if found[1].start_mark.index < found[0].end_mark.index:
                    raise SpliceError(found[0], "`stores` is written as an alias")
                column = found[1].value[0].start_mark.column - 2 if found[1].value else 0
                text = (splicer.newline + " " * column).join(f"- {s}" for s in stores)
                # `[]` on the line of the `-` it replaces, indented past its key
                below = found[1].start_mark.column <= found[0].start_mark.column
                splicer.replace(found[1], text or ("  []" if below else "[]"))
            else:
                splicer.set_value(item, "stores", "[" + ", ".join(stores) + "]", USER_KEYS)
        if details:
            self.note("~", f"users/{normalise_email(have.email)}", ", ".join(details), f)
