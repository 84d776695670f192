"""load(): merged organizations with sources, the config examples, normalisation, the schema."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from reconciler.config import LoadResult, load
from reconciler.config.schema import json_schema, render
from reconciler.findings import Location
from reconciler.roles import Role

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "config-examples"
TODAY = datetime.date(2026, 11, 22)


def _example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.y*ml"))


@pytest.mark.parametrize("today", [TODAY, datetime.date.today()], ids=["pinned", "real"])
def test_examples_validate_clean(today: datetime.date) -> None:
    result = load(_example_files(), today=today)
    assert result.diagnostics == []
    assert {o.config.organization for o in result.orgs} >= {"acme-eu", "globex", "initech"}


def test_examples_start_with_the_schema_line() -> None:
    for path in _example_files():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        relative = Path(*[".."] * len(path.relative_to(EXAMPLES).parts))
        assert first == f"# yaml-language-server: $schema={relative}/schemas/accessctl.schema.json"


def test_acme_eu_is_realistic() -> None:
    (org,) = load([EXAMPLES / "acme-eu.yaml"], today=TODAY).orgs
    assert len(org.config.ip_ranges) >= 20
    assert any(u.type == "external" for u in org.config.users)
    assert any(u.role is Role.ADMIN for u in org.config.users)
    assert len(org.config.stores) >= 4


def test_folder_merges_into_one_org_with_sources() -> None:
    result = load([EXAMPLES / "globex"], today=TODAY)
    (org,) = result.orgs
    folder = str(EXAMPLES / "globex")
    assert result.files == [f"{folder}/main.yaml", f"{folder}/team-payments.yaml",
                            f"{folder}/team-support.yaml"]  # fmt: skip
    assert org.files == tuple(result.files)
    assert len(org.config.users) == 6
    assert org.config.policy.max_removals == 5
    assert org.config.settings.technical_support_access is True
    assert org.user_sources["mindy@globex.example"] == Location(
        f"{folder}/team-payments.yaml", 8, 5
    )
    assert org.range_sources["HQ Cypress Creek"] == Location(f"{folder}/main.yaml", 19, 5)
    assert org.settings_source == Location(f"{folder}/main.yaml", 8, 1)
    assert org.organization_source == Location(f"{folder}/main.yaml", 4, 15)
    assert set(org.user_sources) == {u.email for u in org.config.users}


def test_normalises_harmless_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: t\n"
        "ip_ranges:\n  - {name: ' Office ', cidr: '10.0.0.0 / 24'}\n"
        "users:\n  - {email: ' Alice@Example.COM ', role: Admin, stores: all}\n"
        "policy: {protected: [Alice@Example.com]}\n",
        encoding="utf-8",
    )
    result = load([path], today=TODAY)
    assert result.diagnostics == []
    (org,) = result.orgs
    assert org.config.users[0].email == "alice@example.com"
    assert org.config.ip_ranges[0].name == "Office"
    assert org.config.ip_ranges[0].cidr == "10.0.0.0/24"
    assert org.config.policy.protected == ["alice@example.com"]
    assert list(org.user_sources) == ["alice@example.com"]


def test_has_errors_strict_counts_warnings() -> None:
    result = load([ROOT / "tests/fixtures/config/expiry_soon.yaml"], today=TODAY)
    assert isinstance(result, LoadResult)
    assert not result.has_errors()
    assert result.has_errors(strict=True)


def test_invalid_items_are_dropped_but_others_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: t\nusers:\n"
        "  - {email: a@t.example, role: Admn, stores: all}\n"
        "  - {email: b@t.example, type: external, expires: 2026-11-01, color: red, stores: []}\n",
        encoding="utf-8",
    )
    result = load([path], today=TODAY)
    assert [(d.source.line, d.code) for d in result.diagnostics] == [
        (3, "unknown_role"),
        (4, "expiry_in_past"),
        (4, "unknown_field"),
    ]
    assert [u.email for u in result.orgs[0].config.users] == ["b@t.example"]


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("organization: t\nsettings: {}\norganization: u\n", encoding="utf-8")
    (diag,) = load([path], today=TODAY).diagnostics
    assert (diag.source.line, diag.code) == (3, "duplicate_key")
    assert "line 1" in diag.message


def test_aliases_and_merge_keys_are_followed(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: t\n"
        "x-defaults: &d {role: Read Only, stores: [MID1]}\n"
        "users:\n  - {<<: *d, email: a@t.example}\n",
        encoding="utf-8",
    )
    result = load([path], today=TODAY)
    assert [(d.source.line, d.code) for d in result.diagnostics] == [(2, "unknown_field")]


def test_schema_file_is_current() -> None:
    published = (ROOT / "schemas" / "accessctl.schema.json").read_text(encoding="utf-8")
    assert published == render(), (
        "schemas/accessctl.schema.json is stale; regenerate it with "
        "`python -m reconciler.config.schema > schemas/accessctl.schema.json`"
    )


def test_schema_describes_the_format() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["organization"]
    assert set(schema["properties"]) == {
        "organization", "api", "settings", "policy", "stores", "ip_ranges", "users",
    }  # fmt: skip
    roles = schema["$defs"]["Role"]["enum"]
    assert "Read Only" in roles
    json.dumps(schema)


def test_ranges_left_out_stay_unmanaged_but_an_empty_list_is_declared(tmp_path: Path) -> None:
    omitted = tmp_path / "omitted.yaml"
    omitted.write_text("organization: a\nusers: []\n", encoding="utf-8")
    emptied = tmp_path / "emptied.yaml"
    emptied.write_text("organization: b\nip_ranges: []\n", encoding="utf-8")
    result = load([omitted, emptied], today=datetime.date(2026, 11, 22))
    by_name = {org.config.organization: org.config for org in result.orgs}
    assert "ip_ranges" not in by_name["a"].model_fields_set
    assert "ip_ranges" in by_name["b"].model_fields_set


def test_yaml_1_1_yes_turns_support_access_on(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "%YAML 1.1\n---\norganization: t\n"
        "api: {url: http://127.0.0.1:8765/api/v1, token_env: T}\n"  # parsed by ruamel.yaml's own
        "settings: {technical_support_access: yes}\n",
        encoding="utf-8",
    )
    result = load([path], today=TODAY)
    assert result.diagnostics == []
    assert result.orgs[0].config.settings.technical_support_access is True


def test_a_user_with_a_non_string_key_keeps_the_rest_checked(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: t\nstores: {1000001: Web shop, MID2: Kiosk}\nusers:\n"
        "  - {email: a@t.example, role: Admin, 5: x, stores: all}\n"
        "  - {email: b@p.example, type: external, expires: 2026-01-01, stores: []}\n",
        encoding="utf-8",
    )
    result = load([path], today=TODAY)
    assert [(d.source.line, d.source.column, d.code) for d in result.diagnostics] == [
        (2, 10, "invalid_type"),  # store id `1000001` must be a string
        (4, 39, "unknown_field"),  # `5`
        (5, 51, "expiry_in_past"),
    ]
    assert list(result.orgs[0].config.stores) == ["MID2", "1000001"]
    assert [u.email for u in result.orgs[0].config.users] == ["a@t.example", "b@p.example"]


def test_a_dangling_link_in_a_folder_is_an_error_not_a_missing_file(tmp_path: Path) -> None:
    """A config file that silently went missing could make a plan remove its users."""
    (tmp_path / "a.yaml").write_text("organization: acme\nusers: []\n", encoding="utf-8")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "gone.yaml")
    result = load([tmp_path], today=datetime.date(2026, 11, 22))
    assert [(d.source.file, d.source.line, d.code, d.message) for d in result.diagnostics] == [
        (str(tmp_path / "b.yaml"), 1, "path_not_found", "a symbolic link to nothing")
    ]
    assert result.has_errors()
