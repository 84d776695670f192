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
from reconciler.findings import Location
from reconciler.plan import Change

CHANGE = Change(
    address="users/bob@acme.example",
    kind="users",
    action="create",
    after={"email": "bob@acme.example", "role": "User"},
    source=Location(file="acme-eu.yaml", line=42),
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


def test_oversized_pairs_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(UsageError) as info:
        AnnotationContext.from_environ({}, [f"note={'x' * 4000}", "ticket=ACCESS-42"])
    assert "the pairs take 4,033 bytes as JSON; they may take at most 2,048" in info.value.message
    assert AnnotationContext.from_environ({}, [f"note={'x' * 1000}", "ticket=ACCESS-42"]).extra


def test_huge_ci_metadata_is_dropped_before_the_users_pairs() -> None:
    pairs = [f"a={'x' * 900}", f"b={'x' * 900}"]
    context = AnnotationContext.from_environ({**GITHUB, "GITHUB_ACTOR": "y" * 4000}, pairs)
    header = context.header_for("p1", CHANGE)
    data = json.loads(header)
    assert len(header.encode()) <= MAX_ANNOTATION_BYTES
    assert "actor" not in data and "run_url" not in data
    assert data["a"] == data["b"] == "x" * 900
    assert data["commit"] == "0123abcd"
    assert (data["tool"], data["plan"], data["change"]) == ("accessctl", "p1", CHANGE.address)

    # past the budget even so, the user's pairs go (the last first) before the commit
    context = AnnotationContext.from_environ({**GITHUB, "GITHUB_SHA": "c" * 2500}, pairs)
    data = json.loads(context.header_for("p1", CHANGE))
    assert "b" not in data and data["a"] == "x" * 900
    assert data["commit"] == "c" * 2500


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
