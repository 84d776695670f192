"""A large configuration's live state is fetched while the YAML is read (issue 16): the same plan,
the same requests; a configuration with errors still plans nothing and says what was dropped; a
guess from the top of the file that the validated configuration contradicts is not used; a
small configuration with errors still sends nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.emulators import EmulatorPool

from reconciler import prefetch
from reconciler.cli import cli
from reconciler.config.peek import Head, read_head
from reconciler.emulator.testing import EmulatorProcess

pytestmark = pytest.mark.e2e

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "acme",
            "plan": "ultimate",
            "stores": [{"id": "MID1", "name": "Web"}],
            "ip_ranges": [{"name": "HQ", "cidr": "127.0.0.0/8"}],
            "users": [
                {"email": "root@acme.example", "role": "Super Admin", "stores": "all"},
                {"email": "bob@acme.example", "role": "User", "stores": ["MID1"]},
            ],
            "tokens": [{"token": "tok-acme", "email": "root@acme.example"}],
        }
    ]
}
HEAD = "organization: acme\napi:\n  url: http://127.0.0.1:9/api/v1\n  token_env: ACME_TOKEN\n"
BODY = (
    "stores: {MID1: Web}\nip_ranges:\n  - {name: HQ, cidr: 127.0.0.0/8}\nusers:\n"
    "  - {email: root@acme.example, role: Super Admin, stores: all}\n"
    "  - {email: bob@acme.example, role: Read Only, stores: [MID1]}\n"
)
# Comment lines make a file large without making its plan large.
PADDING = "".join(f"# {i:06d} {'.' * 60}\n" for i in range(prefetch.EARLY_FETCH_BYTES // 60))


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(SEED)


def plan(emu: EmulatorProcess, path: Path, *args: str) -> Result:
    env = {"ACME_TOKEN": "tok-acme", "ACCESSCTL_API_URL": emu.base_url, "NO_COLOR": None}
    return CliRunner().invoke(cli, ["plan", str(path), *args], env=env)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _stable(output: str) -> Any:
    plan = json.loads(output)
    for key in ("plan_id", "created_at", "config_digest"):
        plan.pop(key, None)
    for org in plan["orgs"]:
        org.pop("signature", None)
    return plan


def test_a_large_file_plans_the_same_with_the_same_requests(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    emu.reset_request_counts()
    small = plan(emu, write(tmp_path, HEAD + BODY), "--format", "json")
    small_requests = emu.request_counts()
    emu.reset_request_counts()
    large = plan(emu, write(tmp_path, HEAD + BODY + PADDING), "--format", "json")
    assert small.exit_code == large.exit_code == 0, large.output
    assert _stable(large.stdout) == _stable(small.stdout)
    assert emu.request_counts() == small_requests  # one read of each list, no more


def test_a_large_file_with_errors_plans_nothing_and_says_what_was_dropped(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    bad = HEAD + BODY.replace("Read Only", "Read Olny") + PADDING
    started = time.monotonic()
    result = plan(emu, write(tmp_path, bad))
    assert result.exit_code == 1
    assert "Read Only" in result.stderr  # the diagnostic, with its did-you-mean
    assert (
        "the configuration has 1 error; nothing was planned, and the fetch begun meanwhile "
        "was dropped"
    ) in result.stderr
    assert "Traceback" not in result.output
    assert "Organization" not in result.stdout
    assert time.monotonic() - started < 10


def test_a_dropped_fetch_says_nothing_of_its_retries(tmp_path: Path) -> None:
    """The API named at the top refuses connections: the fetch begun early retries, but a
    configuration with errors drops it, and its retry line is never shown."""
    bad = HEAD + BODY.replace("Read Only", "Read Olny") + PADDING
    env = {"ACME_TOKEN": "tok-acme", "ACCESSCTL_API_URL": "http://127.0.0.1:1/api/v1"}
    result = CliRunner().invoke(cli, ["plan", str(write(tmp_path, bad))], env=env)
    assert result.exit_code == 1
    assert "fetch begun meanwhile was dropped" in result.stderr
    assert "retrying" not in result.stderr


def test_a_small_file_with_errors_still_sends_nothing(emu: EmulatorProcess, tmp_path: Path) -> None:
    emu.reset_request_counts()
    result = plan(emu, write(tmp_path, HEAD + BODY.replace("Read Only", "Read Olny")))
    assert result.exit_code == 1
    assert "nothing was fetched" in result.stderr
    assert emu.request_counts() == {}


def test_small_files_that_add_up_to_a_large_configuration_send_nothing_on_errors(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """What a fetch runs beside is one file's read: files each under the size do not start it,
    however many there are."""
    half = PADDING[: len(PADDING) // 2]
    (tmp_path / "a.yaml").write_text(HEAD + BODY.replace("Read Only", "Read Olny") + half)
    (tmp_path / "b.yaml").write_text("organization: acme\n" + half)
    emu.reset_request_counts()
    result = plan(emu, tmp_path)
    assert result.exit_code == 1
    assert "nothing was fetched" in result.stderr
    assert emu.request_counts() == {}


def test_a_guess_the_configuration_contradicts_is_not_used(
    emu: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head names another token variable than the validated file: the early fetch (with
    that variable's token, another organization's) is dropped, and acme is fetched again."""
    path = write(tmp_path, HEAD + BODY + PADDING)
    monkeypatch.setattr(
        "reconciler.config.peek.read_head",
        lambda _path: Head("acme", "http://127.0.0.1:9/api/v1", "OTHER_TOKEN"),
    )
    env = {
        "ACME_TOKEN": "tok-acme",
        "OTHER_TOKEN": "not-a-token-of-acme",
        "ACCESSCTL_API_URL": emu.base_url,
        "NO_COLOR": None,
    }
    result = CliRunner().invoke(cli, ["plan", str(path), "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    changes = _stable(result.stdout)["orgs"][0]["changes"]
    assert [c["address"] for c in changes] == ["users/bob@acme.example"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + BODY, Head("acme", "http://127.0.0.1:9/api/v1", "ACME_TOKEN")),
        ("api:\n  url: u\n  token_env: T\norganization: b\n", Head("b", "u", "T")),
        ("organization: a\nusers: []\napi: {url: u}\n", None),  # not at the top
        ("organization: &o a\napi: {url: u}\n", None),  # an anchor: not a plain head
        ("organization: a\napi: {url: u, token_env: !!str T}\n", None),  # a tag
        ("organization: a\napi:\n  <<: {url: u}\n", None),  # a merge
        ("organization: [a]\napi: {url: u}\n", None),
        ("x: [\n", None),  # does not parse: the loader reports it
        ("%YAML 1.1\n---\norganization: a\napi: {token_env: T}\n", None),
    ],
)
def test_the_head_is_read_only_when_plainly_written(
    tmp_path: Path, text: str, expected: Head | None
) -> None:
    assert read_head(write(tmp_path, text)) == expected


def test_a_closed_client_sends_nothing_more() -> None:
    """How a dropped early fetch stops: its next page is refused before it is sent."""
    import responses

    from reconciler.api.client import AccessApiClient
    from reconciler.errors import AccessctlError

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("http://api.test/api/v1/users", json={"items": [], "next_cursor": None})
        client = AccessApiClient("http://api.test/api/v1", "a-token-of-some-length")
        client.get("/users")
        client.close()
        with pytest.raises(AccessctlError, match="not sent, the client was closed"):
            client.get("/users")
        assert len(mock.calls) == 1
