"""Sign-in with GitHub (OAuth 2.0): the code exchange and the user's id, name and email."""

from __future__ import annotations

from spotilike.users.oauth.errors import OAuthError, provider_unavailable
from spotilike.users.oauth.identity import ExternalIdentity
from spotilike.users.oauth.provider_http import ProviderHttp
from spotilike.users.settings import UsersSettings

__all__ = ["GITHUB_SCOPE", "GitHubSignIn"]

GITHUB_SCOPE = "read:user user:email"


def _primary_email(emails: object) -> tuple[str | None, bool]:
    """GitHub's primary address and whether GitHub has verified it; other addresses are
    ignored, so a verified secondary address never vouches for an unverified primary."""
    if isinstance(emails, list):
        for entry in emails:
            if isinstance(entry, dict) and entry.get("primary") is True:
                address = entry.get("email")
                if isinstance(address, str):
                    return address, entry.get("verified") is True
    return None, False


class GitHubSignIn:
    """The GitHub side of a callback: the code for a token, the token for the identity."""

    def __init__(self, settings: UsersSettings, http: ProviderHttp) -> None:
        self._settings = settings
        self._http = http

    async def finish(self, *, code: str, code_verifier: str, redirect_uri: str) -> ExternalIdentity:
        token = await self._http.exchange_code(
            "github",
            self._settings.github_token_url,
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=code_verifier,
            client_id=self._settings.github_client_id,
            client_secret=self._settings.github_client_secret.get_secret_value(),
        )
        access_token = token.get("access_token")
        if not isinstance(access_token, str):
            raise OAuthError("oauth/code-rejected", "github sent no access token")
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        api = self._settings.github_api_url.rstrip("/")
        user = await self._http.get_json("github", f"{api}/user", headers=headers)
        emails = await self._http.get_json("github", f"{api}/user/emails", headers=headers)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise provider_unavailable("github")
        email, email_verified = _primary_email(emails)
        name = user.get("name") or user.get("login")
        return ExternalIdentity(
            provider="github",
            subject=str(user["id"]),
            email=email,
            email_verified=email_verified,
            display_name=name if isinstance(name, str) else None,
        )
