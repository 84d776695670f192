from __future__ import annotations

from reconciler.config.diagnostics import Diagnostic, Severity
from reconciler.findings import Location


def diag(
    src: Location, code: str, message: str, hint: str | None = None, severity: Severity = "error"
) -> Diagnostic:
    return Diagnostic(src.file, src.line, src.column, severity, code, message, hint)
