"""The `X-Audit-Annotation` every mutating request carries (SPEC §6): who made the change, why,
and from which declaration — so an audit event leads back to a commit and a line of YAML.

The annotation is a compact JSON object of at most 4096 bytes. `--annotate` pairs may take half
of it (more is a usage error, before anything is sent). When CI metadata makes it larger, the
least important keys are dropped first: the run URL, the CI system, actor, ref and PR, then the
user's pairs (the last one given first), then the commit, and so on; `tool`, `plan` and `change`
are never dropped.

When the apply has a signing key (`$ACCESSCTL_PLAN_KEY`, else the organization's token: see
`reconciler.signing`), the annotation is sealed: `sig` is an HMAC over the organization, the
principal that sends the request and every other key of the annotation. `audit` counts an event
as accessctl's only when its seal checks for the event's own actor: a header copied or written by
another principal is reported as hand-made.

The environment is passed in as a mapping: nothing here reads `os.environ`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler import TOOL_NAME, __version__
from reconciler.errors import UsageError
from reconciler.model import normalise_email
from reconciler.plan import Change

MAX_ANNOTATION_BYTES = 4096
# The share `--annotate` pairs may take, so they are never dropped to make room for the rest.
MAX_EXTRA_BYTES = 2048

# Keys the tool writes, in the order they appear. `extra` pairs may not reuse them.
CORE_KEYS = ("tool", "version", "plan", "change", "source", "ci", "commit", "ref", "pr", "actor")
RUN_URL = "run_url"
SEAL = "sig"
# Room kept for `,"sig":"hmac-sha256:<64 hex>"` when the annotation is sealed.
SEAL_BYTES = 96
RESERVED = frozenset((*CORE_KEYS, RUN_URL, "step", SEAL))
NEVER_DROPPED = ("tool", "plan", "change")
# Least important first; the user's own pairs go between the CI details and the commit.
DROP_FIRST = (RUN_URL, "ci", "actor", "ref", "pr")
DROP_LAST = ("commit", "version", "source", "step")

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_GITHUB_PR_REF = re.compile(r"^refs/pull/(\d+)/(?:merge|head)$")


@dataclass(frozen=True)
class CiInfo:
    """What the CI environment tells about the run; every field optional."""

    system: str | None = None
    commit: str | None = None
    ref: str | None = None
    pr: str | None = None
    actor: str | None = None
    run_url: str | None = None

    def as_dict(self) -> dict[str, str]:
        values = {
            "ci": self.system,
            "commit": self.commit,
            "ref": self.ref,
            "pr": self.pr,
            "actor": self.actor,
            RUN_URL: self.run_url,
        }
        return {k: v for k, v in values.items() if v}


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _github_pr(environ: Mapping[str, str]) -> str | None:
    match = _GITHUB_PR_REF.match(environ.get("GITHUB_REF", ""))
    if match:
        return match.group(1)
    event_path = _get(environ, "GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    pull = event.get("pull_request")
    number = pull.get("number") if isinstance(pull, dict) else None
    return str(number) if isinstance(number, int) else None


def ci_from_environ(environ: Mapping[str, str]) -> CiInfo:
    """GitHub Actions or GitLab CI metadata, when the environment has it."""
    if environ.get("GITHUB_ACTIONS") == "true" or _get(environ, "GITHUB_RUN_ID"):
        server = _get(environ, "GITHUB_SERVER_URL") or "https://github.com"
        repo, run = _get(environ, "GITHUB_REPOSITORY"), _get(environ, "GITHUB_RUN_ID")
        return CiInfo(
            system="github-actions",
            commit=_get(environ, "GITHUB_SHA"),
            ref=_get(environ, "GITHUB_REF"),
            pr=_github_pr(environ),
            actor=_get(environ, "GITHUB_ACTOR"),
            run_url=f"{server.rstrip('/')}/{repo}/actions/runs/{run}" if repo and run else None,
        )
    if environ.get("GITLAB_CI") == "true" or _get(environ, "CI_JOB_URL"):
        return CiInfo(
            system="gitlab-ci",
            commit=_get(environ, "CI_COMMIT_SHA"),
            ref=_get(environ, "CI_COMMIT_REF_NAME"),
            pr=_get(environ, "CI_MERGE_REQUEST_IID"),
            actor=_get(environ, "GITLAB_USER_LOGIN"),
            run_url=_get(environ, "CI_JOB_URL"),
        )
    return CiInfo()


def parse_pairs(pairs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`--annotate k=v` values -> pairs; a malformed or reserved key is a usage error."""
    parsed: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise UsageError(
                f"--annotate {pair!r}: expected KEY=VALUE with a key of letters, digits, _ . -",
                hint="for example --annotate ticket=SEC-123",
            )
        if key in RESERVED:
            raise UsageError(
                f"--annotate {key}=…: `{key}` is written by accessctl itself",
                hint=f"pick another key; reserved: {', '.join(sorted(RESERVED))}",
            )
        parsed.append((key, value))
    size = sum(len(_encode({k: v})) for k, v in parsed)
    if size > MAX_EXTRA_BYTES:
        raise UsageError(
            f"--annotate: the pairs take {size:,} bytes as JSON; they may take at most "
            f"{MAX_EXTRA_BYTES:,} (the whole annotation holds {MAX_ANNOTATION_BYTES:,}, and the "
            "commit, plan, change and file:line need the rest)",
            hint="put a link or an id in the annotation, not the text itself",
        )
    return tuple(parsed)


def _encode(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def fit(data: dict[str, Any], extra_keys: Iterable[str], limit: int = MAX_ANNOTATION_BYTES) -> str:
    """Compact JSON of `data`, dropping keys until it fits in `limit` bytes: DROP_FIRST, then
    `extra_keys` from the last to the first, then DROP_LAST. Never drops NEVER_DROPPED."""
    data = dict(data)
    text = _encode(data)
    order = [*DROP_FIRST, *reversed(list(extra_keys)), *DROP_LAST]
    for key in order:
        if len(text.encode("ascii")) <= limit:
            break
        if key in data and key not in NEVER_DROPPED:
            del data[key]
            text = _encode(data)
    return text


def seal_of(key: str, organization: str, actor: str, annotation: Mapping[str, Any]) -> str:
    """The `sig` an annotation sent by `actor` to `organization` carries: HMAC-SHA256 keyed with
    `key` over the three, the annotation without its `sig` in canonical JSON."""
    body = {k: v for k, v in annotation.items() if k != SEAL}
    text = json.dumps(
        {"organization": organization, "actor": normalise_email(actor), "annotation": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    mac = hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()


def seal_holds(key: str, organization: str, actor: str, annotation: Mapping[str, Any]) -> bool:
    """True when `annotation` carries the seal `key` gives for `actor` in `organization`."""
    sig = annotation.get(SEAL)
    if not isinstance(sig, str):
        return False
    return hmac.compare_digest(seal_of(key, organization, actor, annotation), sig)


@dataclass(frozen=True)
class Sealer:
    """Who sends the requests, to which organization, and the key that seals their annotations."""

    organization: str
    actor: str
    key: str = field(repr=False)


@dataclass(frozen=True)
class AnnotationContext:
    """Everything an annotation holds besides the change itself; built once per run."""

    ci: CiInfo = field(default_factory=CiInfo)
    extra: tuple[tuple[str, str], ...] = ()
    tool: str = TOOL_NAME
    version: str = __version__
    sealer: Sealer | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], pairs: Iterable[str] = ()
    ) -> AnnotationContext:
        return cls(ci=ci_from_environ(environ), extra=parse_pairs(pairs))

    def sealed(self, organization: str, actor: str, key: str) -> AnnotationContext:
        """This context, sealing every annotation for `actor`'s requests to `organization`."""
        return replace(self, sealer=Sealer(organization, actor, key))

    def data_for(self, plan_id: str, change: Change, step: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {
            "tool": self.tool,
            "version": self.version,
            "plan": plan_id,
            "change": change.address,
        }
        if step:
            data["step"] = step
        if change.source is not None:
            data["source"] = str(change.source)
        data.update(self.ci.as_dict())
        for key, value in self.extra:
            data[key] = value
        return data

    def header_for(self, plan_id: str, change: Change, step: str = "") -> str:
        """The `X-Audit-Annotation` value for one request of `change` (sealed when a sealer is
        set: the seal covers the annotation as sent, after any key was dropped to fit)."""
        extra = [k for k, _ in self.extra]
        data = self.data_for(plan_id, change, step)
        if self.sealer is None:
            return fit(data, extra)
        fitted = json.loads(fit(data, extra, MAX_ANNOTATION_BYTES - SEAL_BYTES))
        sealer = self.sealer
        fitted[SEAL] = seal_of(sealer.key, sealer.organization, sealer.actor, fitted)
        return _encode(fitted)


def parse_annotation(value: Any) -> dict[str, Any] | None:
    """An audit event's stored annotation (a JSON string or an object) as a dict, or None."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None
