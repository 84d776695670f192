"""The fast loader reads every scalar exactly as ruamel.yaml's own safe loader does: it swaps in a
quicker tag resolver (reconciler/config/document.py), so it must never change an answer; and what
libyaml refuses but YAML 1.2 allows (an unquoted URL in a flow mapping) is read by ruamel.yaml's
own parser."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.config.document import parse_text

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
