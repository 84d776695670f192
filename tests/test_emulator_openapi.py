"""The checked-in OpenAPI document is current; the running emulator keeps to it (schemathesis)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.emulators import EmulatorPool

from reconciler.emulator.openapi import document, render
from reconciler.emulator.testing import EmulatorProcess

ROOT = Path(__file__).parent.parent
CHECKED_IN = ROOT / "schemas" / "access-api.openapi.json"
WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"

PARAM = re.compile(r"{\w+}")
schema = schemathesis.openapi.from_dict(document())


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    return emulators.get(WORLD)


def test_checked_in_document_is_current() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == render(), (
        "schemas/access-api.openapi.json is stale: run "
        "`python -m reconciler.emulator.openapi > schemas/access-api.openapi.json`"
    )


def test_the_server_serves_the_same_document(emu: EmulatorProcess) -> None:
    served = requests.get(emu.root_url + "/openapi.json", timeout=10).json()
    assert served == json.loads(render())


def test_every_error_answer_is_documented_as_problem_json() -> None:
    doc = document()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            errors = {s for s in operation["responses"] if s.startswith(("4", "5"))}
            assert {"400", "401", "403", "404", "422", "429", "500", "503"} <= errors, (
                method,
                path,
            )
            for status in errors:
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)


def _counted(label: str) -> str:
    """`GET /api/v1/users/{user_id}` as the emulator counts it: `GET /users/{id}`."""
    method, path = label.split(" ", 1)
    return method.upper() + " " + PARAM.sub("{id}", path.removeprefix("/api/v1"))


@pytest.fixture
def reached(emu: EmulatorProcess) -> Iterator[set[str]]:
    """The operations a test called; once all its examples ran, the emulator (reset for this
    test) must have counted at least five requests to each: the examples were sent, not all
    filtered out before reaching the server."""
    called: set[str] = set()
    yield called
    counts = emu.request_counts()
    assert called, "no example was generated"
    assert all(counts.get(_counted(label), 0) >= 5 for label in called), (called, counts)


# One test per operation with an ordinary pytest id (`schema.parametrize()` gives its items the
# same node id, so pytest-xdist ran one of them and dropped the rest).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_keeps_to_its_document(operation: Any, emu: EmulatorProcess, reached: set[str]) -> None:
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        reached.add(case.operation.label)
        case.call_and_validate(
            base_url=emu.root_url,
            headers={"Authorization": "Bearer tok-root"},
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    call()


def test_schemathesis_generates_a_test_for_every_operation() -> None:
    """With the `reached` check above: every operation of the document is really called. This
    half needs no other test to have run first (any order, any xdist worker)."""
    documented = [
        method.upper() + " " + path for path, ops in document()["paths"].items() for method in ops
    ]
    assert sorted(op.label for op in OPERATIONS) == sorted(documented)
