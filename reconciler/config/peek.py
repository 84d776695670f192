"""The head of a configuration file, read before the file is: its organization and `api` block.

A plan of a large file fetches the live state while the YAML is being read and checked (see
`pipeline.plan_paths`). Where to fetch from is written at the top of the file (`organization`,
then `api`, in the order fmt keeps); this reads the parser's first events only, and gives up on
anything unusual (an anchor, a tag, an `api` written further down): the file is then read first
and fetched after, as for any small file. What it finds is a guess, checked against the
validated configuration before a fetched state is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.config.files import Unreadable, read_config_bytes

# Events read at most: `organization` and `api` come first in a formatted file.
_HEAD_EVENTS = 40


@dataclass(frozen=True)
class Head:
    organization: str
    url: str | None
    token_env: str | None


def read_head(path: Path) -> Head | None:
    """The organization and API a file declares at its top, or None when not plainly there."""
    from ruamel.yaml.events import (
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
    )

    from reconciler.config.document import parse_events

    try:
        text = read_config_bytes(path).decode("utf-8-sig")
    except (Unreadable, UnicodeDecodeError):
        return None
    if "%YAML" in text[:4096]:
        return None
    found: dict[str, str] = {}
    depth = 0
    section = ""
    key: str | None = None
    try:
        for count, event in enumerate(parse_events(text, pure=False)):
            if count > _HEAD_EVENTS or getattr(event, "anchor", None) is not None:
                return None
            kind = event.__class__
            if kind is MappingStartEvent:
                depth += 1
                if (depth == 2 and key != "api") or depth > 2 or event.ctag is not None:
                    return None
                section, key = ("api" if depth == 2 else ""), None
            elif kind is MappingEndEvent:
                depth -= 1
                section, key = "", None
                if depth == 0 or "organization" in found:
                    break  # the end of the file's mapping, or of `api` with the name read
            elif kind is ScalarEvent:
                if event.ctag is not None or depth == 0:
                    return None
                if key is None:
                    key = event.value
                    if depth == 1 and key not in ("organization", "api"):
                        break  # past the head
                else:
                    found[f"{section}.{key}" if section else key] = event.value
                    key = None
            elif depth > 0:  # a list, an alias: not a plain head
                return None
    except Exception:  # a file that does not parse is the loader's to report
        return None
    organization = found.get("organization")
    if not organization or ("api.url" not in found and "api.token_env" not in found):
        return None
    return Head(organization.strip(), found.get("api.url"), found.get("api.token_env"))
