"""The published JSON Schema of the desired-state YAML, generated from the pydantic models.

Regenerate after changing reconciler/model.py:

    python -m reconciler.config.schema > schemas/accessctl.schema.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reconciler.model import OrgConfig

SCHEMA_ID = "https://accessctl.example/schemas/accessctl.schema.json"


def json_schema() -> dict[str, Any]:
    """The schema as a dict: what editors use to complete and check config files."""
    schema = OrgConfig.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "accessctl organization config",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
