"""Which files a list of paths means: a file is itself; a folder is every `.yaml`/`.yml` file
under it (hidden ones skipped), in a stable order."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.config.diagnostics import Diagnostic

SUFFIXES = (".yaml", ".yml")


def discover(
    paths: Sequence[str | os.PathLike[str]], diags: list[Diagnostic]
) -> list[tuple[Path, str]]:
    """(path, name shown in diagnostics) for every config file, each file once."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        shown = os.fspath(raw)
        if path.is_dir():
            visible = [
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            files = sorted(p for p in visible if p.is_file())
            for broken in sorted(p for p in visible if p.is_symlink() and not p.exists()):
                name = os.path.join(shown, *broken.relative_to(path).parts)
                diags.append(
                    Diagnostic(name, 1, 1, "error", "path_not_found", "a symbolic link to nothing")
                )
            if not files:
                diags.append(
                    Diagnostic(
                        shown,
                        1,
                        1,
                        "error",
                        "no_config_files",
                        "the folder holds no .yaml or .yml files",
                    )
                )
            candidates = [(p, os.path.join(shown, *p.relative_to(path).parts)) for p in files]
        elif path.exists():
            candidates = [(path, shown)]
        else:
            diags.append(
                Diagnostic(shown, 1, 1, "error", "path_not_found", "no such file or folder")
            )
            continue
        for candidate, name in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append((candidate, name))
    return found
