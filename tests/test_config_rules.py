"""One fixture per rule: each must produce exactly the expected (line, code) diagnostics."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.codes import CODES

FIXTURES = Path(__file__).parent / "fixtures" / "config"
TODAY = datetime.date(2026, 11, 22)

# fixture (file or folder) -> [(file name, line, column, severity, code)]
CASES: dict[str, list[tuple[str, int, int, str, str]]] = {
    "yaml_syntax.yaml": [("yaml_syntax.yaml", 5, 1, "error", "yaml_syntax")],
    "yaml_tab.yaml": [("yaml_tab.yaml", 3, 1, "error", "yaml_syntax")],
    "yaml_unsupported.yaml": [
        ("yaml_unsupported.yaml", 2, 8, "error", "yaml_unsupported"),
        ("yaml_unsupported.yaml", 2, 8, "error", "invalid_type"),
    ],
    "empty_file.yaml": [("empty_file.yaml", 1, 1, "error", "empty_file")],
    "not_a_mapping.yaml": [("not_a_mapping.yaml", 1, 1, "error", "invalid_type")],
    "duplicate_key.yaml": [("duplicate_key.yaml", 5, 5, "error", "duplicate_key")],
    "unknown_field.yaml": [("unknown_field.yaml", 5, 5, "error", "unknown_field")],
    "invalid_type.yaml": [("invalid_type.yaml", 3, 29, "error", "invalid_type")],
    "invalid_value.yaml": [("invalid_value.yaml", 3, 20, "error", "invalid_value")],
    "invalid_api_url.yaml": [("invalid_api_url.yaml", 3, 8, "error", "invalid_value")],
    "bool_not_true_or_false.yaml": [
        ("bool_not_true_or_false.yaml", 3, 29, "error", "invalid_type")
    ],
    "missing_field.yaml": [("missing_field.yaml", 3, 5, "error", "missing_field")],
    "missing_organization.yaml": [
        ("missing_organization.yaml", 1, 1, "error", "missing_organization")
    ],
    "invalid_email.yaml": [("invalid_email.yaml", 3, 12, "error", "invalid_email")],
    "unknown_role.yaml": [("unknown_role.yaml", 4, 11, "error", "unknown_role")],
    "inline_secret.yaml": [("inline_secret.yaml", 4, 3, "error", "inline_secret")],
    "inline_secret_url.yaml": [("inline_secret_url.yaml", 3, 8, "error", "inline_secret")],
    "inline_secret_value.yaml": [("inline_secret_value.yaml", 3, 14, "error", "inline_secret")],
    "cidr_host_bits.yaml": [("cidr_host_bits.yaml", 4, 11, "error", "cidr_host_bits")],
    "cidr_invalid.yaml": [("cidr_invalid.yaml", 4, 11, "error", "cidr_invalid")],
    "too_many_ranges.yaml": [("too_many_ranges.yaml", 53, 5, "error", "too_many_ranges")],
    "duplicate_range_name.yaml": [
        ("duplicate_range_name.yaml", 5, 11, "error", "duplicate_range_name")
    ],
    "overlapping_ranges.yaml": [
        ("overlapping_ranges.yaml", 6, 11, "warning", "overlapping_ranges")
    ],
    "duplicate_email.yaml": [("duplicate_email.yaml", 6, 12, "error", "duplicate_email")],
    "duplicate_email_with_a_broken_item.yaml": [  # reported with the error that dropped one
        ("duplicate_email_with_a_broken_item.yaml", 4, 11, "error", "unknown_role"),
        ("duplicate_email_with_a_broken_item.yaml", 6, 12, "error", "duplicate_email"),
    ],
    "external_without_expiry.yaml": [
        ("external_without_expiry.yaml", 3, 5, "error", "external_without_expiry")
    ],
    # a warning, never an error: the day access ends must not stop any pipeline
    "expiry_in_past.yaml": [("expiry_in_past.yaml", 5, 14, "warning", "expiry_in_past")],
    "expiry_soon.yaml": [("expiry_soon.yaml", 5, 14, "warning", "expiry_soon")],
    "internal_with_expiry.yaml": [
        ("internal_with_expiry.yaml", 5, 14, "error", "internal_with_expiry")
    ],
    "external_role.yaml": [("external_role.yaml", 5, 11, "error", "external_role")],
    "terminated_declared.yaml": [
        ("terminated_declared.yaml", 4, 11, "error", "terminated_declared")
    ],
    "missing_role.yaml": [("missing_role.yaml", 3, 5, "error", "missing_role")],
    # every user declares `stores`: the error is on the line of the user that lacks it
    "missing_stores.yaml": [
        ("missing_stores.yaml", 3, 5, "error", "missing_field"),
        ("missing_stores.yaml", 5, 5, "error", "missing_field"),
    ],
    "undeclared_store.yaml": [("undeclared_store.yaml", 7, 20, "error", "undeclared_store")],
    "duplicate_store_grant.yaml": [
        ("duplicate_store_grant.yaml", 5, 20, "warning", "duplicate_store_grant")
    ],
    "role_conflict_across_orgs": [("b.yaml", 4, 11, "error", "role_conflict_across_orgs")],
    "duplicate_section": [("b.yaml", 2, 1, "error", "duplicate_section")],
    "duplicate_store": [("b.yaml", 3, 3, "error", "duplicate_store")],
    "duplicate_email_across_files": [("b.yaml", 3, 12, "error", "duplicate_email")],
    # an internal user with the external users' role: the platform refuses it
    "external_role_internal_user.yaml": [
        ("external_role_internal_user.yaml", 4, 11, "error", "external_role")
    ],
    # `~:` is a null key: reported where it is, and the rest of the file is still checked
    "non_string_key.yaml": [
        ("non_string_key.yaml", 4, 13, "error", "duplicate_email"),
        ("non_string_key.yaml", 5, 5, "error", "external_without_expiry"),
        ("non_string_key.yaml", 6, 1, "error", "unknown_field"),
    ],
    # an unquoted numeric store id: at the key, and the grant of "1000001" is not undeclared
    "non_string_store_id.yaml": [("non_string_store_id.yaml", 3, 3, "error", "invalid_type")],
    # a broken `stores:` is one error, not one more per store granted
    "stores_not_a_map.yaml": [("stores_not_a_map.yaml", 2, 9, "error", "invalid_type")],
    "blank_organization.yaml": [("blank_organization.yaml", 1, 15, "error", "invalid_value")],
    "blank_range_name.yaml": [("blank_range_name.yaml", 4, 12, "error", "invalid_value")],
    "max_removals_bool.yaml": [("max_removals_bool.yaml", 3, 17, "error", "invalid_value")],
    "max_removals_over_100.yaml": [("max_removals_over_100.yaml", 3, 17, "error", "invalid_value")],
    # the second declaration is the alias on line 5, not its anchor on line 4
    "duplicate_email_alias.yaml": [
        ("duplicate_email_alias.yaml", 5, 5, "error", "duplicate_email")
    ],
    # U+2028, U+0085 and U+2029 in strings are not line breaks to an editor
    "line_breaks_in_strings.yaml": [
        ("line_breaks_in_strings.yaml", 7, 32, "error", "unknown_role")
    ],
    # 393 bytes of nested aliases standing for a billion values: refused at the anchor whose
    # aliases go over the limit, at once
    "alias_bomb.yaml": [("alias_bomb.yaml", 7, 4, "error", "yaml_unsupported")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_fixture(case: str) -> None:
    result = load([FIXTURES / case], today=TODAY)
    found = [
        (Path(d.source.file).name, d.source.line, d.source.column, d.severity, d.code)
        for d in result.diagnostics
    ]
    assert found == CASES[case]
    assert all(d.message for d in result.diagnostics)


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(CASES)


def test_every_code_reported_is_documented() -> None:
    codes = {code for expected in CASES.values() for *_, code in expected}
    assert codes <= set(CODES)


@pytest.mark.parametrize(
    ("case", "hint"),
    [
        ("unknown_role.yaml", "did you mean `Read Only`?"),
        ("cidr_host_bits.yaml", "use 10.0.0.0/24: host bits are set"),
        ("unknown_field.yaml", "did you mean `expires`?"),
        ("invalid_value.yaml", None),
        ("yaml_tab.yaml", "indent with spaces, not tabs"),
        ("non_string_store_id.yaml", 'write `"1000001"`: unquoted, YAML reads it as a number'),
        ("max_removals_bool.yaml", None),
    ],
)
def test_hints(case: str, hint: str | None) -> None:
    (diag,) = load([FIXTURES / case], today=TODAY).diagnostics
    assert diag.hint == hint


def test_a_user_without_stores_is_told_how_to_declare_them() -> None:
    found = load([FIXTURES / "missing_stores.yaml"], today=TODAY).diagnostics
    assert [(d.source.line, d.message, d.hint) for d in found] == [
        (
            line,
            f"missing required field `stores` in users[{index}]",
            "add `stores: all`, or a list of store ids such as `stores: [MID1000001]` "
            "(`stores: []` for none)",
        )
        for line, index in ((3, 0), (5, 1))
    ]


MESSAGES = {
    "external_role_internal_user.yaml": "internal user `j@t.example` has role `External User`",
    "non_string_store_id.yaml": "store id `1000001` must be a string; quote it",
    "blank_organization.yaml": (
        "organization: must not be blank: write the live organization's name"
    ),
    "blank_range_name.yaml": "ip_ranges[1].name: must not be blank: a range needs a name",
    "max_removals_bool.yaml": (
        "policy.max_removals: must be a whole number or a percentage such as `10%`, not `true`"
    ),
    "max_removals_over_100.yaml": (
        "policy.max_removals: `max_removals` must be a whole number or a percentage from 0% to "
        "100%, such as `10%`"
    ),
}


@pytest.mark.parametrize(("case", "message"), sorted(MESSAGES.items()))
def test_messages(case: str, message: str) -> None:
    (diag,) = load([FIXTURES / case], today=TODAY).diagnostics
    assert diag.message == message


def test_a_non_string_key_is_named_as_written() -> None:
    diags = load([FIXTURES / "non_string_key.yaml"], today=TODAY).diagnostics
    assert diags[-1].message == "unknown field `~` in the top level: keys must be plain words"
    assert diags[-1].hint is not None and diags[-1].hint.startswith("YAML reads `~` as null;")


def test_a_duplicate_through_an_alias_names_both_lines() -> None:
    (diag,) = load([FIXTURES / "duplicate_email_alias.yaml"], today=TODAY).diagnostics
    assert diag.source.line == 5
    assert diag.message.endswith(f"here and at {FIXTURES / 'duplicate_email_alias.yaml'}:4")


def test_cross_file_messages_name_both_places() -> None:
    folder = FIXTURES / "duplicate_email_across_files"
    (diag,) = load([folder], today=TODAY).diagnostics
    assert diag.source.file == str(folder / "b.yaml")
    assert f"{folder / 'a.yaml'}:3" in diag.message

    folder = FIXTURES / "role_conflict_across_orgs"
    (diag,) = load([folder], today=TODAY).diagnostics
    assert f"{folder / 'a.yaml'}:3" in diag.message
    assert "`Read Only` in `b` but `Admin` in `a`" in diag.message


def test_secret_values_are_never_echoed() -> None:
    for case in ("inline_secret.yaml", "inline_secret_url.yaml", "inline_secret_value.yaml"):
        for diag in load([FIXTURES / case], today=TODAY).diagnostics:
            text = f"{diag.message} {diag.hint}"
            assert "s3cr3t" not in text
            assert "hunter2" not in text
            assert "abcdefghijklmnop" not in text


def test_expiry_boundaries() -> None:
    case = FIXTURES / "expiry_soon.yaml"  # expires 2026-12-01
    codes = {
        day: [d.code for d in load([case], today=datetime.date(2026, 11, day)).diagnostics]
        for day in (16, 17, 30)
    }
    assert codes == {16: [], 17: ["expiry_soon"], 30: ["expiry_soon"]}
    # `expires` is the day access ends: on that day, and after, a warning and never an error
    for ended in (datetime.date(2026, 12, 1), datetime.date(2027, 6, 1)):
        result = load([case], today=ended)
        found = [(d.code, d.severity) for d in result.diagnostics]
        assert found == [("expiry_in_past", "warning")]
        assert not result.has_errors()
        (diag,) = result.diagnostics
        assert diag.message == (
            "external user `a@partner.example`: access ended on 2026-12-01 "
            "(`expires` is the day access ends)"
        )
        assert diag.hint is not None and diag.hint.startswith("remove the user from the YAML")


def test_path_not_found_and_empty_folder(tmp_path: Path) -> None:
    result = load([tmp_path / "nope.yaml", tmp_path], today=TODAY)
    assert [(d.code, d.source.line, d.source.column) for d in result.diagnostics] == [
        ("path_not_found", 1, 1),
        ("no_config_files", 1, 1),
    ]
    assert result.has_errors()
