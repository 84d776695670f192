"""`accessctl fmt`: canonical order, comments kept, idempotent, `--check`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config.fmt import format_text

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


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_comment = st.one_of(st.just(""), _word.map(lambda w: f"  # {w}"))
_user = st.tuples(_word, st.sampled_from(["Admin", "User", "Read Only"]), _comment, _comment)
_range = st.tuples(_word, st.integers(0, 255), _comment)


@st.composite
def _configs(draw: st.DrawFn) -> str:
    lines = ["# yaml-language-server: $schema=accessctl.schema.json"]
    parts = {
        "organization": [f"organization: {draw(_word)}"],
        "users": ["users:"],
        "ip_ranges": ["ip_ranges:"],
        "settings": ["settings:", "   technical_support_access: true"],
    }
    for name, role, c1, c2 in draw(st.lists(_user, max_size=6)):
        if draw(st.booleans()):
            parts["users"].append(f"  # about {name}")
        parts["users"] += [f"  - role: {role}{c1}", f"    email: {name}@x.example{c2}"]
    for name, octet, c1 in draw(st.lists(_range, max_size=4)):
        parts["ip_ranges"].append(f"    - {{cidr: 10.{octet}.0.0/16, name: {name}}}{c1}")
    for key in draw(st.permutations(list(parts))):
        if len(parts[key]) > 1 or key == "organization":
            lines += parts[key]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(_configs())
def test_fmt_is_idempotent_and_keeps_comments(text: str) -> None:
    once = format_text(text)
    assert format_text(once) == once
    comments = sorted(line.strip() for line in text.splitlines() if "#" in line)
    kept = sorted(line[line.index("#") :].strip() for line in once.splitlines() if "#" in line)
    assert kept == sorted(c[c.index("#") :] for c in comments)
