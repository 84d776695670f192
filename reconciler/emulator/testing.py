"""Start the real emulator in a subprocess on a free loopback port, for end-to-end tests.

with EmulatorProcess({"organizations": [...]}) as emu:
    requests.get(emu.base_url + "/me", headers={"Authorization": "Bearer tok"})
    emu.set_faults(error_rate=0.2, seed=1)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import requests

READY_PREFIX = "accessctl emulator listening on "


class EmulatorError(RuntimeError):
    """The emulator did not start (the message carries its stderr)."""


class Api:
    """A tiny client for tests: one session, one token, paths relative to the base URL."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def all_items(self, path: str, limit: int = 200) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following `next_cursor`."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            response = self.get(path, params=params)
            response.raise_for_status()
            body = response.json()
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                return items

    def close(self) -> None:
        self.session.close()


class EmulatorProcess:
    """`python -m reconciler.cli emulator serve --port 0 …` as a context manager."""

    def __init__(
        self,
        seed: dict[str, Any] | str | Path,
        *,
        db: str = ":memory:",
        extra_args: Sequence[str] = (),
        timeout: float = 20.0,
        accessctl: Sequence[str] = (sys.executable, "-m", "reconciler.cli"),
    ) -> None:
        self._seed = seed
        self.accessctl = list(accessctl)  # the command that runs accessctl
        self.db = db
        self.extra_args = list(extra_args)
        self.timeout = timeout
        self.base_url = ""
        self.root_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: list[str] = []
        self.returncode: int | None = None
        self._session = requests.Session()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EmulatorProcess:
        seed_path = self._seed_path()
        command = [
            *self.accessctl, "emulator", "serve",
            "--host", "127.0.0.1", "--port", "0", "--seed", str(seed_path), "--db", self.db,
            *self.extra_args,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self._process.stderr is not None
        threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True).start()
        line = self._wait_for_line()
        self.base_url = line[len(READY_PREFIX) :].strip()
        self.root_url = self.base_url.removesuffix("/api/v1")
        return self

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None:
            self.returncode = process.returncode
        if process is not None and process.stdout is not None:
            process.stdout.close()
        self._session.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def kill(self) -> None:
        """Stop at once (SIGKILL), with no graceful shutdown: for an in-memory emulator whose
        state nobody needs any more (a test session's pool, closing)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self.stop()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    # -- control endpoints -------------------------------------------------------------------

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the fault settings (unnamed ones go back to none); see FaultSettings."""
        return self._control("PUT", "/faults", json=settings)

    def clear_faults(self) -> dict[str, Any]:
        return self._control("PUT", "/faults", json={})

    def reset(self) -> None:
        """Back to how it started: the seed's data (ids from 1 again), the faults given on the
        command line, the real date, no request counts."""
        self._control("POST", "/reset")

    def outbox(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._control("GET", "/outbox")["items"]
        return items

    def accept_invitation(self, email: str, organization: str | None = None) -> int:
        """The invitee accepts: their status goes from `invited` to `active`. How many did."""
        body = {"email": email, "organization": organization}
        accepted: int = self._control("POST", "/invitations/accept", json=body)["accepted"]
        return accepted

    def request_counts(self) -> dict[str, int]:
        """API requests received since the last reset, keyed like `GET /users/{id}`."""
        counts: dict[str, int] = self._control("GET", "/requests")["counts"]
        return counts

    def reset_request_counts(self) -> None:
        self._control("DELETE", "/requests")

    def set_today(self, today: str | None) -> None:
        """Pin the emulator's date (ISO `YYYY-MM-DD`) for expiry rules; None unpins it."""
        self._control("POST", "/time", json={"today": today})

    def record_login(self, organization: str, email: str, ip: str) -> dict[str, Any]:
        """`email` logs in to `organization` from `ip`, now (a `login` audit event)."""
        return self._control(
            "POST", "/logins", json={"organization": organization, "email": email, "ip": ip}
        )

    def api(self, token: str | None) -> Api:
        """A small test client speaking to this emulator with `token` (None: no auth)."""
        return Api(self.base_url, token)

    def audit_events(self, token: str) -> list[dict[str, Any]]:
        """Every audit event of the token's organization, oldest first."""
        api = self.api(token)
        try:
            events = api.all_items("/audit-events")
        finally:
            api.close()
        return sorted(events, key=lambda e: int(e["id"].removeprefix("evt_")))

    # -- internals ---------------------------------------------------------------------------

    def _control(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = self._session.request(
            method, self.root_url + "/_emulator" + path, timeout=30, **kw
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def _seed_path(self) -> Path:
        if isinstance(self._seed, str | Path):
            return Path(self._seed)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="accessctl-emulator-")
        path = Path(self._tmpdir.name) / "seed.json"
        path.write_text(json.dumps(self._seed, default=str), encoding="utf-8")
        return path

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line)
        stream.close()

    def _wait_for_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                if line.startswith(READY_PREFIX):
                    found.append(line)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + self.timeout
        while not found and time.monotonic() < deadline:
            if self._process.poll() is not None:
                reader.join(1)
                break
            reader.join(0.05)
        if found:
            return found[0]
        self.stop_quietly()
        raise EmulatorError(
            f"the emulator did not start within {self.timeout:.0f} s; stderr:\n{self.stderr}"
        )

    def stop_quietly(self) -> None:
        time.sleep(0.1)  # let the stderr reader collect the last lines
        self.stop()
