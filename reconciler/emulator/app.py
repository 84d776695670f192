"""The ASGI app: routers under `/api/v1`, problem+json for every error, the emulator middleware."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from reconciler import __version__
from reconciler.emulator.middleware import API_PREFIX, EmulatorMiddleware
from reconciler.emulator.problems import PROBLEM_SCHEMA, Problem
from reconciler.emulator.routes import audit, control, org, ranges, users
from reconciler.emulator.state import EmulatorState

TITLE = "accessctl access API"
DESCRIPTION = (
    "The access API contract (v1) as implemented by the accessctl emulator: users, roles, store "
    "grants, allowed IP ranges, technical support access and the audit log. Errors are "
    "application/problem+json.\n\n"
    "Login history: a successful login is a `login` audit event (`actor` the user's email, `ip` "
    "the address, `at` the time); `GET /audit-events?action=login` (repeatable: "
    "`&action=user.invited`) lists only those. Emulator only, loopback only and not part of the "
    'contract: `POST /_emulator/logins` with `{"organization", "email", "ip"}` records a '
    "login now (201), and a seed's `logins: [{email, ip, at}]` records past ones."
)


def build_api(state: EmulatorState | None = None) -> FastAPI:
    """The FastAPI app without the outer middleware (what the OpenAPI document is made from)."""
    api = FastAPI(
        title=TITLE, version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None
    )
    api.state.emulator = state
    for module in (org, users, ranges, audit):
        api.include_router(module.router, prefix=API_PREFIX)
    api.include_router(control.router)
    api.add_exception_handler(Problem, _problem)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(HTTPException, _http)
    api.add_exception_handler(Exception, _bug)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            _drop_default_validation_schemas(document)
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def create_app(state: EmulatorState) -> ASGIApp:
    return EmulatorMiddleware(build_api(state), state)


def _drop_default_validation_schemas(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response()


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "header", "path")]
        errors.append((".".join(loc) or "body", str(error.get("msg", "invalid"))))
    detail = "; ".join(f"{f}: {m}" for f, m in errors) or "the request is not valid"
    return Problem("invalid", detail, errors=errors).response()


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return Problem("not_found", f"no such endpoint: {request.url.path}").response()
    if exc.status_code == 405:
        return Problem("method_not_allowed", f"{request.method} is not allowed here").response()
    if exc.status_code == 415:
        return Problem("unsupported_media_type", str(exc.detail)).response()
    if exc.status_code == 400:
        return Problem("invalid", str(exc.detail)).response()
    return Problem("server_error", str(exc.detail)).response()


async def _bug(request: Request, exc: Exception) -> Response:
    return Problem("server_error", f"unexpected error: {type(exc).__name__}").response()
