"""Bad input is refused or warned about, each with its exact code and line: files that are not
regular or too large, emails with invisible characters or lookalikes, tokens on the command line,
`plan -o` over what is not a plan, and a syntax error reported where it is."""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.emulators import EmulatorPool
from support.plan_builders import ROOT, desired, live_state, live_user

from reconciler.cli import cli
from reconciler.config import LoadResult, load
from reconciler.config import files as config_files
from reconciler.emails import escape, hidden_character, mixed_scripts, normalise, skeleton
from reconciler.emulator.testing import EmulatorProcess
from reconciler.pipeline import lookalikes

TODAY = date(2025, 6, 1)
HEAD = "organization: acme-eu\n"


def _load(path: Path, seconds: float = 5.0) -> LoadResult:
    """`load`, failing the test (not hanging it) when it does not return within `seconds`."""
    box: list[LoadResult] = []
    worker = threading.Thread(target=lambda: box.append(load([str(path)], today=TODAY)))
    worker.daemon = True
    worker.start()
    worker.join(seconds)
    assert box, f"load({path}) did not return within {seconds} s"
    return box[0]


def _codes(result: LoadResult) -> list[tuple[int, str]]:
    return [(d.source.line, d.code) for d in result.diagnostics]


def _write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- files -----------------------------------------------------------------------------------


def test_a_fifo_is_unreadable_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = _load(fifo)
    assert _codes(result) == [(1, "file_unreadable")]
    assert result.diagnostics[0].message == (
        "cannot read file: it is a FIFO (named pipe), not a regular file"
    )


def test_a_fifo_is_unreadable_to_fmt_and_plan(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for args in (["fmt", str(fifo)], ["plan", str(fifo)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert f"{fifo}:1:1: error[file_unreadable]: cannot read file: it is a FIFO" in (
            result.output
        )


@pytest.mark.parametrize("command", [["show"], ["apply", "--dry-run"]])
def test_a_saved_plan_must_be_a_regular_file(tmp_path: Path, command: list[str]) -> None:
    """`show` and `apply` of a FIFO or `/dev/zero` named like a plan answer at once: they used
    to wait for a writer, or read until the memory ran out."""
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "a FIFO (named pipe)"), (zero, "a character device")):
        result = CliRunner().invoke(cli, [command[0], str(path), *command[1:]])
        assert result.exit_code == 1, result.output
        assert f"Error: cannot read plan file {path}: it is {kind}, not a regular file" in (
            result.output
        )
        assert "Traceback" not in result.output


def test_dev_zero_is_unreadable_without_reading_it() -> None:
    result = _load(Path("/dev/zero"))
    assert _codes(result) == [(1, "file_unreadable")]
    assert "a character device, not a regular file" in result.diagnostics[0].message


def test_an_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_files, "MAX_FILE_BYTES", 1024)
    small = _write(tmp_path, HEAD + "# " + "x" * 900 + "\n", "small.yaml")
    big = _write(tmp_path, HEAD + "# " + "x" * 1100 + "\n", "big.yaml")
    assert "file_unreadable" not in [code for _, code in _codes(_load(small))]
    result = _load(big)
    assert _codes(result) == [(1, "file_unreadable")]
    assert result.diagnostics[0].message == (
        "cannot read file: it is larger than 1,024 bytes, the limit for a configuration file "
        "(split it into several files of one organization)"
    )


def test_the_default_cap_is_16_mib() -> None:
    assert config_files.MAX_FILE_BYTES == 16 * 1024 * 1024


# -- emails ----------------------------------------------------------------------------------

USERS = "users:\n"


def _users(*emails: str) -> str:
    return (
        HEAD
        + USERS
        + "".join(f'  - email: "{e}"\n    role: Admin\n    stores: []\n' for e in emails)
    )


def test_nfc_and_nfd_spellings_are_one_user(tmp_path: Path) -> None:
    composed, decomposed = "jos\u00e9@acme.example", "jose\u0301@acme.example"
    assert composed != decomposed and normalise(composed) == normalise(decomposed)
    result = _load(_write(tmp_path, _users(composed, decomposed)))
    assert _codes(result) == [(6, "duplicate_email")]
    (org,) = result.orgs
    assert [u.email for u in org.config.users] == [composed]


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\x07", "U+0007"),
        ("\u00ad", "U+00AD SOFT HYPHEN"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u3164", "U+3164 HANGUL FILLER"),
    ],
)
def test_invisible_characters_are_invalid_emails(tmp_path: Path, char: str, name: str) -> None:
    email = f"ann{char}a@acme.example"
    text = _users("ok@acme.example", email.replace("\x07", "\\a"))
    result = _load(_write(tmp_path, text))
    assert _codes(result) == [(6, "invalid_email")]
    diag = result.diagnostics[0]
    assert diag.hint is not None and name in diag.hint
    assert diag.message.startswith(f"`{escape(email)}` is not an email address: it holds U+")
    assert char not in diag.message


def test_an_email_longer_than_mail_can_carry_is_invalid(tmp_path: Path) -> None:
    # 254 characters is the most a mail path holds (RFC 5321); the API refuses longer ones, so
    # a plan would invite an address whose invitation can only fail, half-way through apply.
    longest = "a" * (254 - len("@acme.example")) + "@acme.example"
    too_long = "b" + longest
    result = _load(_write(tmp_path, _users(longest, f"  {too_long}  ")))
    assert _codes(result) == [(6, "invalid_email")]
    diag = result.diagnostics[0]
    assert "it is 255 characters long, and an address has at most 254" in diag.message
    assert diag.message.startswith("`baaaa") and too_long not in diag.message  # cut short


def test_text_output_shows_invisible_characters_escaped(tmp_path: Path) -> None:
    path = _write(tmp_path, _users("zero\u200bwidth@acme.example", "ab\u202ecd@acme.example"))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output == (
        f"{path}:3:12: error[invalid_email]: `zero\\u200bwidth@acme.example` is not an email "
        "address: it holds U+200B\n"
        "    hint: remove U+200B ZERO WIDTH SPACE: it cannot be seen, or it reorders the text "
        "around it\n"
        f"{path}:6:12: error[invalid_email]: `ab\\u202ecd@acme.example` is not an email "
        "address: it holds U+202E\n"
        "    hint: remove U+202E RIGHT-TO-LEFT OVERRIDE: it cannot be seen, or it reorders the "
        "text around it\n"
        "2 errors, 0 warnings in 1 file\n"
    )


def test_a_cyrillic_lookalike_of_a_declared_address_is_confusable(tmp_path: Path) -> None:
    real, fake = "example@acme.example", "ex\u0430mple@acme.example"  # Cyrillic а
    result = _load(_write(tmp_path, _users(real, fake)))
    assert _codes(result) == [(6, "confusable_email")]
    diag = result.diagnostics[0]
    assert diag.severity == "warning"
    assert f"looks like `{real}` ({tmp_path / 'acme.yaml'}:3)" in diag.message
    assert diag.hint is not None and "ex\\u0430mple@acme.example" in diag.hint


def test_a_lookalike_is_reported_in_either_order_and_across_organizations(
    tmp_path: Path,
) -> None:
    fake = "\u0440aypal@acme.example"  # a Cyrillic р, then Latin letters
    _write(tmp_path, _users(fake), "a.yaml")
    _write(tmp_path, "organization: globex\n" + USERS + "  - {email: paypal@acme.example, "
           "role: Admin, stores: []}\n", "b.yaml")  # fmt: skip
    result = load([str(tmp_path)], today=TODAY)
    assert [(Path(d.source.file).name, d.source.line, d.code) for d in result.diagnostics] == [
        ("a.yaml", 3, "confusable_email"),  # mixes Cyrillic and Latin letters
        ("b.yaml", 3, "confusable_email"),  # looks like a.yaml's
    ]
    assert "mixes Cyrillic and Latin letters" in result.diagnostics[0].message


def test_one_script_per_part_is_not_mixed(tmp_path: Path) -> None:
    result = _load(_write(tmp_path, _users("иван@пример.рф", "jürgen@bücher.example")))
    assert _codes(result) == []


def test_a_declared_lookalike_of_a_live_address_is_warned_about_in_the_plan() -> None:
    fake = "b\u043eb@acme.example"  # Cyrillic о
    org = desired(
        users=[
            {"email": ROOT, "role": "Super Admin", "stores": []},
            {"email": fake, "role": "User", "stores": []},
        ]
    )
    live = live_state([live_user(ROOT, "Super Admin"), live_user("bob@acme.example", "User")])
    (finding,) = lookalikes(org, live)
    assert (finding.code, finding.severity) == ("confusable_email", "warning")
    assert finding.address == f"users/{fake}"
    assert "looks like the live user bob@acme.example" in finding.message
    assert "b\\u043eb@acme.example" in finding.message
    same = live_state([live_user(ROOT, "Super Admin"), live_user(fake, "User")])
    assert lookalikes(org, same) == []


def test_email_helpers() -> None:
    assert hidden_character("plain@acme.example") is None
    assert hidden_character("a\u200db@x.example") == "\u200d"
    assert skeleton("ex\u0430mple@x.example") == skeleton("EXAMPLE@x.example")
    assert skeleton("jos\u00e9@x.example") != skeleton("jose@x.example")
    assert mixed_scripts("p\u0430ypal@x.example") == ["CYRILLIC", "LATIN"]
    assert mixed_scripts("\u0440\u0430@x.example") is None


# -- syntax errors where they are ------------------------------------------------------------


def test_a_syntax_error_after_a_flow_mapping_url_is_reported_at_its_own_line(
    tmp_path: Path,
) -> None:
    text = (
        HEAD
        + "api: {url: http://127.0.0.1:8765/api/v1, token_env: ACME_TOKEN}\n"
        + "users:\n"
        + "  - email: a@acme.example\n"
        + "    role: Admin\n"
        + "  bad: [\n"
    )
    result = _load(_write(tmp_path, text))
    assert _codes(result) == [(6, "yaml_syntax")]
    assert result.diagnostics[0].hint is None  # not the URL's quoting hint


def test_the_flow_mapping_url_alone_still_loads(tmp_path: Path) -> None:
    text = HEAD + "api: {url: http://127.0.0.1:8765/api/v1, token_env: ACME_TOKEN}\nusers: []\n"
    assert _codes(_load(_write(tmp_path, text))) == []


# -- against the emulator: tokens on the command line, plan -o -------------------------------

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme-eu",
            "plan": "ultimate",
            "technical_support_access": True,
            "stores": [{"id": "MID1", "name": "Web"}],
            "ip_ranges": [{"name": "HQ", "cidr": "127.0.0.0/8"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": ["MID1"]},
                {"email": "bob@acme.example", "role": "User", "stores": ["MID1"]},
            ],
            "tokens": [{"token": "tok-hostile-root", "email": "root@acme.example"}],
        }
    ]
}
TOKEN = "tok-hostile-root"


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def _config(tmp_path: Path, token_env: str, users: str = "") -> Path:
    return _write(
        tmp_path,
        HEAD + f"api:\n  url: http://127.0.0.1:9/api/v1\n  token_env: {token_env}\n"
        "stores:\n  MID1: Web\nip_ranges:\n  - {name: HQ, cidr: 127.0.0.0/8}\nusers:\n"
        "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
        "  - {email: bob@acme.example, role: User, stores: [MID1]}\n" + users,
    )


def _run(emu: EmulatorProcess, token_env: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        [*args, "--api-url", emu.base_url, "--today", "2025-06-01"],
        env={token_env: TOKEN, "ACCESSCTL_API_URL": None, "NO_COLOR": None},
    )


@pytest.mark.parametrize("token_env", ["ACME_TOKEN", "ACME_API"])
def test_a_token_in_annotate_is_refused_before_anything_is_shown_or_sent(
    emu: EmulatorProcess, tmp_path: Path, token_env: str
) -> None:
    """`ACME_TOKEN` is caught by its name before the command runs; `ACME_API` once the plan
    names it as its token variable, still before the plan or a request is shown."""
    config = _config(tmp_path, token_env, "  - {email: new@acme.example, role: User, stores: []}\n")
    emu.reset_request_counts()
    result = _run(emu, token_env, "apply", str(config), "--dry-run", "--annotate", f"n={TOKEN}")
    assert result.exit_code == 1, result.output
    assert TOKEN not in result.output
    assert f"an argument holds the value of ${token_env}, a token" in result.output
    assert "POST" not in result.output and "users/new@acme.example" not in result.output
    counts = emu.request_counts()
    assert all(key.startswith("GET ") for key in counts), counts
    if token_env == "ACME_TOKEN":
        assert counts == {}  # refused before the config was even read


def test_a_token_anywhere_on_the_command_line_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", str(tmp_path / f"{TOKEN}.yaml")], env={"MY_SECRET": TOKEN}
    )
    assert result.exit_code == 1
    assert TOKEN not in result.output
    assert "$MY_SECRET" in result.output


def test_variables_holding_names_are_not_secrets(tmp_path: Path) -> None:
    path = _write(tmp_path, HEAD + "users: []\n")
    result = CliRunner().invoke(cli, ["validate", str(path)], env={"ACME_TOKEN_FILE": str(path)})
    assert result.exit_code == 0, result.output


def test_plan_o_refuses_a_file_that_is_not_a_plan(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = _config(tmp_path, "ACME_TOKEN")
    notes = tmp_path / "notes.json"
    notes.write_text('{"keep": "me"}\n', encoding="utf-8")
    emu.reset_request_counts()
    result = _run(emu, "ACME_TOKEN", "plan", str(config), "-o", str(notes))
    assert result.exit_code == 1
    assert f"-o {notes} exists and is not a saved plan; it was left as it is" in result.output
    assert notes.read_text(encoding="utf-8") == '{"keep": "me"}\n'
    assert emu.request_counts() == {}  # refused before any fetch


def test_plan_o_refuses_a_symlink_and_leaves_its_target(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    config = _config(tmp_path, "ACME_TOKEN")
    target = tmp_path / "precious.txt"
    target.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "plan.json"
    link.symlink_to(target)
    result = _run(emu, "ACME_TOKEN", "plan", str(config), "-o", str(link))
    assert result.exit_code == 1
    assert f"-o {link} is a symbolic link; a plan is not written through one" in result.output
    assert target.read_text(encoding="utf-8") == "precious\n" and link.is_symlink()


def test_plan_o_replaces_an_earlier_plan(emu: EmulatorProcess, tmp_path: Path) -> None:
    config = _config(tmp_path, "ACME_TOKEN")
    out = tmp_path / "plan.json"
    first = _run(emu, "ACME_TOKEN", "plan", str(config), "-o", str(out))
    assert first.exit_code == 0, first.output
    plan_id = json.loads(out.read_text(encoding="utf-8"))["plan_id"]
    again = _run(emu, "ACME_TOKEN", "plan", str(config), "-o", str(out))
    assert again.exit_code == 0, again.output
    assert json.loads(out.read_text(encoding="utf-8"))["plan_id"] != plan_id
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan.json")] == []
