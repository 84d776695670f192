"""`accessctl orgs`: the organization list CI builds its drift matrix from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

ACME = """\
organization: acme-eu
api: {token_env: ACME_EU_TOKEN}
users:
  - {email: alice@acme.example, role: Admin, stores: all}
"""
GLOBEX_USERS = """\
organization: globex
users:
  - {email: bob@globex.example, role: User, stores: all}
"""
GLOBEX_SETTINGS = """\
organization: globex
settings: {technical_support_access: false}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "acme-eu.yaml").write_text(ACME)
    (tmp_path / "globex").mkdir()
    (tmp_path / "globex" / "users.yaml").write_text(GLOBEX_USERS)
    (tmp_path / "globex" / "settings.yaml").write_text(GLOBEX_SETTINGS)
    return tmp_path


def test_text_lists_one_name_a_line(config: Path) -> None:
    result = CliRunner().invoke(cli, ["orgs", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output == "acme-eu\nglobex\n"


def test_json_is_one_line_shaped_for_a_matrix(config: Path) -> None:
    result = CliRunner().invoke(cli, ["orgs", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert json.loads(result.output) == [
        {
            "organization": "acme-eu",
            "paths": [str(config / "acme-eu.yaml")],
            "token_env": "ACME_EU_TOKEN",
        },
        {
            "organization": "globex",
            "paths": [
                str(config / "globex" / "settings.yaml"),
                str(config / "globex" / "users.yaml"),
            ],
            "token_env": None,
        },
    ]


def test_config_errors_exit_1_with_diagnostics_and_no_list(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "organization: acme-eu\nusers:\n  - {email: x@y.example, role: Boss}\n"
    )
    result = CliRunner().invoke(cli, ["orgs", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "bad.yaml:3:" in result.stderr


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["orgs", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "path_not_found" in result.stderr


def test_the_example_configs() -> None:
    root = Path(__file__).resolve().parent.parent / "config-examples"
    result = CliRunner().invoke(cli, ["orgs", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    found = {entry["organization"]: entry for entry in json.loads(result.output)}
    assert set(found) == {"acme-eu", "globex", "initech"}
    assert found["acme-eu"]["token_env"] == "ACME_EU_TOKEN"
    assert len(found["globex"]["paths"]) == 3  # a folder of files, merged


def _fleet(folder: Path, count: int) -> dict[str, int]:
    """`count` organizations of uneven sizes (1 to 40 users), one file each; name -> users."""
    sizes = {}
    for number in range(count):
        name = f"org-{number:04d}"
        users = 1 + (number * 7919) % 40
        sizes[name] = users
        lines = [f"organization: {name}", f"api: {{token_env: TOKEN_{number:04d}}}", "users:"]
        lines += [
            f"  - {{email: u{k}@{name}.example, role: User, stores: all}}" for k in range(users)
        ]
        (folder / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return sizes


def test_groups_pack_a_thousand_organizations_into_balanced_jobs(tmp_path: Path) -> None:
    sizes = _fleet(tmp_path, 1000)
    result = CliRunner().invoke(cli, ["orgs", str(tmp_path), "--format", "json", "--groups", "200"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)
    assert len(groups) == 200
    assert [g["group"] for g in groups] == [f"{n}/200" for n in range(1, 201)]
    listed = [name for g in groups for name in g["organizations"]]
    assert sorted(listed) == sorted(sizes)  # every organization once
    for group in groups:
        assert group["paths"] == [str(tmp_path / f"{name}.yaml") for name in group["organizations"]]
        assert group["token_envs"] == [f"TOKEN_{name[4:]}" for name in group["organizations"]]
        assert group["size"] == sum(1 + sizes[name] for name in group["organizations"])
    loads = [g["size"] for g in groups]
    # Balanced: no job carries more than the average plus one organization's size.
    assert max(loads) - min(loads) <= 41
    assert max(loads) <= sum(loads) / len(loads) + 41


def test_groups_never_outnumber_organizations_and_text_names_them(config: Path) -> None:
    result = CliRunner().invoke(cli, ["orgs", str(config), "--format", "json", "--groups", "5"])
    groups = json.loads(result.output)
    assert [g["organizations"] for g in groups] == [["acme-eu"], ["globex"]]
    text = CliRunner().invoke(cli, ["orgs", str(config), "--groups", "1"])
    assert (text.exit_code, text.output) == (0, "1/1: acme-eu globex\n")


def test_groups_refuses_more_than_a_matrix_holds(config: Path) -> None:
    result = CliRunner().invoke(cli, ["orgs", str(config), "--groups", "257"])
    assert result.exit_code == 1
    assert "257 is not in the range 1<=x<=256" in result.output
