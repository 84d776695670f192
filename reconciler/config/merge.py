"""Files that name the same organization merge: lists concatenate, `stores` maps join, and
`api`, `settings` and `policy` may be set in one file per organization only."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.config.diagnostics import config_problem
from reconciler.config.shape import FileConfig
from reconciler.findings import Finding, Location
from reconciler.model import IpRange, User

SINGLE_SECTIONS = ("api", "settings", "policy")


@dataclass(frozen=True)
class UserEntry:
    user: User
    file: FileConfig
    index: int  # position in the file's `users` list

    def locate(self, *path: str | int) -> Location:
        return self.file.doc.locate(("users", self.index, *path))


@dataclass(frozen=True)
class RangeEntry:
    range: IpRange
    file: FileConfig
    index: int

    def locate(self, *path: str | int) -> Location:
        return self.file.doc.locate(("ip_ranges", self.index, *path))


@dataclass
class MergedOrg:
    name: str
    files: list[FileConfig]
    sections: dict[str, FileConfig] = field(default_factory=dict)  # api/settings/policy owner
    stores: dict[str, str] = field(default_factory=dict)
    store_files: dict[str, FileConfig] = field(default_factory=dict)
    users: list[UserEntry] = field(default_factory=list)
    ranges: list[RangeEntry] = field(default_factory=list)

    @property
    def emails(self) -> list[tuple[str, FileConfig, int]]:
        """Every declared email with its file and index in `users`, in file order, including users
        dropped for a shape error (their other rules wait until the shape is fixed; duplicates
        do not)."""
        order = {id(f): n for n, f in enumerate(self.files)}
        found = [(e.user.email, e.file, e.index) for e in self.users]
        found += [(email, f, i) for f in self.files for email, i in f.dropped_emails]
        found.sort(key=lambda t: (order[id(t[1])], t[2]))
        return found

    @property
    def declares_stores(self) -> bool:
        return any("stores" in f.sections for f in self.files)

    @property
    def known_stores(self) -> dict[str, str] | None:
        """The declared stores to check grants against; None when no file declares any, or when
        a file's `stores:` was dropped for an error (every grant would be reported as well)."""
        if not self.declares_stores or any("stores" in f.broken for f in self.files):
            return None
        return self.stores


def merge(files: list[FileConfig], diags: list[Finding]) -> list[MergedOrg]:
    """Group files by organization, in the order the organizations first appear."""
    orgs: dict[str, MergedOrg] = {}
    for file in files:
        name = file.config.organization.strip()
        org = orgs.setdefault(name, MergedOrg(name, []))
        org.files.append(file)
        _add(org, file, diags)
    return list(orgs.values())


def _add(org: MergedOrg, file: FileConfig, diags: list[Finding]) -> None:
    for section in SINGLE_SECTIONS:
        if section not in file.sections:
            continue
        owner = org.sections.get(section)
        if owner is None:
            org.sections[section] = file
            continue
        src = file.doc.locate((section,), key=True)
        first = owner.doc.locate((section,), key=True)
        diags.append(
            config_problem(
                src.file,
                src.line,
                src.column,
                "duplicate_section",
                f"`{section}` for organization `{org.name}` is already set at {first}",
                f"set `api`, `settings` and `policy` in one file of `{org.name}` only",
            )
        )
    for store_id, label in file.config.stores.items():
        owner = org.store_files.get(store_id)
        if owner is None:
            org.stores[store_id] = label
            org.store_files[store_id] = file
            continue
        src = file.doc.locate(("stores", store_id), key=True)
        first = owner.doc.locate(("stores", store_id), key=True)
        diags.append(
            config_problem(
                src.file,
                src.line,
                src.column,
                "duplicate_store",
                f"store `{store_id}` is already declared at {first}",
                "declare each store once per organization",
            )
        )
    org.users.extend(
        UserEntry(user, file, index)
        for user, index in zip(file.config.users, file.user_index, strict=True)
    )
    org.ranges.extend(
        RangeEntry(rng, file, index)
        for rng, index in zip(file.config.ip_ranges, file.range_index, strict=True)
    )
