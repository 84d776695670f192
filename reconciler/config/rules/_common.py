from __future__ import annotations

from reconciler.config.diagnostics import Severity
from reconciler.findings import Finding, Location


def diag(
    src: Location, code: str, message: str, hint: str | None = None, severity: Severity = "error"
) -> Finding:
    return Finding(severity=severity, code=code, message=message, source=src, hint=hint)
