"""accessctl: access as code for a merchant platform."""

from __future__ import annotations

__version__ = "0.1.0"
TOOL_NAME = "accessctl"
