"""Why a sign-in stopped: the stable error codes and the exception that carries them."""

from __future__ import annotations

from typing import Literal

__all__ = ["OAuthError", "OAuthErrorCode", "provider_unavailable"]

OAuthErrorCode = Literal[
    "oauth/unknown-provider",
    "oauth/state-mismatch",
    "oauth/code-rejected",
    "oauth/id-token-invalid",
    "oauth/provider-unavailable",
    "oauth/access-denied",
]


class OAuthError(Exception):
    """A sign-in that cannot go on. The message is safe to show: it holds no secret."""

    def __init__(self, code: OAuthErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: OAuthErrorCode = code
        self.message = message


def provider_unavailable(provider: str) -> OAuthError:
    return OAuthError("oauth/provider-unavailable", f"{provider} cannot be reached right now")
