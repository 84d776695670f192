"""Reading the files adopt edits (as bytes, to write them back safely) and replacing the
changed ones atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reconciler.adopt.adoption import AdoptError, Adoption
from reconciler.model import DesiredOrg


def read_files(orgs: Sequence[DesiredOrg]) -> dict[str, bytes]:
    raw: dict[str, bytes] = {}
    for org in orgs:
        for name in org.files:
            try:
                raw[name] = Path(name).read_bytes()
            except OSError as exc:
                raise AdoptError(f"cannot read {name}: {exc.strerror}") from None
    return raw


def write(adoption: Adoption) -> None:
    """Replace each changed file atomically (a BOM kept); a file that changed on disk since it
    was read is left as it is (AdoptError)."""
    from reconciler.atomic import ChangedOnDisk, write_text

    for name in adoption.changed:
        raw = adoption.raw
        bom = "\ufeff" if raw[name].startswith(b"\xef\xbb\xbf") else ""
        try:
            write_text(name, bom + adoption.after[name], expected=raw[name])
        except ChangedOnDisk:
            raise AdoptError(
                f"{name} changed while adopting; it was left as it is", hint="run adopt again"
            ) from None
        except OSError as exc:
            raise AdoptError(f"cannot write {name}: {exc.strerror or exc}") from None
