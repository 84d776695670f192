"""`load` reads files from the parser's event stream (reconciler/config/stream.py); fmt and adopt
read them as a node tree (`parse_text(..., nodes=True)`). Both must read every file alike: the
same values, the same problems, and, where no alias is involved, the same locations."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config.document import Document, parse_text
from reconciler.findings import Finding

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    [*ROOT.glob("config-examples/**/*.yaml"), *ROOT.glob("tests/fixtures/**/*.yaml")],
    key=str,
)

PLAIN = ["a", "b", "role", "MID1", "5", "0x10", "true", "~", "1.5", "2027-01-01", "yes", "<<x"]
QUOTED = ['"5"', "'a b'", '"x: y"']
TAGGED = ["!!str 5", "!!int 7", "!!bool yes", "!!float 1", "!custom x", "!!binary aGk="]


def _same(mine: Any, theirs: Any) -> bool:
    if isinstance(mine, float) and isinstance(theirs, float):
        return mine == theirs or (math.isnan(mine) and math.isnan(theirs))
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return list(mine) == list(theirs) and all(
            _same(mine[k], theirs[k]) for k in mine
        )  # fmt: skip
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(
            _same(a, b) for a, b in zip(mine, theirs, strict=True)
        )
    return type(mine) is type(theirs) and bool(mine == theirs)


def _shown(diags: list[Finding]) -> list[tuple[int, int, str, str]]:
    """In the order `load` shows them: by place; once each (the node builder reads a scalar
    merged in with `<<` again, and may say the same thing of it twice)."""
    return sorted(set((d.source.line, d.source.column, d.code, d.message) for d in diags))


def _both(text: str) -> tuple[Document | None, list[Finding], Document | None, list[Finding]]:
    streamed: list[Finding] = []
    composed: list[Finding] = []
    return (
        parse_text(text, "t.yaml", streamed),
        streamed,
        parse_text(text, "t.yaml", composed, nodes=True),
        composed,
    )


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):  # keys YAML reads otherwise: see test_config_document
                found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _check(text: str) -> None:
    streamed, streamed_diags, composed, composed_diags = _both(text)
    assert _shown(streamed_diags) == _shown(composed_diags)
    assert (streamed is None) == (composed is None)
    if streamed is None or composed is None:
        return
    assert _same(streamed.data, composed.data)
    # `shared` lets the secrets scan skip what it has seen: the stream may say so more often
    assert streamed.shared or not composed.shared
    assert streamed.yaml11 == composed.yaml11
    if "*" in text or "<<" in text:
        return  # the node tree's own walk does not follow aliases or merges: compared above
    for path in _paths(streamed.data):
        assert streamed.locate(path) == composed.locate(path), path
        if path and isinstance(path[-1], str):
            assert streamed.locate(path, key=True) == composed.locate(path, key=True), path


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_and_fixture_reads_alike(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))


def _flow(anchors: list[str]) -> st.SearchStrategy[str]:
    """Flow YAML text; anchors are named in order, and an alias only names an earlier one."""

    def anchored(draw: Any, body: str) -> str:
        if draw(st.integers(0, 4)) == 0:
            name = f"a{len(anchors)}"
            anchors.append(name)
            return f"&{name} {body}"
        return body

    @st.composite
    def node(draw: Any, depth: int = 0) -> str:
        choice = draw(st.integers(0, 9 if depth < 3 else 4))
        if choice <= 2:
            return anchored(draw, draw(st.sampled_from(PLAIN)))
        if choice == 3:
            return draw(st.sampled_from(QUOTED + TAGGED))
        if choice == 4:
            return f"*{draw(st.sampled_from(anchors))}" if anchors else "x"
        if choice <= 6:
            items = draw(st.lists(node(depth + 1), max_size=4))
            return anchored(draw, "[" + ", ".join(items) + "]")
        pairs = []
        for _ in range(draw(st.integers(0, 4))):
            key = draw(st.sampled_from([*PLAIN, "<<", "!!str 5", "[k]"]))
            pairs.append(f"{key}: {draw(node(depth + 1))}")
        return anchored(draw, "{" + ", ".join(pairs) + "}")

    return node()


@st.composite
def documents(draw: Any) -> str:
    anchors: list[str] = []
    lines = []
    for index in range(draw(st.integers(1, 4))):
        lines.append(f"k{index}: {draw(_flow(anchors))}")
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["k0: again", "---", "x: *nowhere", "y: [1, "])))
    return "\n".join(lines) + "\n"


# `STREAM_EXAMPLES=6000 pytest tests/test_config_stream.py -k generated` hunts longer.
@settings(
    max_examples=int(os.environ.get("STREAM_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(documents())
def test_generated_documents_read_alike(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*PLAIN, *QUOTED]), min_size=1, max_size=6), st.booleans())
def test_block_documents_are_located_alike(values: list[str], nested: bool) -> None:
    """Block style: every key and value at the same line and column either way."""
    lines = ["top:"]
    for index, value in enumerate(values):
        if nested:
            lines += [f"  - name: {value}", f"    n{index}: [{value}, {value}]"]
        else:
            lines.append(f"  k{index}: {value}")
    _check("\n".join(lines) + "\n")


# Found by a hostile tester: a NaN key twice (NaN is not equal to itself), a tag on an anchored
# list in a refused part that an alias reads later, an alias to a scalar (and to `<<`) as a key.
HOSTILE = [
    "organization: t\nsettings:\n  .nan: 1\n  .nan: 2\n",
    "organization: t\nsettings:\n  a: 1\n  a: &z !weird [ {b: !weird2 c} ]\n  c: *z\n",
    "organization: t\nsettings:\n  x: 1\n  x: &m !tm {b: 1}\n  y: *m\n",
    "organization: t\nm: &m <<\nsettings:\n  *m : {technical_support_access: true}\n",
    "organization: t\nsettings:\n  {: 1}\n",
    # Found by the generator on CI: a refused part inside an anchored refused part. An alias
    # reports what the anchor's part holds (the duplicate key), not what the duplicate key's
    # value holds (the tag): no reader reads that value anywhere.
    "k0: &a3 {[k]: &a0 {a: x, a: !custom x}, a: &a1 a, a: &a2 a, b: *a0}\n",
    "k0: {[k]: &q {a: 1, a: &z !custom y}, b: *z, c: *q}\n",
    "k0: {[k]: &a0 {a: x, y: {c: !custom x}}, b: *a0}\n",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_documents_read_alike(text: str) -> None:
    _check(text)


def test_the_stream_reads_what_the_nodes_read_on_a_large_file() -> None:
    users = "\n".join(
        f"  - {{email: u{i}@x.example, role: User, stores: [MID{i % 7}, MID{i % 5}]}}"
        for i in range(2_000)
    )
    _check(f"organization: acme\nusers:\n{users}\n")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("organization: t\nsettings:\n  {: 1}\n", "unknown field `` in settings"),
        ("organization: t\nb: &b true\nsettings:\n  *b : 1\n", "unknown field `true` in settings"),
    ],
)
def test_a_key_is_named_as_written(tmp_path: Path, text: str, shown: str) -> None:
    """An empty key, or an alias to `true` as a key: shown as written, not as Python spells the
    value (`None`, `True`)."""
    from datetime import date

    from reconciler.config import load

    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    messages = [d.message for d in load([path], today=date(2026, 1, 1)).diagnostics]
    assert any(m.startswith(shown) for m in messages), messages
