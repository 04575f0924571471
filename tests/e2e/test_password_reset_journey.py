"""Journey 3, through the gateway only: a forgotten password, reset from the email."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_support import PASSWORD, Platform, link_in_mail, log_in, sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new journey password"


async def test_reset_from_the_email_replaces_the_password_and_ends_old_sessions(
    platform: Platform,
) -> None:
    email = f"forgetful-{uuid.uuid4().hex[:8]}@journey.spotilike.dev"
    async with platform.client() as http:
        await sign_up(http, email)
        old = await log_in(http, email, PASSWORD)

        asked = await http.post("/auth/password/forgot", json={"email": email})
        assert asked.status_code in (200, 202, 204), asked.text
        link = link_in_mail(platform, email, r"/reset-password\?")
        # The link's host is the configured public URL, never the request's Host header.
        assert link.startswith("http://localhost:8080/reset-password?"), link
        token = parse_qs(urlsplit(link).query)["token"][0]

        # The web player's page at the link posts the token with the new password.
        page = await http.get(urlsplit(link).path)
        assert page.status_code == 200
        reset = await http.post(
            "/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
        )
        assert reset.status_code in (200, 204), reset.text
        again = await http.post(
            "/auth/password/reset", json={"token": token, "password": "yet another password"}
        )
        assert again.status_code >= 400

        await log_in(http, email, NEW_PASSWORD)
        form = (await http.get("/auth/form-token")).json()["form_token"]
        refused = await http.post(
            "/auth/login", json={"email": email, "password": PASSWORD, "form_token": form}
        )
        assert refused.status_code == 401
        stale = await http.post("/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert stale.status_code == 401
