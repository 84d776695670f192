"""What `apply` shows, as text for the CLI to write: the question before anything is sent, a line
per change as it completes (above a progress bar on a terminal), the dry run's requests, and the
result as a summary line or JSON. Live names and API messages are shown through `visible`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from reconciler.apply.dryrun import RecordedRequest
from reconciler.apply.executor import DONE_BEFORE, ApplyEvent, ApplyResult
from reconciler.apply.session import ApplyOutcome
from reconciler.display import visible
from reconciler.errors import AccessctlError
from reconciler.plan import Plan
from reconciler.redact import redact
from reconciler.render import Counts

BAR_WIDTH = 30


def confirmation(plan: Plan) -> str:
    """What apply asks before it sends anything: per organization, the counts and the API host."""
    lines = ["Do you want to apply these changes?"]
    for org in plan.orgs:
        if not org.changes:
            continue
        n = Counts.of(org.changes)
        host = urlsplit(org.api_url or "").netloc or "the configured API"
        lines.append(
            f"  {org.organization} at {host}: {n.add} to add, {n.change} to change, "
            f"{n.remove} to remove"
        )
    lines.append("  Only 'yes' will be accepted to approve.")
    return "\n".join(lines)


class EventLines:
    """The text for each event: one line per change applied, failed or skipped; on a terminal
    each line goes above a progress bar drawn again after it. Changes an interrupted run already
    applied (from the journal) are not this run's: neither shown nor counted here."""

    def __init__(self, total: int, *, tty: bool) -> None:
        self.total, self.tty = total, tty
        self.finished = 0
        self.failed = 0
        self._last: dict[tuple[str, str, str], str] = {}  # a change retried is counted once

    def __call__(self, event: ApplyEvent) -> str:
        """The text to write for `event`, newlines included ("" for none)."""
        if event.status == "started" or event.message == DONE_BEFORE:
            return ""
        change = event.change
        key = (event.organization, change.address, change.action)
        previous = self._last.get(key)
        self._last[key] = event.status
        self.finished += previous is None
        self.failed += (event.status == "failed") - (previous == "failed")
        where = f" {change.source}" if change.source else ""
        line = f"{event.status} {change.address} ({change.action}){where}"
        if event.status != "applied" and event.message:
            line += f": {event.message}"
        line = visible(line)  # live names and API messages may hold control characters
        if not self.tty:
            return line + "\n"
        bar = "#" * (BAR_WIDTH * self.finished // max(1, self.total))
        return (
            f"\r\033[K{line}\n"  # above the bar, which is drawn again below it
            f"\r\033[KApplying [{bar:<{BAR_WIDTH}}] {self.finished}/{self.total}"
            + (f" ({self.failed} failed)" if self.failed else "")
            + ("\n" if self.finished == self.total else "")
        )


def outcome_text(outcome: ApplyOutcome) -> str:
    """A dry run's requests, or the summary of what was applied (without a final newline)."""
    if outcome.requests is not None:
        return dry_run_text(outcome.plan, outcome.requests)
    return summary(outcome.result)


def outcome_json(outcome: ApplyOutcome) -> str:
    if outcome.requests is not None:
        return json.dumps({"dry_run": True, "requests": [r.as_dict() for r in outcome.requests]})
    return result_json(outcome.result)


def dry_run_text(plan: Plan, requests: Sequence[RecordedRequest]) -> str:
    """The requests an apply would send, each with its full URL (without a final newline)."""
    if not requests:
        return "\nDry run: nothing to send."
    urls = {org.organization: org.api_url or "" for org in plan.orgs}
    shown = "".join(r.render(urls.get(r.organization, "")) + "\n\n" for r in requests)
    return (
        f"\nDry run: the requests apply would send ({len(requests)}):\n\n"
        f"{shown}Dry run: {len(requests)} requests not sent."
    )


def summary(result: ApplyResult) -> str:
    line = (
        f"Apply complete: {result.count('applied')} applied, {result.count('failed')} failed, "
        f"{result.count('skipped')} skipped."
    )
    before = result.done_before()
    if before:
        line += (
            f" {before} more {'was' if before == 1 else 'were'} applied before the "
            "interruption (from the journal)."
        )
    return line


def result_json(result: ApplyResult) -> str:
    data = {
        "ok": result.ok,
        "applied": result.count("applied"),
        "applied_before": result.done_before(),
        "failed": result.count("failed"),
        "skipped": result.count("skipped"),
        "changes": [r.as_dict() for r in result.results],
    }
    return json.dumps(data, indent=2)


def error_json(error: AccessctlError) -> str:
    """Why nothing (more) was applied, for a tool that reads stdout; secrets masked."""
    data = {"ok": False, "error": redact(error.message), "hint": redact(error.hint or "")}
    return json.dumps(data, indent=2)
