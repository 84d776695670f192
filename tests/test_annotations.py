"""X-Audit-Annotation: content from the plan and the CI environment, and the 4096-byte limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.annotations import (
    MAX_ANNOTATION_BYTES,
    AnnotationContext,
    ci_from_environ,
    parse_annotation,
    parse_pairs,
)
from reconciler.errors import UsageError
from reconciler.plan import Change, SourceRef

CHANGE = Change(
    address="users/bob@acme.example",
    kind="users",
    action="create",
    after={"email": "bob@acme.example", "role": "User"},
    source=SourceRef(file="acme-eu.yaml", line=42),
)

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123abcd",
    "GITHUB_REF": "refs/pull/17/merge",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/access",
    "GITHUB_RUN_ID": "99",
}


def test_plain_run_has_tool_plan_change_and_source() -> None:
    header = AnnotationContext.from_environ({}).header_for("p1", CHANGE)
    assert json.loads(header) == {
        "tool": "accessctl",
        "version": __version__,
        "plan": "p1",
        "change": "users/bob@acme.example",
        "source": "acme-eu.yaml:42",
    }
    assert " " not in header  # compact


def test_github_actions_metadata() -> None:
    data = json.loads(AnnotationContext.from_environ(GITHUB).header_for("p1", CHANGE))
    assert data["ci"] == "github-actions"
    assert data["commit"] == "0123abcd"
    assert data["ref"] == "refs/pull/17/merge"
    assert data["pr"] == "17"
    assert data["actor"] == "octocat"
    assert data["run_url"] == "https://github.com/acme/access/actions/runs/99"


def test_github_pr_number_from_event_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 23}}), encoding="utf-8")
    env = {**GITHUB, "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(event)}
    assert ci_from_environ(env).pr == "23"
    assert ci_from_environ({**env, "GITHUB_EVENT_PATH": str(tmp_path / "missing")}).pr is None


def test_gitlab_ci_metadata() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": "feedbeef",
        "CI_COMMIT_REF_NAME": "main",
        "CI_MERGE_REQUEST_IID": "5",
        "GITLAB_USER_LOGIN": "alice",
        "CI_JOB_URL": "https://gitlab.example/acme/access/-/jobs/7",
    }
    info = ci_from_environ(env)
    assert (info.system, info.commit, info.ref, info.pr, info.actor) == (
        "gitlab-ci",
        "feedbeef",
        "main",
        "5",
        "alice",
    )
    assert info.run_url == "https://gitlab.example/acme/access/-/jobs/7"


def test_annotate_pairs_are_added() -> None:
    context = AnnotationContext.from_environ({}, ["ticket=SEC-1", "reason=quarterly review"])
    data = json.loads(context.header_for("p1", CHANGE))
    assert data["ticket"] == "SEC-1"
    assert data["reason"] == "quarterly review"


@pytest.mark.parametrize("pair", ["noequals", "=v", "plan=x", "tool=x", "bad key=v"])
def test_bad_or_reserved_pairs_are_usage_errors(pair: str) -> None:
    with pytest.raises(UsageError):
        parse_pairs([pair])


def test_oversized_annotation_drops_user_pairs_first_then_run_url() -> None:
    big = "x" * 3000
    context = AnnotationContext.from_environ(GITHUB, [f"a={big}", f"b={big}"])
    data = json.loads(context.header_for("p1", CHANGE))
    assert "b" not in data and "a" in data  # the last pair goes first
    assert data["run_url"]

    context = AnnotationContext.from_environ({**GITHUB, "GITHUB_ACTOR": "y" * 4000}, [f"a={big}"])
    header = context.header_for("p1", CHANGE)
    data = json.loads(header)
    assert len(header.encode()) <= MAX_ANNOTATION_BYTES
    assert "a" not in data and "run_url" not in data and "actor" not in data
    assert data["commit"] == "0123abcd"
    assert (data["tool"], data["plan"], data["change"]) == ("accessctl", "p1", CHANGE.address)


def test_non_ascii_is_escaped_and_measured_in_bytes() -> None:
    context = AnnotationContext.from_environ({}, ["who=Åsa Öberg"])
    header = context.header_for("p1", CHANGE)
    assert header.isascii()
    assert json.loads(header)["who"] == "Åsa Öberg"


def test_parse_annotation_accepts_text_or_object() -> None:
    assert parse_annotation('{"tool":"accessctl"}') == {"tool": "accessctl"}
    assert parse_annotation({"tool": "x"}) == {"tool": "x"}
    assert parse_annotation("not json") is None
    assert parse_annotation(None) is None
