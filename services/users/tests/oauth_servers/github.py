"""A small GitHub-shaped OAuth server for the users service's tests (aiohttp, 127.0.0.1 only).

It speaks the parts of GitHub's OAuth app flow that the users service uses:

- ``GET /login/oauth/authorize``: signs in the account named by the ``login`` parameter
  (GitHub's own "suggest this account" parameter) and redirects back with a code; an
  unknown login is redirected back with ``error=access_denied``.
- ``POST /login/oauth/access_token``: codes are single-use; the client secret, the exact
  ``redirect_uri`` and the PKCE verifier are checked. Errors come, as on GitHub, with
  status 200 and an ``error`` member; JSON when the request accepts ``application/json``,
  form-encoded otherwise.
- ``GET /user`` and ``GET /user/emails`` with a Bearer (or ``token``) access token.

GitHub publishes no test server, and a mock of httpx would not check what we send; this one
is small enough to read in full. Run it as
``python github.py PORT`` with ``GITHUB_CLIENT_ID``, ``GITHUB_CLIENT_SECRET``,
``GITHUB_REDIRECT_URI`` and ``GITHUB_ACCOUNTS`` (JSON:
``{"<login>": {"id": 1, "name": "...", "emails": [{"email", "primary", "verified"}]}}``).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

__all__ = ["GitHubApp", "create_app"]


@dataclass(frozen=True)
class GitHubApp:
    client_id: str
    client_secret: str
    redirect_uri: str
    accounts: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Grant:
    login: str
    redirect_uri: str | None
    code_challenge: str | None


def create_app(registration: GitHubApp) -> web.Application:
    codes: dict[str, _Grant] = {}
    tokens: dict[str, str] = {}

    def back_to_client(redirect_uri: str, params: dict[str, str]) -> web.HTTPFound:
        separator = "&" if "?" in redirect_uri else "?"
        return web.HTTPFound(redirect_uri + separator + urlencode(params))

    async def authorize(request: web.Request) -> web.StreamResponse:
        query = request.query
        if query.get("client_id") != registration.client_id:
            raise web.HTTPNotFound(text="no such OAuth app")
        redirect_uri = query.get("redirect_uri")
        if redirect_uri is not None and redirect_uri != registration.redirect_uri:
            raise web.HTTPBadRequest(text="redirect_uri is not registered for this app")
        back = redirect_uri or registration.redirect_uri
        answer = {"state": query["state"]} if "state" in query else {}
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            raise back_to_client(back, {**answer, "error": "invalid_request"})
        login = query.get("login", "")
        if login not in registration.accounts:
            raise back_to_client(back, {**answer, "error": "access_denied"})
        code = secrets.token_hex(10)
        codes[code] = _Grant(login=login, redirect_uri=redirect_uri, code_challenge=challenge)
        raise back_to_client(back, {**answer, "code": code})

    async def access_token(request: web.Request) -> web.Response:
        form = await request.post()
        fields = {name: str(value) for name, value in form.items()}
        wants_json = "application/json" in request.headers.get("Accept", "")

        def answer(body: dict[str, str]) -> web.Response:
            if wants_json:
                return web.json_response(body)
            return web.Response(
                text=urlencode(body), content_type="application/x-www-form-urlencoded"
            )

        if (
            fields.get("client_id") != registration.client_id
            or fields.get("client_secret") != registration.client_secret
        ):
            return answer({"error": "incorrect_client_credentials"})
        grant = codes.pop(fields.get("code", ""), None)
        if grant is None:
            return answer({"error": "bad_verification_code"})
        if grant.redirect_uri is not None and fields.get("redirect_uri") != grant.redirect_uri:
            return answer({"error": "redirect_uri_mismatch"})
        if grant.code_challenge is not None:
            verifier = fields.get("code_verifier", "")
            if not verifier or create_s256_code_challenge(verifier) != grant.code_challenge:
                return answer({"error": "bad_verification_code"})
        token = "gho_" + secrets.token_hex(18)
        tokens[token] = grant.login
        return answer({"access_token": token, "token_type": "bearer", "scope": "user:email"})

    def account_of(request: web.Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        login = tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if login is None:
            raise web.HTTPUnauthorized(
                text=json.dumps({"message": "Bad credentials"}), content_type="application/json"
            )
        return {"login": login, **registration.accounts[login]}

    async def user(request: web.Request) -> web.Response:
        account = account_of(request)
        return web.json_response(
            {"login": account["login"], "id": account["id"], "name": account.get("name")}
        )

    async def user_emails(request: web.Request) -> web.Response:
        emails = account_of(request)["emails"]
        return web.json_response([{"visibility": None, **entry} for entry in emails])

    app = web.Application()
    app.router.add_get("/login/oauth/authorize", authorize)
    app.router.add_post("/login/oauth/access_token", access_token)
    app.router.add_get("/user", user)
    app.router.add_get("/user/emails", user_emails)
    return app


def main() -> None:
    registration = GitHubApp(
        client_id=os.environ["GITHUB_CLIENT_ID"],
        client_secret=os.environ["GITHUB_CLIENT_SECRET"],
        redirect_uri=os.environ["GITHUB_REDIRECT_URI"],
        accounts=json.loads(os.environ["GITHUB_ACCOUNTS"]),
    )
    web.run_app(create_app(registration), host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
