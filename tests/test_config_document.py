"""The fast loader reads every scalar exactly as ruamel.yaml's own safe loader does: it swaps in a
quicker tag resolver (reconciler/config/document.py), so it must never change an answer; and what
libyaml refuses but YAML 1.2 allows (an unquoted URL in a flow mapping) is read by ruamel.yaml's
own parser."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.config import secrets
from reconciler.config.document import parse_text
from reconciler.findings import Finding, Location

# Plain scalars whose YAML 1.2 type is easy to get wrong: ints in several bases, floats,
# infinities, booleans and nulls in their spellings, YAML 1.1 spellings that 1.2 reads as strings,
# dates, times, numbers with underscores, leading signs and zeros.
TRICKY = [
    "0", "-0", "+1", "007", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.5", "-2.5e-3", ".5",
    ".inf", "-.inf", "+.inf", ".Inf", ".INF", "~", "null", "Null", "NULL", "true", "True", "TRUE",
    "false", "False", "yes", "no", "on", "off", "Yes", "y", "n", "2027-01-31",
    "2027-01-31T10:20:30", "2027-01-31 10:20:30", "12:30", "1:20:30", "0.", "-", "+", ".",
    "e3", "1e", "0x", "MID1234567", "Read Only", "203.0.113.0/24", "a@b.example", "all", "<<x",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._@/+-]{0,15}[A-Za-z0-9]", fullmatch=True),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False, width=32).map(repr),
)


def _same(mine: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and isinstance(mine, float):
        return mine == theirs or (math.isnan(mine) and math.isnan(theirs))
    if isinstance(theirs, datetime | date):
        return mine == theirs or (
            isinstance(theirs, datetime) and isinstance(mine, datetime)
            and mine.replace(tzinfo=None) == theirs.replace(tzinfo=None)
        )  # fmt: skip
    return bool(type(mine) is type(theirs) and mine == theirs)


@settings(max_examples=300, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=12))
def test_scalars_read_as_ruamel_reads_them(values: list[str]) -> None:
    text = "".join(f"k{i}: {v}\n" for i, v in enumerate(values)) + "seq: [" + ", ".join(
        v for v in values if "," not in v and not v.startswith(("[", "{"))
    ) + "]\n"  # fmt: skip
    try:
        theirs = YAML(typ="safe", pure=False).load(text)  # same C parser, stock resolver
    except Exception:
        try:  # libyaml is stricter than YAML 1.2 in places; ruamel's own parser is the reference
            theirs = YAML(typ="safe", pure=True).load(text)
        except Exception:  # not valid YAML: the loader must then report, not guess
            assert parse_text(text, "t.yaml", diags := []) is None
            assert diags and diags[0].code == "yaml_syntax"
            return
    diags: list[Any] = []
    doc = parse_text(text, "t.yaml", diags)
    assert doc is not None, diags
    mine = doc.data
    assert list(mine) == list(theirs)
    for key in theirs:
        if isinstance(theirs[key], list):
            assert len(mine[key]) == len(theirs[key])
            pairs = zip(mine[key], theirs[key], strict=True)
            assert all(_same(a, b) for a, b in pairs), (key, mine[key], theirs[key])
        else:
            assert _same(mine[key], theirs[key]), (key, mine[key], theirs[key])


def test_an_unquoted_url_in_a_flow_mapping_is_yaml_1_2() -> None:
    text = "api: {url: https://access.example.com/api/v1, token_env: X}\n"
    diags: list[Any] = []
    doc = parse_text(text, "t.yaml", diags)
    assert diags == [] and doc is not None
    assert doc.data == {"api": {"url": "https://access.example.com/api/v1", "token_env": "X"}}
    assert doc.locate(("api", "token_env")).line == 1


# A bool-tagged scalar is true or false as its spelling says, in YAML 1.2 (`!!bool yes`) and in
# files that ask for YAML 1.1, whichever parser reads them: a flow mapping with an unquoted URL
# sends a file to ruamel.yaml's own parser, which honours `%YAML 1.1` where libyaml does not.
BOOLS = {
    "yes": True, "Yes": True, "YES": True, "y": True, "Y": True, "on": True, "ON": True,
    "true": True, "True": True, "no": False, "NO": False, "n": False, "off": False,
    "Off": False, "false": False, "FALSE": False,
}  # fmt: skip
FLOW_API = "api: {url: http://127.0.0.1:8765/api/v1, token_env: T}\n"
BLOCK_API = "api:\n  url: http://127.0.0.1:8765/api/v1\n  token_env: T\n"


@pytest.mark.parametrize("api", [FLOW_API, BLOCK_API], ids=["flow", "block"])
@pytest.mark.parametrize(("spelling", "value"), sorted(BOOLS.items()))
def test_yaml_1_1_booleans_keep_their_meaning(api: str, spelling: str, value: bool) -> None:
    text = f"%YAML 1.1\n---\norganization: acme\n{api}settings:\n  flag: {spelling}\n"
    doc = parse_text(text, "t.yaml", diags := [])
    assert diags == [] and doc is not None
    assert doc.data["settings"]["flag"] is value
    assert doc.data["api"]["token_env"] == "T"


@pytest.mark.parametrize(("spelling", "value"), sorted(BOOLS.items()))
def test_an_explicit_bool_tag_keeps_its_meaning(spelling: str, value: bool) -> None:
    for api in (FLOW_API, BLOCK_API):  # YAML 1.2, both parsers
        doc = parse_text(f"{api}flag: !!bool {spelling}\n", "t.yaml", diags := [])
        assert diags == [] and doc is not None
        assert doc.data["flag"] is value


def test_a_bool_tag_on_something_else_is_kept_as_text() -> None:
    doc = parse_text("flag: !!bool maybe\n", "t.yaml", diags := [])
    assert diags == [] and doc is not None
    assert doc.data["flag"] == "maybe"  # the schema then reports "expected true or false"


def test_yaml_1_1_numbers_read_as_1_1_says() -> None:
    text = "%YAML 1.1\n---\noctal: 010\nsexagesimal: 1:30\nplain: 10\nhex: 0x1F\n"
    doc = parse_text(text, "t.yaml", diags := [])
    assert diags == [] and doc is not None
    assert doc.data == {"octal": 8, "sexagesimal": 90, "plain": 10, "hex": 31}
    assert doc.data == YAML(typ="safe", pure=True).load(text)


# U+2028, U+2029 and U+0085 are line breaks to libyaml, but not to editors and GitHub, which
# break lines at \n, \r\n and \r only: diagnostics must name the line a person sees.
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("unusual", ["\u2028", "\u2029", "\x85"], ids=["2028", "2029", "0085"])
def test_lines_are_counted_as_editors_count_them(unusual: str, newline: str) -> None:
    lines = [
        "organization: acme",
        "stores:",
        f'  M1: "Web{unusual}shop"',
        f"  M2: 'Café{unusual}{unusual}'",
        "users:",
        f"  - {{email: a@b.example, role: Admn, note: 'x{unusual}y'}}",
    ]
    doc = parse_text(newline.join(lines) + newline, "t.yaml", diags := [])
    assert diags == [] and doc is not None
    assert doc.locate(("stores", "M2"), key=True) == Location("t.yaml", 4, 3)
    assert doc.locate(("users", 0, "role")) == Location("t.yaml", 6, lines[5].index("Admn") + 1)
    assert doc.locate(("users", 0, "note"), key=True) == Location(
        "t.yaml", 6, lines[5].index("note") + 1
    )


def test_a_syntax_error_after_an_unusual_break_names_the_editors_line() -> None:
    text = 'organization: acme\nstores: {M1: "a\u2028b"}\nusers: [\n'
    diags: list[Any] = []
    assert parse_text(text, "t.yaml", diags) is None
    (diag,) = diags
    assert (diag.source.line, diag.code) == (4, "yaml_syntax")


def _bomb(levels: int) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for previous, name in itertools.pairwise("abcdefghijklmnop"[:levels]):
        text += f"{name}: &{name} [{','.join(['*' + previous] * 9)}]\n"
    return text


def test_aliases_count_for_every_value_they_stand_for() -> None:
    # 6 levels: 9**6 "lol"s (531,441), so 597,871 values: allowed
    diags: list[Any] = []
    doc = parse_text(_bomb(6), "t.yaml", diags)
    assert diags == [] and doc is not None
    assert doc.shared
    # 7 levels: 5.4 million values from 8 short lines, refused at the anchor that goes over
    diags.clear()
    assert parse_text(_bomb(7), "t.yaml", diags) is None
    (diag,) = diags
    assert (diag.source.line, diag.source.column, diag.code) == (6, 4, "yaml_unsupported")
    assert "more than 2,000,000 values" in diag.message


def test_the_secret_scan_visits_a_shared_list_once(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = parse_text(_bomb(6) + "x: &x {password: hunter2}\ny: [*x, *x]\n", "t.yaml", [])
    assert doc is not None
    calls = 0
    real = secrets._walk

    def counting(*args: Any) -> None:
        nonlocal calls
        calls += 1
        real(*args)

    monkeypatch.setattr(secrets, "_walk", counting)
    diags: list[Any] = []
    found = secrets.find_secrets(doc, diags)
    assert calls < 100  # one per list or mapping written (repeats end at once): not 597,871
    # once, where it is written
    assert [(d.source.line, d.code) for d in diags] == [(7, "inline_secret")]
    assert len(found) == 1


ALIASED = """\
organization: acme
x-role: &r {role: Admin}
users:
  - &u
    email: a@b.example
    role: Admin
  # a comment mentioning *u
  - *u
  - {email: &e c@d.example, <<: *r}
  - {<<: [*r], email: *e}
"""


def test_a_path_through_an_alias_is_located_at_the_alias() -> None:
    doc = parse_text(ALIASED, "t.yaml", diags := [])
    assert diags == [] and doc is not None
    lines = ALIASED.splitlines()

    def at(line: int, text: str) -> Location:
        return Location("t.yaml", line, lines[line - 1].index(text) + 1)

    assert doc.locate(("users", 0, "email")) == at(5, "a@b")  # the anchor itself
    assert doc.locate(("users", 1, "email")) == at(8, "*u")  # `- *u`, not the comment
    assert doc.locate(("users", 2, "role")) == at(9, "*r")  # merged through `<<: *r`
    assert doc.locate(("users", 2, "email")) == at(9, "&e")
    assert doc.locate(("users", 3, "role")) == at(10, "*r")  # `<<: [*r]`
    assert doc.locate(("users", 3, "email")) == at(10, "*e")
    assert doc.locate(("users", 3, "email"), key=True) == at(10, "email")
    assert doc.locate(("x-role", "role")) == at(2, "Admin")


def test_non_string_keys_are_found_by_their_value() -> None:
    doc = parse_text("~: a\ntrue: b\n5: c\n0x10: d\n2027-01-01: e\n'5': f\n", "t.yaml", [])
    assert doc is not None
    keys = [None, True, 5, 16, date(2027, 1, 1), "5"]
    assert list(doc.data) == keys
    assert [doc.locate((k,), key=True).line for k in keys] == [1, 2, 3, 4, 5, 6]


def test_a_large_file_is_not_an_alias_bomb() -> None:
    """Only what aliases add counts, and up to 100 times what the file writes out."""
    stores = "\n".join(f"  - M{i}" for i in range(250))
    users = "\n".join(
        f"  - {{email: u{i}@x.example, role: User, stores: *all}}" for i in range(8_000)
    )
    text = f"organization: acme\nall_stores: &all\n{stores}\nusers:\n{users}\n"
    diags: list[Finding] = []
    document = parse_text(text, "big.yaml", diags)
    assert document is not None
    assert [d for d in diags if d.code == "yaml_unsupported"] == []
    assert len(document.data["users"][7_999]["stores"]) == 250
