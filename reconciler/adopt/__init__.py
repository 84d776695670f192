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

A file that was in `fmt`'s canonical form is put back in it after the edits (a range renamed
in place may have left its list out of order). The result is checked before anything is
written: it must load without errors, and `plan` on it must be empty against the live state it
was made from. Otherwise nothing is written.

Here is the door (`adopt_paths`, `verify`); the edits of one organization are in `edits` (on
each file as a `yaml_file.YamlFile`), what they amount to in `adoption`, and reading and writing
the files in `disk`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.adopt.adoption import AdoptError, Adoption, Note
from reconciler.adopt.disk import read_files, write
from reconciler.adopt.edits import adopt_org
from reconciler.diff import diff
from reconciler.live import LiveState

if TYPE_CHECKING:
    from reconciler.pipeline import Progress

__all__ = [
    "AdoptError",
    "Adoption",
    "Note",
    "adopt_org",
    "adopt_paths",
    "read_files",
    "verify",
    "write",
]


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
    from reconciler.config.diagnostics import located

    result = load(list(paths), today=today, texts=adoption.after)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors:
        shown = "; ".join(f"{located(d)}: {d.code}: {d.message}" for d in errors[:3])
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
