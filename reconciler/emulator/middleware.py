"""The outermost ASGI layer: counts API requests, injects faults, guards `/_emulator/`."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator.faults import sleep
from reconciler.emulator.problems import Problem
from reconciler.emulator.state import EmulatorState

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_emulator"
_ID_SEGMENT = re.compile(r"^(/(?:users|ip-ranges))/[^/]+$")


def path_pattern(path: str) -> str:
    """`/api/v1/users/usr_3` -> `/users/{id}`: how request counts are keyed."""
    rest = path[len(API_PREFIX) :] or "/"
    return _ID_SEGMENT.sub(r"\1/{id}", rest)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        client = scope.get("client")
        if path.startswith(CONTROL_PREFIX) and not is_loopback(client[0] if client else None):
            await _send_problem(send, Problem("forbidden", "control endpoints are loopback-only"))
            return
        if not path.startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        self.state.requests.add(f"{method} {path_pattern(path)}")
        decision = self.state.faults.decide(method)
        await sleep(decision.latency_s)
        if decision.outcome == "pass":
            await self.app(scope, receive, send)
        elif decision.outcome == "error500":
            await _send_problem(send, Problem("server_error", "injected fault: internal error"))
        elif decision.outcome == "error503":
            await _send_problem(send, Problem("unavailable", "injected fault: unavailable"))
        elif decision.outcome == "rate_limited":
            retry = str(decision.retry_after)
            problem = Problem(
                "rate_limited",
                f"rate limit exceeded: retry in {retry} s",
                headers={"Retry-After": retry},
            )
            await _send_problem(send, problem)
        elif decision.outcome == "drop":
            await _drop(send)
        else:  # drop_after_commit: let the app do its work, swallow the answer, drop

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(send)


async def _send_problem(send: Send, problem: Problem) -> None:
    response = problem.response()
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def _drop(send: Send) -> None:
    """Close the connection without answering.

    uvicorn's `send` is a bound method of its request cycle, which holds the transport: closing
    it makes the client see the connection closed with no response at all. The cycle notices the
    loss on the next loop turns, so it neither logs nor writes a 500 afterwards.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # not uvicorn: fall back to a truncated answer
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]}
        )
        raise ConnectionAbortedError("injected fault: connection dropped")
    transport.close()
    for _ in range(50):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
