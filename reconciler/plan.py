"""Plans as data: `Change` values grouped per organization, with the fingerprint of the live state
they were computed from. Every renderer, the plan file and the executor read these values; the
JSON Schema in `schemas/plan.schema.json` is generated from them.

A change's `before`/`after` use the access API's field names (users: email, type, role, stores,
expires_at; ranges: name, cidr; settings: technical_support_access), so the executor builds a
request body from `after` (create) or from `after` restricted to `fields` (update).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler import __version__
from reconciler.atomic import write_text
from reconciler.errors import AccessctlError
from reconciler.findings import Finding as Finding
from reconciler.findings import Location
from reconciler.findings import Severity as Severity
from reconciler.live import LiveRange, LiveState, LiveUser
from reconciler.phases import Phase, phase_of

FORMAT_VERSION: Literal["1"] = "1"

Action = Literal["create", "update", "delete", "replace"]
Kind = Literal["settings", "ip_ranges", "users"]
SignedWith = Literal["token", "ACCESSCTL_PLAN_KEY"]

# The finding code of a live user that is not declared and kept (`unmanaged_users: report`),
# and the reason of a removal planned because a live user is not declared.
UNDECLARED = "unmanaged_user"
NOT_DECLARED = "not declared"

# The fields a plan sets on each kind of object: what diff compares, what a create sends, and
# (less the fixed ones: a user's email, and its type, whose change is a replace) what an update
# may send. One list for diff, apply and the dry run.
USER_FIELDS: tuple[str, ...] = ("email", "type", "role", "stores", "expires_at")
USER_FIXED_FIELDS: tuple[str, ...] = ("email", "type")
USER_UPDATE_FIELDS = tuple(f for f in USER_FIELDS if f not in USER_FIXED_FIELDS)
RANGE_FIELDS: tuple[str, ...] = ("name", "cidr")
SETTINGS_FIELDS: tuple[str, ...] = ("technical_support_access",)


class Change(BaseModel):
    """One difference between desired and live state, and the single API call that removes it
    (two for `replace`: DELETE then POST)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(description="users/<email>, ip_ranges/<name> or settings/<name>")
    kind: Kind
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: list[str] = Field(default_factory=list, description="Fields that change")
    source: Location | None = Field(default=None, description="Declaration that caused it")
    reason: str | None = Field(
        default=None,
        description=(
            "Why the change is planned when no declaration caused it: `not declared` for a live "
            "user removed because the YAML does not declare it (policy.unmanaged_users: remove)"
        ),
    )
    id: str | None = Field(default=None, description="Live object id (update, delete)")
    etag: str | None = Field(default=None, description="Live etag the change was computed on")

    # Typed reads of the address and payload, so no caller parses `users/<email>` or digs in
    # the `before`/`after` dicts.

    @property
    def name(self) -> str:
        """The object's key: a user's email (case-folded), a range's or a setting's name."""
        return address_name(self.address)

    @property
    def email(self) -> str | None:
        """The user's email (case-folded); None for a range or a setting."""
        return self.name if self.kind == "users" else None

    @property
    def range_name(self) -> str | None:
        """The IP range's name; None for a user or a setting."""
        return self.name if self.kind == "ip_ranges" else None

    @property
    def role_before(self) -> str | None:
        return _text(self.before, "role")

    @property
    def role_after(self) -> str | None:
        return _text(self.after, "role")

    @property
    def cidr_before(self) -> str | None:
        return _text(self.before, "cidr")

    @property
    def cidr_after(self) -> str | None:
        return _text(self.after, "cidr")


def address_of(kind: Kind, name: str) -> str:
    """`users/<email>`, `ip_ranges/<name>` or `settings/<name>`."""
    return f"{kind}/{name}"


def address_name(address: str) -> str:
    """The key in an address: `users/a@x.example` -> `a@x.example`."""
    return address.partition("/")[2]


def _text(side: dict[str, Any] | None, field: str) -> str | None:
    value = None if side is None else side.get(field)
    return None if value is None else str(value)


class Caller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str
    role: str
    ip: str


class OrgPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    organization: str
    api_url: str | None = None
    token_env: str | None = None
    live_fingerprint: str
    caller: Caller
    changes: list[Change] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    signature: str = Field(
        default="",
        description=(
            "HMAC-SHA256 over this organization's part of the plan (with the plan id, config "
            "digest and `signed_with`), keyed with $ACCESSCTL_PLAN_KEY when it was set, else "
            "with the organization's API token: `apply` refuses a saved plan that was edited "
            "after `plan` wrote it, or that was signed with another key."
        ),
    )

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def phase(self, change: Change) -> Phase:
        """`change`'s phase for this plan's caller: the one answer (the order of range changes
        depends on the caller's IP, which a change alone does not know)."""
        return phase_of(change, self.caller.ip)

    def ordered_changes(self) -> list[Change]:
        """Changes in execution order: by phase, then by address for a stable output."""
        return sorted(self.changes, key=lambda c: (self.phase(c), c.kind, c.address, c.action))


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal["1"] = FORMAT_VERSION
    plan_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__
    config_digest: str
    signed_with: SignedWith = Field(
        default="token",
        description=(
            "The key of every organization's signature: `ACCESSCTL_PLAN_KEY` (one key shared by "
            "the runs that plan and apply) or `token` (each organization's API token)."
        ),
    )
    orgs: list[OrgPlan]

    @property
    def changes(self) -> list[Change]:
        return [c for org in self.orgs for c in org.changes]

    @property
    def has_changes(self) -> bool:
        return any(org.changes for org in self.orgs)

    @property
    def is_safe(self) -> bool:
        return not any(org.violations for org in self.orgs)

    @property
    def undeclared(self) -> list[Finding]:
        """Live users the YAML does not declare, kept by `policy.unmanaged_users: report`: not
        changes, but drift all the same."""
        return [f for org in self.orgs for f in org.findings if f.code == UNDECLARED]

    @property
    def drifted(self) -> bool:
        """Live state differs from the YAML in a way the policy does not ignore: changes to
        make, or undeclared users reported (what `plan --detailed-exitcode` exits 2 for)."""
        return self.has_changes or bool(self.undeclared)


# --------------------------------------------------------------------------------------------
# Fingerprints and files


def org_signature(
    plan_id: str,
    config_digest: str,
    org: OrgPlan,
    key: str,
    organizations: Sequence[str],
    signed_with: SignedWith = "token",
) -> str:
    """The signature `org` should carry: HMAC-SHA256, keyed with `key` (the plan key or the
    organization's API token, as `signed_with` says), over everything `apply` acts on (changes,
    findings, the API and token variable, the caller, the live fingerprint), the plan id the
    idempotency keys derive from, and the plan's list of organizations in order (so none can be
    dropped, repeated or moved)."""
    body = org.model_dump(mode="json", exclude={"signature"})
    text = json.dumps(
        {
            "plan_id": plan_id,
            "config_digest": config_digest,
            "signed_with": signed_with,
            "organizations": list(organizations),
            "org": body,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    mac = hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()


def sign(plan: Plan, key_for: Callable[[OrgPlan], str], signed_with: SignedWith = "token") -> Plan:
    """`plan` with every organization signed with the key `key_for` gives for it."""
    names = [org.organization for org in plan.orgs]
    signed = [
        org.model_copy(
            update={
                "signature": org_signature(
                    plan.plan_id, plan.config_digest, org, key_for(org), names, signed_with
                )
            }
        )
        for org in plan.orgs
    ]
    return plan.model_copy(update={"orgs": signed, "signed_with": signed_with})


def signature_holds(plan: Plan, org: OrgPlan, key: str) -> bool:
    names = [o.organization for o in plan.orgs]
    expected = org_signature(plan.plan_id, plan.config_digest, org, key, names, plan.signed_with)
    return hmac.compare_digest(expected, org.signature)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(obj: LiveUser | LiveRange) -> Any:
    """An object's version: its etag (the contract changes it with every change to the object),
    or its whole content when an implementation sends none."""
    return obj.etag or obj.model_dump(mode="json")


def live_fingerprint(live: LiveState) -> str:
    """A digest of the live state that a plan depends on, independent of list order: any object
    added, removed or changed (new etag) changes it. The caller's IP is left out: a CI runner's
    address may change between plan and apply. No per-user serialisation when etags are present,
    so it stays cheap for 10,000 users."""
    ranges = None if live.ip_ranges is None else sorted([r.id, _version(r)] for r in live.ip_ranges)
    return _digest(
        {
            "organization": live.organization.model_dump(mode="json"),
            "stores": sorted(s.id for s in live.stores),
            "users": sorted([u.id, _version(u)] for u in live.users),  # ids are unique
            "ip_ranges": ranges,
        }
    )


def config_digest(texts: dict[str, str]) -> str:
    """A digest of the desired-state files (path -> text) the plan was computed from."""
    return _digest(texts)


def idempotency_key(
    plan_id: str, change: Change, step: str = "", organization: str = "", round: int = 0
) -> str:
    """Deterministic: a retry of the same saved plan, even by a new process, reuses the key. The
    organization is part of it: a plan inviting one email to two organizations sends two keys
    (an implementation may keep keys per token, or for all organizations at once). `round` 1
    is the retry after the other organizations ran (`role_conflict`): a new request, so a new
    key; a server replaying the first answer for a key would otherwise refuse it forever."""
    raw = f"{plan_id}|{organization}|{change.address}|{change.action}|{step}"
    if round:
        raw += f"|round{round}"
    return "accessctl-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write the plan as JSON, atomically: a reader never sees half a plan, and a symbolic
    link at `path` is replaced, never written through."""
    write_text(path, plan.model_dump_json(indent=2) + "\n", follow_symlinks=False)


# The largest saved plan read: a 100,000-user plan that changes everyone is about 60 MiB.
MAX_PLAN_BYTES = 256 * 1024 * 1024


def load_plan(path: str | Path) -> Plan:
    """The saved plan at `path`: only a regular file (a FIFO never hangs, `/dev/zero` never fills
    the memory), at most `MAX_PLAN_BYTES`, of this format version and shape."""
    from reconciler.config.files import Unreadable, read_config_bytes

    remake = "make a new one with `accessctl plan PATHS -o plan.json`"
    try:
        raw = read_config_bytes(Path(path), MAX_PLAN_BYTES, too_large="the limit for a saved plan")
        text = raw.decode("utf-8")
    except Unreadable as exc:
        raise AccessctlError(
            f"cannot read plan file {path}: {exc.reason.removeprefix('cannot read file: ')}",
            hint=f"give the plan file `plan -o` wrote; {remake}",
        ) from None
    except UnicodeDecodeError:
        raise AccessctlError(f"{path}: not a plan file (not UTF-8 text)", hint=remake) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AccessctlError(
            f"{path}:{exc.lineno}:{exc.colno}: not a plan file (invalid JSON: {exc.msg})",
            hint=f"was it cut short or edited by hand? {remake}",
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise AccessctlError(
            f"{path}: not an accessctl plan of format_version {FORMAT_VERSION}",
            hint="create it with `accessctl plan PATHS -o plan.json`",
        )
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AccessctlError(f"{path}: invalid plan file at {where}: {first['msg']}") from None


def plan_json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://accessctl.dev/schemas/plan.schema.json"
    schema["title"] = "accessctl plan"
    return schema


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(plan_json_schema(), indent=2, sort_keys=True))
