"""The journal of a saved plan's apply: `plan.json.journal`, JSON lines, fsynced per line.

Why: a saved plan is refused once the live state differs from the one it was computed on — and
an apply that was killed half-way has changed the live state itself. The journal records the live
objects' etags when the apply started and every change that completed (with the etag it
produced), so a re-run of `accessctl apply plan.json` can tell *its own* partial work from a
change made by someone else:

- every object not touched by a pending change must be exactly as the journal predicts
  (start etags, updated by the completed changes), otherwise the plan is stale, as before;
- objects of pending changes may differ only because the killed run's in-flight request landed;
  the executor re-reads them (resume mode) instead of trusting a 412.

Completed changes are not sent again; in-flight creates are replayed with the same
`Idempotency-Key`, so nobody is invited twice. A fully applied plan removes its journal.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from reconciler.apply.executor import ApplyEvent
from reconciler.errors import AccessctlError, StalePlanError
from reconciler.live import LiveState
from reconciler.plan import Change, OrgPlan


def journal_path(plan_path: str | Path) -> Path:
    return Path(f"{plan_path}.journal")


@contextmanager
def one_apply_at_a_time(plan_path: str | Path) -> Iterator[None]:
    """Hold the saved plan at `plan_path` for one apply, from the journal's first read to its
    last write: two applies of one plan at once would write one journal, and the first to end
    would remove it under the other (which then said its progress was kept there). The lock is
    the kernel's (`flock`), so a killed apply leaves none behind. Without `fcntl` (Windows)
    there is no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(plan_path, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AccessctlError(
                f"another `accessctl apply {plan_path}` is running (it holds the saved plan); "
                "nothing was sent",
                hint="wait for it to end, then run this again: a run that stopped part-way is "
                "resumed from its journal",
            ) from None
        except OSError:  # a file system without locks (ENOLCK): the run goes on unguarded
            pass
        yield


def object_etags(live: LiveState) -> dict[str, str]:
    """`organization`, `users/<id>`, `ip_ranges/<id>` -> etag."""
    etags = {"organization": live.organization.etag}
    etags.update({f"users/{u.id}": u.etag for u in live.users})
    etags.update({f"ip_ranges/{r.id}": r.etag for r in live.ip_ranges or ()})
    return etags


def _key(change: Change, object_id: str | None) -> str:
    return "organization" if change.kind == "settings" else f"{change.kind}/{object_id}"


class JournalWriter:
    """Appends records; safe to call from the executor's event callback (any thread)."""

    def __init__(self, path: Path, plan_id: str) -> None:
        self.path = path
        self.plan_id = plan_id
        self._lock = threading.Lock()
        fresh = not path.exists()
        self._handle: TextIO = path.open("a", encoding="utf-8")
        if fresh:
            self._write({"type": "plan", "plan_id": plan_id})

    def _write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._handle.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def start(self, organization: str, live: LiveState) -> None:
        self._write({"type": "start", "organization": organization, "etags": object_etags(live)})

    def record(self, event: ApplyEvent) -> None:
        if event.status != "applied":
            return
        response = event.response if isinstance(event.response, dict) else {}
        self._write(
            {
                "type": "applied",
                "organization": event.organization,
                "address": event.change.address,
                "action": event.change.action,
                "id": response.get("id"),
                "etag": response.get("etag"),
            }
        )

    def close(self, *, remove: bool = False) -> None:
        self._handle.close()
        if remove:
            self.path.unlink(missing_ok=True)


@dataclass
class _OrgJournal:
    start: dict[str, str] | None = None
    applied: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@dataclass
class Journal:
    """What an interrupted apply of one plan left behind."""

    plan_id: str
    orgs: dict[str, _OrgJournal]

    def done(self, organization: str) -> frozenset[tuple[str, str]]:
        org = self.orgs.get(organization)
        return frozenset(org.applied) if org else frozenset()

    def started(self, organization: str) -> bool:
        org = self.orgs.get(organization)
        return org is not None and org.start is not None

    def check_resume(self, org_plan: OrgPlan, live: LiveState) -> None:
        """Raise StalePlanError when the live state differs from what the interrupted apply
        explains: someone else changed something since."""
        journal = self.orgs[org_plan.organization]
        expected: dict[str, str | None] = dict(journal.start or {})
        pending_keys: set[str] = set()
        pending_names: set[str] = set()
        for change in org_plan.changes:
            entry = journal.applied.get((change.address, change.action))
            if entry is None:
                if change.action in ("create", "replace"):
                    pending_names.add(change.address.casefold())
                if change.action != "create":
                    pending_keys.add(_key(change, change.id))
                continue
            if change.action in ("delete", "replace"):
                expected.pop(_key(change, change.id), None)
            if change.action != "delete":
                expected[_key(change, entry.get("id") or change.id)] = entry.get("etag")
        actual = object_etags(live)
        names = {f"users/{u.id}": f"users/{u.email.casefold()}" for u in live.users}
        names.update({f"ip_ranges/{r.id}": f"ip_ranges/{r.name}" for r in live.ip_ranges or ()})
        for key in sorted(set(expected) | set(actual)):
            if key in pending_keys:
                continue
            if key not in expected and names.get(key, "").casefold() in pending_names:
                continue  # the killed run's in-flight create landed
            want = expected.get(key, "<absent>")
            have = actual.get(key, "<absent>")
            if want is not None and want != have:
                raise StalePlanError(
                    f"saved plan is stale: the live state of {org_plan.organization} changed "
                    f"since the interrupted apply ({names.get(key, key)} is not as it left it); "
                    "run plan again"
                )


def read_journal(path: Path, plan_id: str) -> Journal | None:
    """The journal for `plan_id`, or None (no file, or one written for another plan)."""
    if not path.exists():
        return None
    orgs: dict[str, _OrgJournal] = {}
    with path.open(encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # a torn last line from a killed process
    if not records or records[0].get("plan_id") != plan_id:
        return None
    for record in records[1:]:
        org = orgs.setdefault(str(record.get("organization")), _OrgJournal())
        if record.get("type") == "start" and org.start is None:
            org.start = dict(record.get("etags") or {})
        elif record.get("type") == "applied":
            # The first record is the one with the API's answer; a resumed run reports the
            # changes it found done again, without an id or etag.
            org.applied.setdefault((str(record["address"]), str(record["action"])), record)
    return Journal(plan_id, orgs)
