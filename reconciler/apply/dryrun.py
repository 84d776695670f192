"""`--dry-run`: a client that records the requests the executor would send, and sends none.

Running the real executor against it means the printed requests are exactly the ones a real
apply sends: same order, same bodies, same headers. The Authorization header is never shown, and
the ids, etags and names in the printed text pass through `visible`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.api.client import write_headers
from reconciler.apply.calls import Method
from reconciler.display import visible

_JSON = {"Content-Type": "application/json"}  # what `requests` adds to a JSON body


@dataclass(frozen=True)
class RecordedRequest:
    organization: str
    method: Method
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
        }

    def render(self, base_url: str = "") -> str:
        lines = [f"{self.method} {base_url}{self.path}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines.append("")
            lines.append(json.dumps(self.body, separators=(",", ":"), ensure_ascii=False))
        return "\n".join(visible(line) for line in lines)


class RecordingClient:
    """Answers every mutating request as if it succeeded; reads are refused (a dry run of a plan
    never needs one: nothing is ambiguous when nothing is sent)."""

    def __init__(self, organization: str) -> None:
        self.organization = organization
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def _record(
        self, method: Method, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        with self._lock:
            self.requests.append(RecordedRequest(self.organization, method, path, headers, body))
        return dict(body or {})

    def get(self, path: str) -> Any:
        raise RuntimeError(f"dry run: unexpected read of {path}")

    def post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        annotation: str | None,
    ) -> Any:
        headers = write_headers(annotation=annotation, idempotency_key=idempotency_key)
        return self._record("POST", path, body, {**_JSON, **headers})

    def patch(
        self, path: str, body: dict[str, Any], *, if_match: str | None, annotation: str | None
    ) -> Any:
        headers = write_headers(annotation=annotation, if_match=if_match)
        return self._record("PATCH", path, body, {**_JSON, **headers})

    def delete(self, path: str, *, if_match: str | None, annotation: str | None) -> Any:
        headers = write_headers(annotation=annotation, if_match=if_match)
        self._record("DELETE", path, None, headers)
        return None
