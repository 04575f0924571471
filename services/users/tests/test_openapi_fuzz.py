"""Schemathesis against the users service's own OpenAPI document: every check, no 5xx.

The app runs under uvicorn on a loopback port, in a thread of its own, so its lifespan owns
the database and Valkey pools as in production and every request crosses a real HTTP
parser. The fuzzer talks from 127.0.0.1; the accounts the test sets up talk from
127.0.0.2, so the per-address limits the fuzzer runs into (login lockouts, reset quotas)
never lock the test out of its own sessions.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
import sys

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.specs.openapi.schemas import OpenApiSchema

sys.path.insert(0, str(Path(__file__).parent))
from conftest import BROWSER_UA, PASSWORD, make_admin, unique_email
from oauth_servers.fixtures import (
    GitHubProvider,
    OidcProvider,
    github_provider,
    oauth_settings_fields,
    oidc_provider,
)

from spotilike.tools.pytest_plugin import ScratchDatabase
from spotilike.users.app import create_users_app
from spotilike.users.settings import UsersSettings

__all__ = ["github_provider", "oidc_provider"]

pytestmark = pytest.mark.integration

SETUP_ADDRESS = "127.0.0.2"
_START_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def users_server(
    settings_factory: Callable[..., UsersSettings],
    oidc_provider: OidcProvider,
    github_provider: GitHubProvider,
) -> Iterator[str]:
    """The base URL of a users app served by uvicorn; OAuth points at the test providers."""
    app = create_users_app(
        settings_factory(**oauth_settings_fields(oidc_provider, github_provider)),
        run_workers=False,
    )
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start the users app; see the log above")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        listening.close()


@dataclass
class Identities:
    """The accounts the fuzzer acts as; ``http`` is their browser, on :data:`SETUP_ADDRESS`."""

    http: httpx.Client
    listener_token: str
    admin_token: str
    target_user_id: str
    session_email: str

    def login(self, email: str) -> str:
        form = self.http.get("/auth/form-token")
        assert form.status_code == 200, form.text
        response = self.http.post(
            "/auth/login",
            json={"email": email, "password": PASSWORD, "form_token": form.json()["form_token"]},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def register(self, email: str) -> dict[str, object]:
        form = self.http.get("/auth/form-token")
        assert form.status_code == 200, form.text
        response = self.http.post(
            "/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": "Fuzz Target",
                "form_token": form.json()["form_token"],
            },
        )
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    def headers_for(self, case: Case) -> dict[str, str] | None:
        """The bearer token an operation is fuzzed with; None where it declares no security."""
        if not case.operation.definition.raw.get("security"):
            return None
        if case.operation.path.startswith("/admin/"):
            token = self.admin_token
        elif case.operation.path == "/auth/logout":
            # Signing out ends the session, so each call gets one of its own.
            token = self.login(self.session_email)
        else:
            token = self.listener_token
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def identities(users_server: str, users_database: ScratchDatabase) -> Iterator[Identities]:
    transport = httpx.HTTPTransport(local_address=SETUP_ADDRESS)
    with httpx.Client(
        base_url=users_server,
        transport=transport,
        headers={"User-Agent": BROWSER_UA, "Accept-Language": "en-GB,en;q=0.8"},
        timeout=30.0,
    ) as http:
        identities = Identities(http, "", "", "", unique_email())
        listener = identities.register(unique_email())
        identities.listener_token = str(listener["tokens"]["access_token"])  # type: ignore[index]
        target = identities.register(unique_email())
        identities.target_user_id = str(target["user"]["id"])  # type: ignore[index]
        identities.register(identities.session_email)
        admin_email = unique_email()
        identities.register(admin_email)
        asyncio.run(make_admin(users_database, admin_email))
        identities.admin_token = identities.login(admin_email)
        yield identities


@pytest.fixture
def users_openapi(users_server: str, identities: Identities) -> OpenApiSchema:
    return schemathesis.openapi.from_url(users_server + "/openapi.json")


schema = schemathesis.pytest.from_fixture("users_openapi")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_users_api_conforms_to_its_openapi(case: Case, identities: Identities) -> None:
    case.call_and_validate(headers=identities.headers_for(case))
