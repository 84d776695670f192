"""The wheel, installed away from the source tree, is the tool the README describes.

Builds the wheel from a copy of the sources, installs it into two fresh virtual environments —
one plain, one with the `emulator` extra — and runs the installed `accessctl` from a temporary
directory. No network: the fresh environments see only the already-installed distributions that
accessctl's requirements name (followed transitively, through a `.pth` file pointing at a folder
of links), so pip resolves the requirements offline and a missing requirement fails the install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from reconciler import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sysconfig.get_paths()["purelib"])


def _closure(requirements: list[str], extras: set[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions that `requirements` (with `extras`) need, transitively."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        requirement, wanted = todo.pop()
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in (wanted or {""})
        ):
            continue
        dist = metadata.distribution(requirement.name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found and not requirement.extras:
            continue
        found[key] = dist
        todo += [(Requirement(r), set(requirement.extras)) for r in dist.requires or []]
    return found


def _link_folder(dists: dict[str, metadata.Distribution], folder: Path) -> Path:
    """A folder of links to the top-level files of `dists` in this environment's site-packages."""
    folder.mkdir()
    for dist in dists.values():
        for file in dist.files or []:
            top = Path(str(file)).parts[0]
            if top == ".." or (folder / top).exists():
                continue
            (folder / top).symlink_to(SITE / top)
    return folder


def _requirements(extra: str | None) -> list[str]:
    """accessctl's own requirements as the wheel declares them (read from pyproject via pip)."""
    declared = metadata.distribution("accessctl").requires or []
    chosen = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.name == "accessctl":
            continue
        if requirement.marker is None or (
            extra is not None and requirement.marker.evaluate({"extra": extra})
        ):
            requirement.marker = None  # chosen: follow it unconditionally
            chosen.append(str(requirement))
    return chosen


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("reconciler", "config-examples"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source)),
        ],
        check=True,
        cwd=source,
    )
    (built,) = out.glob("accessctl-*.whl")
    return built


def _install(wheel: Path, where: Path, extra: str | None) -> Path:
    """A fresh virtual environment holding the wheel (and, by link, its requirements)."""
    venv.create(where / "env", with_pip=False)
    env = where / "env"
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    links = _link_folder(_closure(_requirements(extra), set()), where / "deps")
    Path(purelib, "accessctl-test-deps.pth").write_text(f"{links}\n", encoding="utf-8")
    target = "accessctl" + (f"[{extra}]" if extra else "")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-index", "--find-links", str(wheel.parent), target),
        ],
        check=True,
        cwd=where,
    )
    return env / "bin" / "accessctl"


def _run(accessctl: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ["NO_COLOR"] = "1"
    return subprocess.run(
        [str(accessctl), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wheel_ships_the_demo_files(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "reconciler/examples/acme-eu.yaml" in names
    assert "reconciler/examples/demo-seed.json" in names
    assert "reconciler/py.typed" in names


def test_installed_without_the_emulator_extra(wheel: Path, tmp_path: Path) -> None:
    accessctl = _install(wheel, tmp_path, None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = _run(accessctl, "--version", cwd=elsewhere)
    assert (version.returncode, version.stdout) == (0, f"accessctl, version {__version__}\n")
    # The installed package, not the source tree, answers.
    where = _run(
        accessctl.parent / "python",
        "-c",
        "import reconciler; print(reconciler.__file__)",
        cwd=elsewhere,
    )
    assert str(tmp_path / "env") in where.stdout, where.stdout + where.stderr
    missing = _run(accessctl.parent / "python", "-c", "import fastapi", cwd=elsewhere)
    assert missing.returncode != 0
    for args in (["demo"], ["emulator", "serve", "--port", "0"]):
        result = _run(accessctl, *args, cwd=elsewhere)
        assert result.returncode == 1, result.stderr
        assert "install accessctl[emulator]" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    validate = _run(accessctl, "validate", str(ROOT / "config-examples"), cwd=elsewhere)
    assert validate.returncode == 0, validate.stderr


def test_installed_with_the_emulator_extra_the_demo_runs_anywhere(
    wheel: Path, tmp_path: Path
) -> None:
    accessctl = _install(wheel, tmp_path, "emulator")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = _run(accessctl, "--version", cwd=elsewhere)
    assert (version.returncode, version.stdout) == (0, f"accessctl, version {__version__}\n")
    demo = _run(accessctl, "demo", cwd=elsewhere)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo complete in" in demo.stdout
    assert "No changes." in demo.stdout
