"""Desired-state configuration: load YAML files with locations, merge the files of each
organization, and check every rule of SPEC §3, collecting all problems as diagnostics.

    result = load(["config/"], today=date.today())
    if result.has_errors():
        render_text(result.diagnostics, sys.stdout)

The core never prints and never raises for a user's mistake: everything is a Finding.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.config.diagnostics import (
    config_problem,
    located,
    render_github,
    render_json,
    render_text,
)
from reconciler.config.document import parse_text, read_document
from reconciler.config.files import discover
from reconciler.config.merge import MergedOrg, merge
from reconciler.config.rules import check_all
from reconciler.config.secrets import find_secrets
from reconciler.config.shape import FileConfig, check_shape
from reconciler.findings import Finding, Location
from reconciler.model import DesiredOrg, OrgConfig

__all__ = [
    "Finding",
    "LoadResult",
    "config_problem",
    "load",
    "render_github",
    "render_json",
    "render_text",
]


@dataclass
class LoadResult:
    """The organizations found (merged, one per name) and every problem, sorted by place."""

    orgs: list[DesiredOrg] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def has_errors(self, strict: bool = False) -> bool:
        """True when any diagnostic is an error (with `strict`, any warning counts too)."""
        return any(strict or d.is_error for d in self.diagnostics)

    def org(self, name: str) -> DesiredOrg | None:
        return next((o for o in self.orgs if o.config.organization == name), None)

    def only(self, name: str) -> LoadResult | None:
        """This result narrowed to the organization `name` (None when there is none): its files,
        and the problems in them or in files no organization could claim (a file that does not
        parse may be one of its own). Another organization's errors do not stop it."""
        org = self.org(name)
        if org is None:
            return None
        claimed = {path for other in self.orgs for path in other.files}
        mine = set(org.files)
        diagnostics = [
            d for d in self.diagnostics if (file := located(d).file) in mine or file not in claimed
        ]
        return LoadResult([org], diagnostics, [f for f in self.files if f in mine])


def load(
    paths: Sequence[str | os.PathLike[str]],
    *,
    today: datetime.date,
    texts: Mapping[str, str] | None = None,
) -> LoadResult:
    """Read, merge and check the config at `paths` (files or folders). Never raises for bad
    input; `today` decides which expiry dates are past or close. `texts` stands in for the
    contents of the files it names (by their shown name): how `adopt` checks what it would
    write before writing it."""
    diags: list[Finding] = []
    found = discover(paths, diags)
    configs: list[FileConfig] = []
    for path, shown in found:
        if texts is not None and shown in texts:
            doc = parse_text(texts[shown], shown, diags)
        else:
            doc = read_document(path, shown, diags)
        if doc is None:
            continue
        reported = find_secrets(doc, diags)
        config = check_shape(doc, diags, reported)
        if config is not None:
            configs.append(config)
    merged = merge(configs, diags)
    check_all(merged, today, diags)
    files = [shown for _, shown in found]
    rank = {name: i for i, name in enumerate(files)}
    diags.sort(key=_place(rank))
    return LoadResult([_desired(org) for org in merged], diags, files)


def _place(rank: Mapping[str, int]) -> Callable[[Finding], tuple[int, int, int]]:
    """Sorts problems by file (in the order given), line and column."""

    def place(diag: Finding) -> tuple[int, int, int]:
        source = located(diag)
        return rank.get(source.file, -1), source.line, source.column

    return place


def _desired(org: MergedOrg) -> DesiredOrg:
    users = {}
    user_sources: dict[str, Location] = {}
    for entry in org.users:
        if entry.user.email not in users:
            users[entry.user.email] = entry.user
            user_sources[entry.user.email] = entry.locate()
    ranges = {}
    range_sources: dict[str, Location] = {}
    for item in org.ranges:
        if item.range.name not in ranges:
            ranges[item.range.name] = item.range
            range_sources[item.range.name] = item.locate()
    first = org.files[0]
    sections = {name: org.sections[name].config for name in org.sections}
    settings_file = org.sections.get("settings")
    # `ip_ranges` left out of every file leaves the live ranges alone; `ip_ranges: []` empties them.
    declared = any("ip_ranges" in f.config.model_fields_set for f in org.files)
    range_field: dict[str, Any] = {"ip_ranges": list(ranges.values())} if declared else {}
    # Every part was validated with its file; constructing skips validating 10,000 users twice.
    config = OrgConfig.model_construct(
        organization=org.name,
        api=sections["api"].api if "api" in sections else first.config.api,
        settings=sections["settings"].settings if "settings" in sections else first.config.settings,
        policy=sections["policy"].policy if "policy" in sections else first.config.policy,
        stores=dict(org.stores),
        users=list(users.values()),
        **range_field,
    )
    return DesiredOrg(
        config=config,
        files=tuple(f.doc.file for f in org.files),
        user_sources=user_sources,
        range_sources=range_sources,
        settings_source=settings_file.doc.locate(("settings",), key=True)
        if settings_file
        else None,
        organization_source=first.doc.locate(("organization",)),
    )
