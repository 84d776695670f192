"""`accessctl fmt`: canonical order, comments kept, idempotent, `--check`."""

from __future__ import annotations

import errno
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config import format_files as formatting
from reconciler.config import spans
from reconciler.config.document import parse_text
from reconciler.config.reformat import Unformattable, format_text, verify

FIXTURES = Path(__file__).parent / "fixtures" / "fmt"

MESSY = """\
# yaml-language-server: $schema=../schemas/accessctl.schema.json
# Team config
users:   # the people
  # Zed runs the shop
  - role: Admin
    email: zed@x.example   # the owner
  # Alice is new
  - stores: [MID1]
    email: alice@x.example
    role: User
# ranges below
ip_ranges:
    - {name: Office B, cidr: 10.1.0.0/16}
    - {cidr: 10.0.0.0/16, name: Office A}  # HQ
# the org
organization: t
policy:
   max_removals: 5
   unmanaged_users: report  # default
"""

CANONICAL = """\
# yaml-language-server: $schema=../schemas/accessctl.schema.json
# Team config
# the org
organization: t
policy:
  unmanaged_users: report   # default
  max_removals: 5
# ranges below
ip_ranges:
  - {name: Office A, cidr: 10.0.0.0/16}    # HQ
  - {name: Office B, cidr: 10.1.0.0/16}
users:   # the people
  # Alice is new
  - email: alice@x.example
    role: User
    stores: [MID1]
  # Zed runs the shop
  - email: zed@x.example   # the owner
    role: Admin
"""


def test_canonical_order_with_comments_kept() -> None:
    assert format_text(MESSY) == CANONICAL


def test_canonical_text_is_left_alone() -> None:
    assert format_text(CANONICAL) == CANONICAL


def test_examples_are_formatted() -> None:
    root = Path(__file__).parent.parent / "config-examples"
    paths = [root / "acme-eu.yaml", root / "initech.yaml", *sorted((root / "globex").iterdir())]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert format_text(text) == text, f"{path} is not in canonical form"


def test_check_lists_files_and_changes_nothing(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(MESSY, encoding="utf-8")
    tidy = tmp_path / "tidy.yaml"
    tidy.write_text(CANONICAL, encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (
        f"would reformat {messy}\n1 file would be reformatted, 1 already formatted\n"
    )
    assert messy.read_text(encoding="utf-8") == MESSY


def test_fmt_writes_then_check_passes(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(MESSY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", str(messy)])
    assert (result.exit_code, result.output) == (
        0,
        f"reformatted {messy}\n1 file reformatted, 0 already formatted\n",
    )
    assert messy.read_text(encoding="utf-8") == CANONICAL
    again = CliRunner().invoke(cli, ["fmt", "--check", str(messy)])
    assert (again.exit_code, again.output) == (
        0,
        "0 files would be reformatted, 1 already formatted\n",
    )


def test_invalid_yaml_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: t\nusers: [\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:3:1: error[yaml_syntax]: invalid YAML: ")
    assert bad.read_text(encoding="utf-8") == "organization: t\nusers: [\n"


# Shapes that broke fmt (QA report): each input and its canonical form are files.


@pytest.mark.parametrize(
    "case", sorted(p.name.removesuffix(".in.yaml") for p in FIXTURES.glob("*.in.yaml"))
)
def test_fixture_is_formatted_and_stays_so(case: str) -> None:
    text = (FIXTURES / f"{case}.in.yaml").read_text(encoding="utf-8")
    canonical = (FIXTURES / f"{case}.out.yaml").read_text(encoding="utf-8")
    assert format_text(text) == canonical
    assert format_text(canonical) == canonical
    _assert_same_data(text, canonical)
    assert _comments(canonical) == _comments(text)


def test_flow_user_with_comments_before_block_user_stays_valid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        (FIXTURES / "flow_user_then_block_user.in.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output) == (
        0,
        f"reformatted {path}\n1 file reformatted, 0 already formatted\n",
    )
    written = path.read_text(encoding="utf-8")
    assert "  - email: b@x.co\n    role: User\n" in written
    diags: list[Any] = []
    assert parse_text(written, "acme.yaml", diags) is not None and diags == []


def test_a_shape_fmt_cannot_keep_is_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    text = "organization: acme\nusers:\n  - ? email\n    : a@x.co\n"  # a `?` complex key
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    for args in (["fmt", str(path)], ["fmt", "--check", str(path)]):
        result = CliRunner().invoke(cli, args)
        assert (result.exit_code, result.output) == (
            1,
            f"{path}:3:7: error[fmt_unsafe]: cannot format this shape of YAML\n"
            "    hint: write the key or list item on one line with its `- ` or `key:`\n"
            "1 error, 0 warnings\n"
            f"{'0 files would be reformatted' if '--check' in args else '0 files reformatted'}"
            ", 0 already formatted\n",
        )
    assert path.read_text(encoding="utf-8") == text


def test_comments_inside_a_flow_list_move_with_it() -> None:
    text = (FIXTURES / "comment_inside_flow_list.in.yaml").read_text(encoding="utf-8")
    assert "    stores: [M2,\n      # the cafe\n      M1]  # two shops\n" in format_text(text)


# The self-check: a result that is not the input reordered is refused.

UNSORTED = """\
organization: acme
users:
  # zed is the CFO
  - {email: zed@x.co, role: Admin}
  # amy is an intern
  - {email: amy@x.co, role: User}  # since May
"""


@pytest.mark.parametrize(
    ("wrong", "where", "message"),
    [
        (  # what fmt wrote before: zed's comment above amy
            "organization: acme\nusers:\n  # zed is the CFO\n  # amy is an intern\n"
            "  - {email: amy@x.co, role: User}  # since May\n  - {email: zed@x.co, role: Admin}\n",
            (3, 3),
            "cannot reorder here without moving this comment; reorder by hand",
        ),
        (
            "organization: acme\nusers:\n  - {email: amy@x.co, role: User}  # since May\n"
            "  # zed is the CFO\n  - {email: zed@x.co, role: Admin}\n",
            (5, 3),
            "formatting would lose this comment",
        ),
        (
            "organization: acme\nusers:\n  # amy is an intern\n"
            "  - {email: amy@x.co, role: User}  # since May\n"
            "  # zed is the CFO\n  - {email: zed@x.co, role: Admin}  # since May\n",
            (1, 1),
            "formatting would add the comment `# since May`",
        ),
        (
            "organization: acme\nusers:\n  # amy is an intern\n"
            "  - {email: amy@x.co, role: Admin}  # since May\n"
            "  # zed is the CFO\n  - {email: zed@x.co, role: Admin}\n",
            (2, 1),
            "formatting would change the value of `users`",
        ),
        (
            "organization: acme\nusers:\n  # amy is an intern\n"
            "  - {role: User, email: amy@x.co}  # since May\n"
            "  # zed is the CFO\n  - {email: zed@x.co, role: Admin}\n",
            (1, 1),
            "formatting this file twice would change it again",
        ),
    ],
    ids=["moved", "lost", "added", "data", "not-canonical"],
)
def test_verify_refuses_a_wrong_result(wrong: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(Unformattable) as refused:
        verify(UNSORTED, wrong)
    assert ((refused.value.line, refused.value.column), refused.value.message) == (where, message)
    verify(UNSORTED, format_text(UNSORTED))  # and accepts the right one


FLOW_FIRST_LINE = (FIXTURES / "comment_on_first_line_of_flow_list.in.yaml").read_text(
    encoding="utf-8"
)


@pytest.mark.parametrize(
    ("text", "wrong", "where", "message"),
    [
        (  # the comment on the first line of a flow list over several lines
            FLOW_FIRST_LINE,
            FLOW_FIRST_LINE.replace("[M1,   # the web shop", "[M1,"),
            (4, 20),
            "formatting would lose this comment",
        ),
        (  # a comment above a key inside an item, moved above the item's `-`
            "organization: acme\nusers:\n  - email: a@x.co\n    # her shops\n    stores: [M1]\n",
            "organization: acme\nusers:\n  # her shops\n  - email: a@x.co\n    stores: [M1]\n",
            (4, 5),
            "cannot reorder here without moving this comment; reorder by hand",
        ),
    ],
    ids=["flow-list-first-line", "key-comment-to-item"],
)
def test_verify_keeps_track_of(text: str, wrong: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(Unformattable) as refused:
        verify(text, wrong)
    assert ((refused.value.line, refused.value.column), refused.value.message) == (where, message)


def test_a_writer_bug_is_refused_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in how fmt writes lines (here: continuation lines losing their indentation, which
    makes invalid YAML) is turned into a refusal by the self-check."""
    monkeypatch.setattr(spans, "_shift", lambda line, by: "")
    text = (FIXTURES / "comment_inside_flow_list.in.yaml").read_text(encoding="utf-8")
    with pytest.raises(Unformattable, match="unreadable"):
        format_text(text)


# Files fmt must not format: it reports what validate's loader reports.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "organization: acme\nusers:\n"
            "  - {email: a@x.co, type: external, expires: 2027-02-30}\n",
            "3:46: error[invalid_type]: expected a date (YYYY-MM-DD), got `2027-02-30` "
            "(day is out of range for month)\n    hint: fix the date; fmt formats only files "
            "that load\n",
        ),
        (
            "organization: acme\nusers:\n  - email: a@x.co\n    role: Admin\n    role: User\n",
            "5:5: error[duplicate_key]: duplicate key `role`: also set on line 4\n    hint: keep "
            "one of them; YAML readers silently disagree on which one wins\n",
        ),
    ],
    ids=["impossible-date", "duplicate-key"],
)
def test_files_that_do_not_load_are_reported_like_validate(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output) == (
        1,
        f"{path}:{expected}1 error, 0 warnings\n0 files reformatted, 0 already formatted\n",
    )
    assert path.read_text(encoding="utf-8") == text


def test_an_internal_error_is_not_reported_as_a_syntax_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, document: object = None) -> str:
        raise AttributeError("'CommentMark' object has no attribute 'line'")

    monkeypatch.setattr(formatting, "format_text", broken)
    (tmp_path / "acme.yaml").write_text(MESSY, encoding="utf-8")
    with pytest.raises(AttributeError):  # the CLI shows it as a bug, with the traceback saved
        formatting.format_paths([tmp_path], write=False)


# Writing: a new file beside the old one, renamed over it; a failure leaves the old file.


def test_a_failed_write_keeps_the_file_and_the_others_are_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(MESSY, encoding="utf-8")
    second.write_text(MESSY, encoding="utf-8")
    real_fsync = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(formatting.os, "fsync", fsync)
    result = CliRunner().invoke(cli, ["fmt", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        1,
        f"reformatted {second}\n"
        f"{first}:1:1: error[file_unwritable]: cannot write the formatted file: "
        "No space left on device; the file was left as it was\n"
        "1 error, 0 warnings\n"
        "1 file reformatted, 0 already formatted\n",
    )
    assert first.read_text(encoding="utf-8") == MESSY
    assert second.read_text(encoding="utf-8") == CANONICAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]  # no temp file


def test_a_rewritten_file_keeps_its_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MESSY.encode("utf-8"))
    assert CliRunner().invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + CANONICAL.encode("utf-8")
    assert CliRunner().invoke(cli, ["fmt", "--check", str(path)]).exit_code == 0


def test_a_rewritten_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(MESSY, encoding="utf-8")
    path.chmod(0o640)
    assert CliRunner().invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert (path.stat().st_mode & 0o777, path.read_text(encoding="utf-8")) == (0o640, CANONICAL)


def test_a_read_only_file_is_reported_and_the_next_file_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(MESSY, encoding="utf-8")
    second.write_text(MESSY, encoding="utf-8")
    first.chmod(0o444)
    if os.geteuid() == 0:  # root passes every permission check: make the file read-only to it too
        real_access = formatting.os.access

        def access(path: object, mode: int) -> bool:
            if Path(str(path)).resolve() == first.resolve() and mode & os.W_OK:
                return False
            return real_access(path, mode)  # type: ignore[arg-type]

        monkeypatch.setattr(formatting.os, "access", access)
    result = CliRunner().invoke(cli, ["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{first}:1:1: error[file_unwritable]: cannot write the formatted file: " in result.output
    )
    assert (first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")) == (
        MESSY,
        CANONICAL,
    )


# The laws, on generated files: flow and block items, keys in any order, comments above items
# and keys, at the ends of lines, blank lines. fmt keeps the data (users and ranges reordered),
# keeps every comment once and with its item, and is idempotent.

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


@st.composite
def _items(draw: st.DrawFn, section: str) -> list[str]:
    key = SORT_KEYS[section]
    names = draw(st.lists(_word, max_size=5, unique=True))
    lines = [f"{section}:" + draw(st.sampled_from(["", f"  # eol {section}"]))]
    indent = draw(st.sampled_from(["", "  ", "    "]))
    for name in names:
        ident = f"{name}@x.example" if section == "users" else f"net-{name}"  # never `no`
        fields = [(key, ident)]
        if section == "users":
            fields += [("role", draw(st.sampled_from(["Admin", "User", '"Read Only"'])))]
            fields += [("stores", "[M1]")] if draw(st.booleans()) else []
        else:
            fields += [("cidr", f"10.{draw(st.integers(0, 255))}.0.0/16")]
        fields = draw(st.permutations(fields))
        if draw(st.booleans()):
            lines.append("")
        if draw(st.booleans()):
            lines.append(f"{indent}# about {ident}")
        if draw(st.booleans()):  # one line: - {k: v, ...}
            pairs = ", ".join(f"{k}: {v}" for k, v in fields)
            eol = draw(st.sampled_from(["", f"  # eol {ident}"]))
            lines.append(f"{indent}- {{{pairs}}}{eol}")
            continue
        for n, (k, v) in enumerate(fields):
            if n and draw(st.integers(0, 3)) == 0:
                lines.append(f"{indent}  # about {ident} {k}")
            eol = draw(st.sampled_from(["", "", f"  # eol {ident} {k}"]))
            lines.append(f"{indent}{'  ' if n else '- '}{k}: {v}{eol}")
    return lines


SORT_KEYS = {"users": "email", "ip_ranges": "name"}


@st.composite
def _configs(draw: st.DrawFn) -> str:
    parts = {
        "organization": [f"organization: {draw(_word)}"],
        "users": draw(_items("users")),
        "ip_ranges": draw(_items("ip_ranges")),
        "policy": ["policy:"]
        + [
            line
            for key, value in draw(
                st.permutations([("max_removals", "3"), ("unmanaged_users", "report")])
            )
            for line in [f"   # about policy {key}", f"   {key}: {value}  # eol policy {key}"]
        ],
    }
    lines = ["# yaml-language-server: $schema=accessctl.schema.json"]
    for key in draw(st.permutations(list(parts))):
        if len(parts[key]) > 1 or key == "organization":
            lines += parts[key]
    if draw(st.booleans()):
        lines.append("# the end")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(_configs())
def test_fmt_keeps_data_and_comments_and_is_idempotent(text: str) -> None:
    once = format_text(text)
    assert format_text(once) == once
    _assert_same_data(text, once)
    assert _comments(once) == _comments(text)
    lines = once.splitlines()
    for number, line in enumerate(lines):
        found = re.search(r"# (about|eol) (\S+@x\.example|net-[a-z]+)( \w+)?$", line)
        if not found:
            continue
        kind, ident, key = found.groups()
        if kind == "about":  # above its item (or above the key it was written above)
            number = next(n for n in range(number, len(lines)) if _is_yaml(lines[n]))
        assert _item_at(lines, number) == ident, f"{line.strip()} is not with {ident}:\n{once}"
        if kind == "eol" and key:
            assert re.match(rf"\s*(- )?{key.strip()}:", lines[number]), line


def _is_yaml(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _item_at(lines: list[str], number: int) -> str | None:
    """The email or name of the list item that line `number` belongs to."""
    start = next((n for n in range(number, -1, -1) if lines[n].lstrip().startswith("- ")), None)
    if start is None:
        return None
    for n in range(start, len(lines)):
        if n > start and (lines[n].lstrip().startswith("- ") or not lines[n].startswith(" ")):
            break
        found = re.search(r"(?:email|name): ([^,}\s]+)", lines[n])
        if found:
            return found.group(1)
    return None


def _comments(text: str) -> Counter[str]:
    return Counter(line[line.index("#") :].strip() for line in text.splitlines() if "#" in line)


def _assert_same_data(before: str, after: str) -> None:
    old, new = parse_text(before, "before", []), parse_text(after, "after", [])
    assert old is not None and new is not None
    assert _normal(old.data) == _normal(new.data)


def _key(item: Any) -> str:
    return repr(sorted(item.items())) if isinstance(item, dict) else repr(item)


def _normal(data: dict[str, Any]) -> dict[str, Any]:
    """Users and ranges as multisets: fmt may reorder those, nothing else."""
    return {
        key: sorted(map(_key, value)) if key in SORT_KEYS and isinstance(value, list) else value
        for key, value in data.items()
    }


# Second round of QA: edits made while fmt runs, tabs, anchors, CRLF line endings.


def test_a_file_edited_while_formatting_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formatting a large file takes seconds; an edit saved meanwhile must not be overwritten."""
    path = tmp_path / "acme.yaml"
    path.write_text(MESSY, encoding="utf-8")
    edited = "# edited during fmt\n" + MESSY
    real_format_text = formatting.format_text

    def slow(text: str, document: Any = None) -> str:
        result = real_format_text(text, document)
        path.write_text(edited, encoding="utf-8")  # someone saves while fmt works
        return result

    monkeypatch.setattr(formatting, "format_text", slow)
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output) == (
        1,
        f"{path}:1:1: error[file_unwritable]: the file changed while formatting; it was left "
        "as it is: run fmt again\n"
        "1 error, 0 warnings\n"
        "0 files reformatted, 0 already formatted\n",
    )
    assert path.read_text(encoding="utf-8") == edited
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme.yaml"]  # no temp file left


def test_a_file_edited_just_before_the_rename_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("# edited\n" + MESSY, encoding="utf-8")
    with pytest.raises(formatting.ChangedOnDisk):
        formatting.replace_text(path, CANONICAL, expected=MESSY.encode())
    assert path.read_text(encoding="utf-8") == "# edited\n" + MESSY
    formatting.replace_text(path, CANONICAL, expected=("# edited\n" + MESSY).encode())
    assert path.read_text(encoding="utf-8") == CANONICAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "organization: acme\t# tab before comment\nusers: []\n",
            "organization: acme      # tab before comment\nusers: []\n",
        ),
        (
            "organization: acme\nstores:\n  MID1: |\t# note\n    text\nusers: []\n",
            "organization: acme\nstores:\n  MID1: |       # note\n    text\nusers: []\n",
        ),
        ("organization:\tacme\t\nusers: []\n", "organization: acme\nusers: []\n"),
        # `\<tab>` is an escaped tab: written `\t`, not `\\t` (a backslash and a `t`)
        ('organization: "a\\\tb"\nusers: []\n', 'organization: "a\\tb"\nusers: []\n'),
        ('organization: "a\\\\\tb"\nusers: []\n', 'organization: "a\\\\\\tb"\nusers: []\n'),
    ],
    ids=[
        "before-comment",
        "after-block-indicator",
        "after-colon-and-trailing",
        "escaped-tab-in-quotes",
        "tab-after-escaped-backslash",
    ],
)
def test_tabs_validate_reads_are_formatted_not_syntax_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0
    check = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert (check.exit_code, check.output) == (
        1,
        f"would reformat {path}\n1 file would be reformatted, 0 already formatted\n",
    )
    assert CliRunner().invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_text(encoding="utf-8") == expected


def test_a_file_only_validate_can_read_is_fmt_unsafe_not_a_syntax_error(tmp_path: Path) -> None:
    """What ruamel's parser refuses in a file validate read cleanly is no syntax error: fmt
    says it cannot rewrite the file and leaves it. fmt reads a file with a Unicode line
    separator with ruamel's parser (libyaml counts it as a line break, editors do not), which
    refuses a tab before a comment."""
    text = 'organization: acme\t# tab before comment\nx-note: "a\u2028b"\nusers: []\n'
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert (result.exit_code, result.output) == (
        1,
        f"{path}:1:19: error[fmt_unsafe]: fmt's round-trip YAML parser cannot read line 1 "
        "(found character '\\t' that cannot start any token), though the file is valid YAML; "
        "the file was left as it is\n"
        "    hint: rewrite this line by hand (a tab often reads as a space to validate, "
        "not to fmt)\n"
        "1 error, 0 warnings\n"
        "0 files would be reformatted, 0 already formatted\n",
    )
    assert path.read_text(encoding="utf-8") == text


ANCHORED = """\
organization: acme
users:
  - &base {email: z@x.example, role: Admin, stores: all}
  - {<<: *base, email: a@x.example}
"""


def test_a_list_with_an_anchor_keeps_its_order() -> None:
    assert format_text(ANCHORED) == ANCHORED  # was: `- {<<: &base {...}, ...}` then `- *base`


@pytest.mark.parametrize(
    "text",
    [
        "x-defaults: &d {role: Admin, stores: all}\norganization: acme\n"
        "users:\n  - {<<: *d, email: b@x.example}\n  - {<<: *d, email: a@x.example}\n",
        "organization: acme\nusers:\n  - email: b@x.example\n    role: &r Admin\n"
        "  - email: a@x.example\n    role: *r\n",
        "organization: acme\nusers:\n  - email: b@x.example\n    stores: &s [M1]\n"
        "  - {email: a@x.example, stores: *s}\nx-stores: *s\n",
    ],
    ids=["top-level-anchor", "scalar-anchor", "anchor-used-after-the-list"],
)
def test_no_anchor_moves_into_another_entry(text: str) -> None:
    once = format_text(text)
    assert format_text(once) == once
    _assert_same_data(text, once)
    assert _anchor_sites(once) == _anchor_sites(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "organization: acme\nx-s: &s M1\nusers:\n  - email: b@x.example\n    stores:\n"
            "      - *s  # the shop\n      - M2\n  - email: a@x.example\n",
            "organization: acme\nx-s: &s M1\nusers:\n  - email: a@x.example\n"
            "  - email: b@x.example\n    stores:\n      - *s  # the shop\n      - M2\n",
        ),
        (
            "users:\n  - &u {email: b@x.example, role: Admin}\n  # again\n  - *u\n"
            "  - email: a@x.example\norganization: acme\n",
            "organization: acme\nusers:\n  - email: a@x.example\n"
            "  - &u {email: b@x.example, role: Admin}\n  # again\n  - *u\n",
        ),
    ],
    ids=["alias-of-a-store", "alias-of-an-item"],
)
def test_a_list_item_written_as_an_alias_is_formatted(text: str, expected: str) -> None:
    """`- *name`: an alias's marks are its anchor's, so its `-` was looked for on the anchor's
    line: refused (`cannot format this shape`, or naming line 1) or, below the anchor, read
    as the anchored item again."""
    assert format_text(text) == expected


def test_an_anchor_defined_twice_is_formatted_without_a_warning(tmp_path: Path) -> None:
    """YAML allows an anchor to be defined again (the later one counts). A file with U+2028 is
    read by ruamel.yaml's own parser, which warned on it: a Python warning in fmt's output."""
    path = tmp_path / "acme.yaml"
    text = (
        'users:\n  - email: b@x.example\n    role: &r User\n    stores: ["M\u20281"]\n'
        "  - email: a@x.example\n    role: &r Admin\n    stores: [M1]\n"
        "  - email: c@x.example\n    role: *r\n    stores: []\norganization: acme\n"
    )
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output) == (
        0,
        f"reformatted {path}\n1 file reformatted, 0 already formatted\n",
    )
    assert path.read_text(encoding="utf-8") == "organization: acme\n" + text.removesuffix(
        "organization: acme\n"
    )


def test_a_file_nested_deeper_than_fmt_can_walk_is_refused_not_a_crash(tmp_path: Path) -> None:
    """`validate` reads 395 nested mappings; fmt's spans are one call a level and ran out of
    stack (RecursionError: `unexpected error ... this is a bug`)."""
    path = tmp_path / "acme.yaml"
    text = "users: []\norganization: acme\nsettings:\n"
    text += "".join("  " * depth + "k:\n" for depth in range(1, 396)) + "  " * 396 + "v: 1\n"
    path.write_text(text, encoding="utf-8")
    assert "nested too deeply" not in CliRunner().invoke(cli, ["validate", str(path)]).output
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output.splitlines()[0]) == (
        1,
        f"{path}:1:1: error[fmt_unsafe]: nested too deeply for fmt to rewrite; the file was "
        "left as it is",
    )
    assert path.read_text(encoding="utf-8") == text


def _anchor_sites(text: str) -> dict[str, str]:
    """Each anchor and the line defining it; an anchor comes before its first alias."""
    sites = {}
    for found in re.finditer(r"&(\w+)", text):
        name = found.group(1)
        alias = text.find(f"*{name}")
        assert alias == -1 or alias > found.start(), f"*{name} before &{name}:\n{text}"
        line = text[text.rfind("\n", 0, found.start()) + 1 : text.find("\n", found.start())]
        sites[name] = line.strip()
    return sites


def test_moving_an_anchor_is_refused_by_the_self_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spans, "_shared", lambda root, aliases: set())  # as if no anchor
    with pytest.raises(Unformattable, match=r"would move the definition of the anchor `&base`"):
        format_text(ANCHORED)


def test_an_empty_value_at_the_end_of_a_yaml_11_file_with_an_alias_is_formatted(
    tmp_path: Path,
) -> None:
    """ruamel.yaml's own parser (it reads `%YAML 1.1` files) marks an empty value that ends the
    file after a comment on the line below the last one: fmt used to crash there (IndexError)
    when the file held an alias."""
    path = tmp_path / "acme.yaml"
    path.write_text(
        "%YAML 1.1\n---\nx-a: &a 1\nx-b: *a\norganization: acme\n"
        "settings:\n  technical_support_access:    # to decide\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert (result.exit_code, result.output) == (
        0,
        f"reformatted {path}\n1 file reformatted, 0 already formatted\n",
    )
    assert path.read_text(encoding="utf-8") == (
        "%YAML 1.1\n---\norganization: acme\nsettings:\n"
        "  technical_support_access:    # to decide\nx-a: &a 1\nx-b: *a\n"
    )


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    canonical = CANONICAL.replace("\n", "\r\n")
    assert format_text(MESSY.replace("\n", "\r\n")) == canonical
    assert format_text(canonical) == canonical
    mixed = MESSY.replace("\n", "\r\n").replace("\r\n", "\n", 2)  # mostly CRLF
    assert format_text(mixed) == canonical
    path = tmp_path / "acme.yaml"
    path.write_bytes(b"organization: acme\r\nusers: []\r\n")
    result = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert (result.exit_code, result.output) == (
        0,
        "0 files would be reformatted, 1 already formatted\n",
    )
    path.write_bytes(MESSY.replace("\n", "\r\n").encode())
    assert CliRunner().invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_bytes() == canonical.encode()
