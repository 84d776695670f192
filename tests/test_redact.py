from __future__ import annotations

import logging

import pytest

from reconciler.redact import MASK, SecretFilter, redact, register_secret


def test_registered_secrets_are_masked_longest_first() -> None:
    register_secret("abcdef-secret")
    register_secret("abcdef-secret-longer")
    assert redact("x abcdef-secret-longer y abcdef-secret") == f"x {MASK} y {MASK}"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc") == "abc"


def test_log_records_are_masked_whatever_their_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret("tok-filter-0123")
    logger = logging.getLogger("accessctl.test-redact")
    logger.addFilter(SecretFilter())
    with caplog.at_level(logging.DEBUG, logger="accessctl.test-redact"):
        logger.debug("sent %s to %s", "Bearer tok-filter-0123", "host")
    assert caplog.records[0].getMessage() == f"sent Bearer {MASK} to host"
    assert "tok-filter-0123" not in caplog.text
