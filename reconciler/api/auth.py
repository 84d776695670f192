"""The API token, kept out of sight: a `Secret` no repr, str or log formatting can show, the
bearer auth that alone reveals it (in the `Authorization` header), and the check that it can be
sent as a header at all."""

from __future__ import annotations

import requests
import requests.auth

from reconciler.errors import AccessctlError

REDACTED = "***"


class Secret:
    """Holds the token so that no repr, str or log formatting can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<secret {REDACTED}>"

    __str__ = __repr__


class BearerAuth(requests.auth.AuthBase):
    """Passing auth explicitly also stops requests from reading ~/.netrc over our header."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"<bearer {REDACTED}>"


def check_token(token: str) -> str:
    """The token without surrounding blanks; AccessctlError when it cannot be a header value."""
    token = token.strip()
    if not token:
        raise AccessctlError("The API token is empty.")
    if not all(33 <= ord(ch) <= 126 for ch in token):
        # requests would reject the header and quote its value in the error: refuse first.
        raise AccessctlError(
            "The API token contains spaces, line breaks or non-ASCII characters.",
            hint="Store the bare token in the variable, without quotes or the `Bearer ` prefix.",
        )
    return token
