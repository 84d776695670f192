"""reconciler/pipeline.py: where the API URL comes from, and what a wrong one says."""

from __future__ import annotations

import pytest

from reconciler.errors import UsageError
from reconciler.pipeline import API_URL_ENV, resolve_url

CONFIGURED = "https://config.example/api/v1"


def test_flag_then_environment_then_config() -> None:
    env = {API_URL_ENV: "https://env.example/api/v1"}
    assert resolve_url(CONFIGURED, env, "http://127.0.0.1:1/api/v1") == "http://127.0.0.1:1/api/v1"
    assert resolve_url(CONFIGURED, env, None) == "https://env.example/api/v1"
    assert resolve_url(CONFIGURED, {}, None) == CONFIGURED


@pytest.mark.parametrize(
    ("configured", "env", "flag", "message"),
    [
        (CONFIGURED, {}, "", "--api-url is empty"),
        (CONFIGURED, {}, "127.0.0.1:8765/api/v1", "--api-url is not an http:// or https:// URL"),
        (CONFIGURED, {API_URL_ENV: "ftp://x"}, None, f"${API_URL_ENV} is not an http"),
        ("user:secret@host/api", {}, None, "api.url is not an http:// or https:// URL"),
        (None, {}, None, "no access API URL"),
        (CONFIGURED, {}, "http://svc:secret@127.0.0.1:8/api/v1", "--api-url holds credentials"),
        (CONFIGURED, {}, "http://127.0.0.1:99999/api/v1", "--api-url is not valid (check the"),
        (CONFIGURED, {}, "http://127.0.0.1:secret/api/v1", "--api-url is not valid"),
        (CONFIGURED, {}, "http://[::1", "--api-url is not valid"),
        (CONFIGURED, {API_URL_ENV: "https://h/api/v1?k=secret"}, None, "has a query or fragment"),
        ("https://h/api/v1#secret", {}, None, "api.url has a query or fragment"),
        (CONFIGURED, {}, "http://127.0.0.1:0/api/v1", "--api-url is not valid"),
        (CONFIGURED, {}, "http://exa mple/api/v1", "--api-url is not valid"),
    ],
)
def test_a_wrong_url_names_where_it_came_from(
    configured: str | None, env: dict[str, str], flag: str | None, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        resolve_url(configured, env, flag)
    assert message in str(info.value)
    assert "secret" not in str(info.value)


def test_the_scheme_may_be_written_in_capitals() -> None:
    assert resolve_url(None, {}, "HTTPS://Host.example/api/v1") == "https://Host.example/api/v1"
