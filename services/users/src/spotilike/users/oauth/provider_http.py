"""The HTTP calls to the providers: the code exchange and JSON reads, failures as OAuthError.

A plain ``httpx.AsyncClient`` with a timeout on each call; the package docstring says why
not Authlib's httpx client.
"""

from __future__ import annotations

from typing import Any

import httpx

from spotilike.users.oauth.errors import OAuthError, provider_unavailable

__all__ = ["ProviderHttp"]


class ProviderHttp:
    """One HTTP client for every provider call of a process; call :meth:`aclose`."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def exchange_code(
        self,
        provider: str,
        token_url: str,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        client_id: str,
        client_secret: str,
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        try:
            response = await self._http.post(
                token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as error:
            raise provider_unavailable(provider) from error
        if response.status_code >= 500:
            raise provider_unavailable(provider)
        try:
            body = response.json()
        except ValueError as error:
            raise provider_unavailable(provider) from error
        # GitHub answers a bad code with 200 and an "error" member; others with 400.
        if not isinstance(body, dict) or "error" in body or response.status_code != 200:
            raise OAuthError("oauth/code-rejected", f"{provider} did not accept the sign-in code")
        return body

    async def get_json(
        self, provider: str, url: str, *, headers: dict[str, str] | None = None
    ) -> Any:
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.TransportError as error:
            raise provider_unavailable(provider) from error
        if response.status_code in (401, 403):
            raise OAuthError("oauth/code-rejected", f"{provider} refused the access token")
        if response.status_code != 200:
            raise provider_unavailable(provider)
        try:
            return response.json()
        except ValueError as error:
            raise provider_unavailable(provider) from error
