"""Carry a plan out: ordered phases, bounded concurrency, retry-safe requests, audit annotations,
and a journal that lets an interrupted apply of a saved plan be re-run to convergence."""

from __future__ import annotations

from reconciler.apply.calls import ApiCall, ApplyClient, calls_for
from reconciler.apply.dryrun import RecordedRequest, RecordingClient
from reconciler.apply.executor import (
    ApplyEvent,
    ApplyResult,
    ChangeResult,
    execute,
)
from reconciler.apply.journal import Journal, JournalWriter, journal_path, read_journal
from reconciler.apply.runs import OrgRun, apply_runs, check_safe, check_saved, check_signed, dry_run

__all__ = [
    "ApiCall",
    "ApplyClient",
    "ApplyEvent",
    "ApplyResult",
    "ChangeResult",
    "Journal",
    "JournalWriter",
    "OrgRun",
    "RecordedRequest",
    "RecordingClient",
    "apply_runs",
    "calls_for",
    "check_safe",
    "check_saved",
    "check_signed",
    "dry_run",
    "execute",
    "journal_path",
    "read_journal",
]
