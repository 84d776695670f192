"""`adopt` takes the live state into the YAML in place: unit tests on the text edits, and
end-to-end tests on the emulator (the whole file compared, then `plan` is empty)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.emulators import EmulatorPool
from support.plan_builders import ROOT, live_range, live_state, live_user

from reconciler.adopt import AdoptError, adopt_org, verify
from reconciler.cli import cli
from reconciler.config import load
from reconciler.config.splice import scalar
from reconciler.emulator.testing import EmulatorProcess
from reconciler.export import export_yaml
from reconciler.live import LiveState

FIXTURES = Path(__file__).parent / "fixtures" / "adopt"
TODAY = date(2026, 1, 1)
TOKEN = "tok-adopt-root"


def _adopt(tmp_path: Path, files: dict[str, str], live: LiveState) -> dict[str, str]:
    """Write `files`, adopt `live` into them (checked as the command checks), return the texts."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    paths = [str(tmp_path / name) for name in files]
    result = load(paths, today=TODAY)
    assert not result.has_errors(), result.diagnostics
    texts = {str(tmp_path / name): text for name, text in files.items()}
    (org,) = result.orgs
    adoption = adopt_org(org, live, texts)
    verify(paths, adoption, {org.config.organization: live}, today=TODAY)
    return {name: adoption.after[str(tmp_path / name)] for name in files}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Admin", "Admin"),
        ("Super Admin", "Super Admin"),
        ("a@b.example", "a@b.example"),
        ("MID1", "MID1"),
        ("Gift: cards", '"Gift: cards"'),
        ("?q", '"?q"'),
        ("#hash", '"#hash"'),
        ("true", '"true"'),
        ("123", '"123"'),
        ("NO", '"NO"'),  # YAML 1.1's booleans: a file may say `%YAML 1.1`
        ("on", '"on"'),
        ("y", '"y"'),
        ("2001:db8::/32", '"2001:db8::/32"'),
        ("a, b", '"a, b"'),
        # Letters as written, for a reviewer to read; what cannot be seen, as its escape.
        ("Zürich", "Zürich"),
        ("josé@acme.example", "josé@acme.example"),
        ("jose\u0301@acme.example", '"jose\u0301@acme.example"'),
        ("ann\u200ba@acme.example", '"ann\\u200ba@acme.example"'),
        ("line\u2028break", '"line\\u2028break"'),
        ("tag\U000e0001", '"tag\\U000e0001"'),
        ("bell\x07", '"bell\\x07"'),
        ("tab\there", '"tab\\there"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("trailing ", '"trailing "'),
    ],
)
def test_scalar_reads_back(value: str, written: str) -> None:
    from ruamel.yaml import YAML

    assert scalar(value) == written
    assert YAML(typ="safe").load(f"- [{written}]\n- {{k: {written}}}\n- {written}\n") == [
        [value],
        {"k": value},
        value,
    ]


FLOW = """\
organization: acme-eu
api: {token_env: T}
users: [{email: a@acme.example, role: User, stores: [MID1]}, {email: root@acme.example, role: Super Admin, stores: all}]
"""  # noqa: E501


def test_flow_style_users_list_stays_flow(tmp_path: Path) -> None:
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("b@acme.example", "Read Only", ["MID2"]),
            live_user("z@acme.example", "Disputes", []),
        ]
    )
    (text,) = _adopt(tmp_path, {"a.yaml": FLOW}, live).values()
    assert text == (
        "organization: acme-eu\napi: {token_env: T}\n"
        "users: [{email: b@acme.example, role: Read Only, stores: [MID2]}, "
        "{email: root@acme.example, role: Super Admin, stores: all}, "
        "{email: z@acme.example, role: Disputes, stores: []}]\n"
    )


def test_type_change_and_expiry_keys_are_added_and_removed(tmp_path: Path) -> None:
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - email: root@acme.example\n    role: Super Admin\n    stores: all\n"
        "  - email: x@p.example  # contractor\n    role: User\n    stores: [MID1]\n"
        "  - {email: y@p.example, type: external, expires: 2030-01-01, stores: [MID1]}\n"
    )
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("x@p.example", "External User", type="external", expires_at="2031-02-03"),
            live_user("y@p.example", "Admin"),
        ]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - email: root@acme.example\n    role: Super Admin\n    stores: all\n"
        "  - email: x@p.example  # contractor\n    role: External User\n    type: external\n"
        "    expires: 2031-02-03\n    stores: [MID1]\n"
        "  - {email: y@p.example, role: Admin, stores: [MID1]}\n"
    )


def test_ranges_renamed_and_emptied_list_filled(tmp_path: Path) -> None:
    text = (
        "organization: acme-eu\napi: {token_env: T}\n"
        "ip_ranges:\n  - name: Office  # renamed on the portal\n    cidr: 10.0.0.0/24\n"
        "users:\n  - {email: root@acme.example, role: Super Admin, stores: all}\n"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"])],
        [live_range("HQ", "10.0.0.0/24"), live_range("v6", "2001:db8::/32")],
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == (
        "organization: acme-eu\napi: {token_env: T}\n"
        "ip_ranges:\n  - name: HQ  # renamed on the portal\n    cidr: 10.0.0.0/24\n"
        '  - name: v6\n    cidr: "2001:db8::/32"\n'
        "users:\n  - {email: root@acme.example, role: Super Admin, stores: all}\n"
    )
    empty = text.replace(
        "ip_ranges:\n  - name: Office  # renamed on the portal\n    cidr: 10.0.0.0/24\n",
        "ip_ranges: []\n",
    )
    (filled,) = _adopt(tmp_path, {"b.yaml": empty}, live).values()
    assert 'ip_ranges: [{name: HQ, cidr: 10.0.0.0/24}, {name: v6, cidr: "2001:db8::/32"}]\n' in (
        filled
    )


def test_a_file_in_canonical_form_stays_in_it(tmp_path: Path) -> None:
    # `Amsterdam` renamed `Zurich` on the portal: renamed in place, the list sorted by name was
    # out of order, and a pre-commit `fmt --check` refused adopt's own output.
    from reconciler.config.reformat import format_text

    text = (
        "organization: acme-eu\napi:\n  token_env: T\nip_ranges:\n"
        "  - name: Amsterdam  # the old office\n    cidr: 10.0.0.0/24\n"
        "  - name: Berlin\n    cidr: 10.1.0.0/24\n"
        "users:\n  - email: root@acme.example\n    role: Super Admin\n    stores: all\n"
    )
    assert format_text(text) == text
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"])],
        [live_range("Zurich", "10.0.0.0/24"), live_range("Berlin", "10.1.0.0/24")],
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text.replace(
        "  - name: Amsterdam  # the old office\n    cidr: 10.0.0.0/24\n"
        "  - name: Berlin\n    cidr: 10.1.0.0/24\n",
        "  - name: Berlin\n    cidr: 10.1.0.0/24\n"
        "  - name: Zurich  # the old office\n    cidr: 10.0.0.0/24\n",
    )
    assert format_text(after) == after
    # a file that was not in canonical form keeps its order: only the changed text is touched
    unsorted = text.replace(
        "  token_env: T\n", "  token_env: T\n  url: http://127.0.0.1:9/api/v1\n"
    )
    assert format_text(unsorted) != unsorted
    (kept,) = _adopt(tmp_path, {"b.yaml": unsorted}, live).values()
    assert kept == unsorted.replace("Amsterdam", "Zurich")


def test_a_range_named_like_a_yaml_11_boolean_is_quoted(tmp_path: Path) -> None:
    """In a file marked `%YAML 1.1`, `NO` (Norway's office) reads as false: adopt refused."""
    text = (
        "%YAML 1.1\n---\norganization: acme-eu\napi: {token_env: T}\n"
        "ip_ranges:\n  - name: Office\n    cidr: 10.0.0.0/24\n"
        "users:\n  - {email: root@acme.example, role: Super Admin, stores: all}\n"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"])],
        [live_range("NO", "10.0.0.0/24"), live_range("on", "10.1.0.0/24")],
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text.replace(
        "  - name: Office\n    cidr: 10.0.0.0/24\n",
        '  - name: "NO"\n    cidr: 10.0.0.0/24\n  - name: "on"\n    cidr: 10.1.0.0/24\n',
    )


def test_a_role_written_as_a_block_scalar_is_replaced_keeping_its_line_break(
    tmp_path: Path,
) -> None:
    """A `|-` scalar's end mark stands on the next line: replacing up to it ate the line break
    (`role: Admin    stores: ...`, invalid YAML) and adopt refused."""
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "  - email: m@acme.example\n    role: |-\n      User\n    stores: [MID1]  # m\n"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"]), live_user("m@acme.example", "Admin")]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text.replace("role: |-\n      User\n", "role: Admin\n")


def test_a_user_added_beside_an_item_whose_dash_stands_alone(tmp_path: Path) -> None:
    """`-` alone on its line (a comment after it): the new item was indented by the distance
    from that `-` to the next line's key, counted across the line break."""
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  -   # the owner\n    email: root@acme.example\n    role: Super Admin\n"
        "    stores: all\n"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"]), live_user("b@acme.example", "User")]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    added = "  - email: b@acme.example\n    role: User\n    stores: [MID1]\n"
    assert after == text.replace("  -   # the owner", added + "  -   # the owner")


def test_an_item_added_to_a_file_without_a_final_newline(tmp_path: Path) -> None:
    """The new item went on the last line itself (`cidr: 10.0.0.0/24- name: v6`)."""
    text = (
        "organization: acme-eu\napi: {token_env: T}\n"
        "users:\n  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "ip_ranges:\n  - name: HQ\n    cidr: 10.0.0.0/24"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"])],
        [live_range("HQ", "10.0.0.0/24"), live_range("v6", "2001:db8::/32")],
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text + '\n  - name: v6\n    cidr: "2001:db8::/32"\n'


def test_a_block_list_of_stores_level_with_its_key_is_emptied(tmp_path: Path) -> None:
    """`stores:` over `- MID1` at the key's own column: `[]` written there read as a key."""
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "- {email: root@acme.example, role: Super Admin, stores: all}\n"
        "- email: m@acme.example\n  role: User\n  stores:\n  - MID1\n"
    )
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"]), live_user("m@acme.example", "User", [])]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text.replace("  stores:\n  - MID1\n", "  stores:\n    []\n")


def test_a_file_written_with_cr_line_breaks_is_edited(tmp_path: Path) -> None:
    """Lines ended by CR alone (old Mac): a removed user took everything from the top of the
    file, an added one had LF breaks; adopt refused."""
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "  # gone\n  - email: m@acme.example\n    role: User\n    stores: [MID1]\n"
    ).replace("\n", "\r")
    live = live_state(
        [live_user(ROOT, "Super Admin", ["MID1", "MID2"]), live_user("b@acme.example", "User")]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    added = "  - {email: b@acme.example, role: User, stores: [MID1]}\r"
    root = "  - {email: root@acme.example, role: Super Admin, stores: all}\r"
    assert after == text.split("  # gone")[0].replace(root, added + root)


def test_multi_file_folder_adds_to_the_first_file_with_users(tmp_path: Path) -> None:
    files = {
        "org/main.yaml": "organization: acme-eu\napi: {token_env: T}  # shared\npolicy:\n"
        "  unmanaged_users: report\n",
        "org/team-a.yaml": "organization: acme-eu\nusers:\n"
        "  - {email: a@acme.example, role: User, stores: [MID1]}\n",
        "org/team-b.yaml": "organization: acme-eu\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "  - {email: z@acme.example, role: User, stores: [MID1]}\n",
    }
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("a@acme.example", "Admin", ["MID1"]),
            live_user("new@acme.example", "User", ["MID2"]),
        ]
    )
    after = _adopt(tmp_path, files, live)
    assert after["org/main.yaml"] == files["org/main.yaml"]
    assert after["org/team-a.yaml"] == (
        "organization: acme-eu\nusers:\n"
        "  - {email: a@acme.example, role: Admin, stores: [MID1]}\n"
        "  - {email: new@acme.example, role: User, stores: [MID2]}\n"
    )
    assert after["org/team-b.yaml"] == (
        "organization: acme-eu\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
    )


def test_a_value_written_as_an_alias_is_refused(tmp_path: Path) -> None:
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - {email: root@acme.example, role: &r Super Admin, stores: all}\n"
        "  - {email: a@acme.example, role: *r, stores: all}\n"
    )
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("a@acme.example", "Admin", ["MID1", "MID2"]),
        ]
    )
    with pytest.raises(AdoptError, match="`role` is written as an alias"):
        _adopt(tmp_path, {"a.yaml": text}, live)


# -- end to end ------------------------------------------------------------------------------

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme",
            "plan": "ultimate",
            "technical_support_access": True,
            "stores": [
                {"id": "MID1", "name": "Web shop"},
                {"id": "MID2", "name": "POS"},
                {"id": "MID3", "name": "Gift: cards"},
            ],
            "ip_ranges": [
                {"name": "HQ", "cidr": "203.0.113.0/25"},
                {"name": "Loopback", "cidr": "127.0.0.0/8"},
                {"name": "New VPN", "cidr": "198.51.100.0/28"},
            ],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
                {"email": "anna@acme.example", "role": "Admin", "stores": ["MID1", "MID2"]},
                {"email": "carol@acme.example", "role": "Disputes", "stores": ["MID3"]},
                {
                    "email": "ext@partner.example",
                    "type": "external",
                    "role": "External User",
                    "expires_at": "2030-06-30",
                    "stores": ["MID2"],
                },
                {"email": "zed@acme.example", "role": "Read Only", "stores": ["MID1", "MID2"]},
                {"email": "gone@acme.example", "role": "Terminated", "stores": []},
            ],
            "tokens": [{"token": TOKEN, "email": "root@acme.example"}],
        }
    ]
}


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _run(emu: EmulatorProcess, *args: str) -> Any:
    env = {"ADOPT_TOKEN": TOKEN, "ACCESSCTL_API_URL": None}
    common = ["--api-url", emu.base_url, "--today", "2026-01-01"]
    return CliRunner().invoke(cli, [*args, *common], env=env)


@pytest.mark.e2e
def test_adopt_keeps_comments_and_layout_then_plan_is_empty(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = tmp_path / "acme.yaml"
    config.write_bytes((FIXTURES / "before.yaml").read_bytes())
    result = _run(emu, "adopt", str(config))
    assert result.exit_code == 0, result.output
    assert config.read_text(encoding="utf-8") == (FIXTURES / "after.yaml").read_text("utf-8")
    assert result.stdout == (
        "acme:\n"
        f"  ~ settings/technical_support_access: false → true ({config})\n"
        f"  + stores/MID3: Gift: cards ({config})\n"
        f"  ~ ip_ranges/HQ: cidr 203.0.113.0/24 → 203.0.113.0/25 ({config})\n"
        f"  - ip_ranges/Old VPN ({config})\n"
        f"  + ip_ranges/New VPN: 198.51.100.0/28 ({config})\n"
        f"  ~ users/anna@acme.example: role User → Admin, stores [MID1] → [MID1, MID2] ({config})\n"
        f"  - users/bob@acme.example: gone from live ({config})\n"
        f"  ~ users/ext@partner.example: expires 2030-01-31 → 2030-06-30 ({config})\n"
        f"  ~ users/zed@acme.example: stores [MID1] → [MID1, MID2] ({config})\n"
        f"  + users/carol@acme.example: Disputes ({config})\n"
        f"1 file rewritten: {config}\n"
    )
    plan = _run(emu, "plan", str(config), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.stdout
    again = _run(emu, "adopt", str(config))
    assert again.exit_code == 0, again.output
    assert again.stdout == "Nothing to adopt: the YAML already matches the live state.\n"


@pytest.mark.e2e
def test_dry_run_prints_the_diff_and_writes_nothing(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = Path("acme.yaml")
    before = (FIXTURES / "before.yaml").read_bytes()
    config.write_bytes(before)
    result = _run(emu, "adopt", str(config), "--dry-run")
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    assert result.stdout.startswith(f"--- a/{config}\n+++ b/{config}\n@@ -4,30 +4,28 @@\n")
    assert "-  technical_support_access: false  # support may not log in\n" in result.stdout
    assert "+  technical_support_access: true  # support may not log in\n" in result.stdout
    assert "-  # Bob left in March\n" in result.stdout
    assert f"1 file would be rewritten: {config}\n" in result.stderr
    # the diff applied is what adopt writes
    import subprocess

    patch = subprocess.run(
        ["patch", "-p1", "-o", "-", str(config)],
        input=result.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert patch.stdout == (FIXTURES / "after.yaml").read_text("utf-8"), patch.stderr


@pytest.mark.e2e
def test_config_errors_and_an_unreachable_api_change_nothing(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organization: acme\nusers:\n  - {email: a@acme.example, role: Boss, stores: []}\n"
    )
    result = _run(emu, "adopt", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3:" in result.stderr and "error[unknown_role]" in result.stderr
    assert "nothing was fetched" in result.stderr and "Traceback" not in result.output
    config = tmp_path / "acme.yaml"
    before = (FIXTURES / "before.yaml").read_bytes()
    config.write_bytes(before)
    env = {"ADOPT_TOKEN": TOKEN, "ACCESSCTL_API_URL": None}
    args = ["adopt", str(config), "--api-url", "http://127.0.0.1:9/api/v1", "--today", "2026-01-01"]
    down = CliRunner().invoke(cli, args, env=env)
    assert down.exit_code == 1
    assert "Error: GET /" in down.stderr and "could not reach" in down.stderr
    assert "Traceback" not in down.output
    assert config.read_bytes() == before
    other = _run(emu, "adopt", str(config), "--org", "globex")
    assert other.exit_code == 1 and "no organization 'globex'" in other.stderr


def test_crlf_unicode_and_bom_free_text_kept(tmp_path: Path) -> None:
    """Offsets are characters, not bytes (a `ü` before the edit), and new lines use the file's
    own line break."""
    text = (
        "# Zürich, Malmö: ünïcödé before every edit\r\norganization: acme-eu\r\n"
        "api: {token_env: T}\r\nusers:\r\n"
        "  - email: root@acme.example  # Zürich\r\n    role: Super Admin\r\n    stores: all\r\n"
    )
    live = live_state(
        [
            live_user(ROOT, "Admin", ["MID1", "MID2"]),
            live_user("zz@acme.example", "User", ["MID1"]),
        ]
    )
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == text.replace("role: Super Admin", "role: Admin") + (
        "  - email: zz@acme.example\r\n    role: User\r\n    stores: [MID1]\r\n"
    )


def test_users_section_added_and_flow_stores_map_extended(tmp_path: Path) -> None:
    text = "organization: acme-eu\napi: {token_env: T}\nstores: {MID1: Web}  # shops\n"
    live = live_state([live_user(ROOT, "Super Admin", ["MID1", "MID2"])])
    (after,) = _adopt(tmp_path, {"a.yaml": text}, live).values()
    assert after == (
        "organization: acme-eu\napi: {token_env: T}\n"
        "stores: {MID1: Web, MID2: Store MID2}  # shops\n"
        "users:\n  - {email: root@acme.example, role: Super Admin, stores: [MID1, MID2]}\n"
    )


STORES = ("MID1", "MID2", "MID3", "?q")
NAMES = ["HQ", "VPN egress", "Lab: 2nd floor", "Zürich office", "#hash", "v6", "?q", "a", "B"]
CIDRS = ["10.0.0.0/24", "10.1.0.0/16", "192.0.2.0/28", "2001:db8::/32", "203.0.113.0/24"]
ROLES = ["Super Admin", "Admin", "User", "Settlement", "Disputes", "Read Only", "Terminated"]


@st.composite
def lives(draw: st.DrawFn) -> LiveState:
    users = [live_user(ROOT, "Super Admin", list(STORES[:2]))]
    for i in range(draw(st.integers(0, 5))):
        stores = draw(st.lists(st.sampled_from(STORES), unique=True))
        email = f"{draw(st.sampled_from(['a', 'B', 'c.d']))}{i}@acme.example"
        if draw(st.booleans()):
            users.append(live_user(email, draw(st.sampled_from(ROLES)), stores))
        else:
            expiry = draw(st.sampled_from(["2030-01-01", "2031-06-30"]))
            users.append(
                live_user(email, "External User", stores, type="external", expires_at=expiry)
            )
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    cidrs = draw(st.lists(st.sampled_from(CIDRS), unique=True, min_size=len(names), max_size=5))
    ranges = [live_range(name, cidr) for name, cidr in zip(names, cidrs, strict=False)]
    return live_state(users, ranges, stores=STORES, support=draw(st.booleans()))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=lives(), second=lives(), flow=st.booleans())
def test_adopt_then_plan_is_empty(
    first: LiveState, second: LiveState, flow: bool, tmp_path: Path
) -> None:
    """Whatever the file said (an export of one live state, in flow or block style, with a
    comment on every line), adopting another live state plans empty and keeps the comments."""
    text = export_yaml(first, api_url="http://127.0.0.1:9/api/v1", token_env="T", today=TODAY)
    if not flow:
        text = _blockish(text)
    commented = "".join(
        f"{line}  # c{n}\n" if line.strip() and not line.lstrip().startswith("#") else f"{line}\n"
        for n, line in enumerate(text.splitlines())
    )
    after = _adopt(tmp_path, {"a.yaml": commented}, second)["a.yaml"]  # verify() plans it
    lines = commented.splitlines()
    written = set(re.findall(r"# c\d+", commented))
    outside_lists = {
        m.group() for line in lines if not line.startswith(("  -", "    "))
        for m in re.finditer(r"# c\d+", line)
    }  # fmt: skip
    found = re.findall(r"# c\d+", after)
    assert len(found) == len(set(found)) and set(found) <= written  # none made up or doubled
    assert outside_lists <= set(found)  # only a removed item takes its comment with it


def _blockish(text: str) -> str:
    """The export's `- {email: …, stores: [...]}` items as block mappings."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("- {") and stripped.endswith("}"):
            from ruamel.yaml import YAML

            item = YAML(typ="safe").load(stripped[2:])
            indent = " " * (len(line) - len(stripped))
            first = True
            for key, value in item.items():
                if key == "stores":
                    written = "[" + ", ".join(scalar(str(s)) for s in value) + "]"
                elif key == "expires":
                    written = value.isoformat()
                else:
                    written = scalar(str(value))
                out.append(f"{indent}{'- ' if first else '  '}{key}: {written}")
                first = False
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def test_a_file_sharing_lists_through_aliases_is_refused(tmp_path: Path) -> None:
    text = (
        "organization: acme-eu\napi: {token_env: T}\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: &both [MID1, MID2]}\n"
        "  - {email: a@acme.example, role: User, stores: *both}\n"
    )
    live = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("a@acme.example", "User", ["MID1"]),
        ]
    )
    with pytest.raises(AdoptError, match="`stores` is written as an alias"):
        _adopt(tmp_path, {"a.yaml": text}, live)
    promoted = live_state(
        [
            live_user(ROOT, "Super Admin", ["MID1", "MID2"]),
            live_user("a@acme.example", "Admin", ["MID1", "MID2"]),
        ]
    )
    with pytest.raises(AdoptError, match="uses a YAML alias or merge key"):
        _adopt(tmp_path, {"a.yaml": text}, promoted)
