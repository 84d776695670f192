"""Output files of `plan -o` and `export -o`: a folder that does not exist or a file that cannot be
written is an error naming the path (before any fetch where possible), never a traceback; and
`export --org` is checked against the token's organization, not silently ignored."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.emulators import EmulatorPool

from reconciler.cli import cli
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "standard",
            "technical_support_access": False,
            "stores": [{"id": "MID1", "name": "Web"}],
            "users": [{"email": "root@acme.example", "role": "Super Admin", "stores": "all"}],
            "tokens": [{"token": "tok-root", "email": "root@acme.example"}],
        }
    ]
}
CONFIG = """\
organization: acme-eu
api: {token_env: ACME_TOKEN}
stores: {MID1: Web}
users:
  - {email: root@acme.example, role: Super Admin, stores: all}
"""
UNREACHABLE = "http://127.0.0.1:1/api/v1"  # nothing listens: proves no fetch was tried


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _invoke(args: list[str], url: str) -> tuple[int, str]:
    env = {"ACME_TOKEN": "tok-root", "ACCESSCTL_API_URL": url}
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


def test_plan_out_into_a_missing_folder_fails_before_fetching(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "no" / "plan.json"
    code, output = _invoke(["plan", str(config), "-o", str(out)], UNREACHABLE)
    assert code == 1
    assert output == (
        f"Error: -o {out}: the folder {out.parent} does not exist\n"
        f"Hint: create it first (mkdir -p {out.parent}), or write somewhere else\n"
    )


def test_export_out_into_a_missing_folder_fails_before_fetching(tmp_path: Path) -> None:
    out = tmp_path / "no" / "acme.yaml"
    args = ["export", "--token-env", "ACME_TOKEN", "-o", str(out)]
    code, output = _invoke(args, UNREACHABLE)
    assert code == 1
    assert output == (
        f"Error: -o {out}: the folder {out.parent} does not exist\n"
        f"Hint: create it first (mkdir -p {out.parent}), or write somewhere else\n"
    )


def test_plan_out_that_cannot_be_written(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = Path("/proc/self/plan.json")  # the folder exists; no file can be made in it
    code, output = _invoke(["plan", str(config), "-o", str(out)], emu.base_url)
    assert code == 1
    assert f"Error: cannot write {out}: No such file or directory\n" in output
    assert "unexpected error" not in output


def test_plan_out_through_a_dangling_symlink_is_refused_before_fetching(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "plan.json"
    out.symlink_to(tmp_path / "gone" / "plan.json")  # it was written through before
    code, output = _invoke(["plan", str(config), "-o", str(out)], UNREACHABLE)
    assert code == 1
    assert output == (
        f"Error: -o {out} is a symbolic link; a plan is not written through one\n"
        "Hint: remove it or save the plan elsewhere, e.g. -o plan.json\n"
    )


def test_export_out_that_cannot_be_written(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "acme.yaml"

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)  # the disk fills while the file is written
    args = ["export", "--token-env", "ACME_TOKEN", "-o", str(out)]
    code, output = _invoke(args, emu.base_url)
    assert code == 1
    assert output == f"Error: cannot write {out}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one


def test_export_org_must_be_the_tokens_organization(emu: EmulatorProcess) -> None:
    args = ["export", "--token-env", "ACME_TOKEN", "--org", "globex"]
    code, output = _invoke(args, emu.base_url)
    assert code == 1
    assert output == (
        "Error: --org globex: the token in ACME_TOKEN belongs to organization acme-eu, "
        "not globex; nothing was written\n"
        "Hint: use the token of globex, or leave out --org\n"
    )
    code, output = _invoke([*args[:-1], "acme-eu"], emu.base_url)
    assert code == 0
    assert "organization: acme-eu\n" in output


def test_export_from_a_config_must_get_the_configs_organization(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = tmp_path / "globex.yaml"
    config.write_text(CONFIG.replace("acme-eu", "globex"), encoding="utf-8")
    out = tmp_path / "globex-live.yaml"
    code, output = _invoke(["export", str(config), "-o", str(out)], emu.base_url)
    assert code == 1
    assert output == (
        f"Error: {config} is for globex: the token in ACME_TOKEN belongs to organization "
        "acme-eu, not globex; nothing was written\n"
        "Hint: use the token of globex\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("out", ["acme.yaml", "plan.yaml", "sub/plan.yml", "other.YML"])
def test_plan_out_is_never_yaml(tmp_path: Path, out: str) -> None:
    folder = tmp_path / "access"
    (folder / "sub").mkdir(parents=True)
    config = folder / "acme.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    target = folder / out
    code, output = _invoke(["plan", str(folder), "-o", str(target)], UNREACHABLE)
    assert (code, output) == (
        1,
        f"Error: -o {target}: a saved plan is JSON, and a .yaml file may be a configuration\n"
        "Hint: save it as .json, e.g. -o plan.json\n",
    )
    assert config.read_text(encoding="utf-8") == CONFIG
    assert sorted(p.name for p in folder.iterdir()) == ["acme.yaml", "sub"]


def test_plan_out_never_replaces_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "acme.conf"  # a file named on the command line is read whatever its name
    config.write_text(CONFIG, encoding="utf-8")
    code, output = _invoke(["plan", str(config), "-o", str(config)], UNREACHABLE)
    assert code == 1
    assert output.startswith(f"Error: -o {config} is one of the configuration files being read")
    assert config.read_text(encoding="utf-8") == CONFIG


def test_plan_out_as_json_inside_the_config_folder_is_fine(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    (tmp_path / "acme.yaml").write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "plan.json"
    code, output = _invoke(["plan", str(tmp_path), "-o", str(out)], emu.base_url)
    assert code == 0, output
    assert out.exists()
