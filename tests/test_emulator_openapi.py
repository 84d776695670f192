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
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reconciler.emulator.openapi import document, render
from reconciler.emulator.testing import EmulatorProcess

ROOT = Path(__file__).parent.parent
CHECKED_IN = ROOT / "schemas" / "access-api.openapi.json"
WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"

PARAM = re.compile(r"{\w+}")
schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(WORLD) as process:
        yield process


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


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_to_its_document(case: Any, emu: EmulatorProcess) -> None:
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


def test_schemathesis_reached_every_operation(emu: EmulatorProcess) -> None:
    """Runs after the generated tests (file order): each operation was really called."""
    counts = emu.request_counts()
    operations = [
        method.upper() + " " + PARAM.sub("{id}", path.removeprefix("/api/v1"))
        for path, ops in document()["paths"].items()
        for method in ops
    ]
    assert all(counts.get(op, 0) >= 5 for op in operations), counts
