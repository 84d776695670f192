"""The reference access API: a FastAPI app over SQLite that enforces every rule of SPEC §2.

`app.create_app` builds the ASGI app, `server.serve` runs it with uvicorn, `testing` starts it as a
subprocess for end-to-end tests, and `openapi` prints its OpenAPI document.
"""
