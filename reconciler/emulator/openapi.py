"""The emulator's OpenAPI document, checked in as `schemas/access-api.openapi.json`:

python -m reconciler.emulator.openapi > schemas/access-api.openapi.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reconciler.emulator.app import build_api


def document() -> dict[str, Any]:
    """The OpenAPI document of the access API, as the emulator serves it at /openapi.json."""
    return build_api().openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
