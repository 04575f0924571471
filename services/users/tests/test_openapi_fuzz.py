"""Schemathesis against the users service's own OpenAPI document: every check, no 5xx.

``test_users_api_conforms_to_its_openapi`` fuzzes each operation in every phase
schemathesis has for one operation (explicit examples, coverage, fuzzing; positive and
negative data); ``test_users_api_workflows`` chains calls along the links schemathesis
infers. Every response goes through every check schemathesis has: the stateful ones
(use_after_free, ensure_resource_availability) have earlier responses to look back at only
in the workflows. object_level_authorization stays silent: it needs schemathesis' own
multi-identity sign-in (``[auth.wfc]``), which is not set up here; test_accounts covers
one user's token on another's session, test_admin a listener's token on admin routes.

The app runs under uvicorn on a loopback port, in a thread of its own, so its lifespan owns
the database and Valkey pools as in production and every request crosses a real HTTP
parser. The fuzzer and the test's own accounts each send from a random 127/8 address, so
the per-address brakes the fuzzer runs into (login lockout, reset quotas) neither lock the
test out of its own sessions nor carry over to the next run through the shared Valkey.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import requests.adapters
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData

sys.path.insert(0, str(Path(__file__).parent))
from oauth_servers.fixtures import GitHubProvider, OidcProvider, oauth_settings_fields
from users_support import BROWSER_UA, PASSWORD, make_admin, random_loopback, unique_email

from spotilike.kit.errors import PROBLEM_TYPE_BASE
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    drop_framing_headers,
    fuzz_settings,
    served_in_thread,
)
from spotilike.users.app import create_users_app
from spotilike.users.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from spotilike.users.settings import UsersSettings

pytestmark = pytest.mark.integration

_START_TIMEOUT_SECONDS = 30.0

# Parametrizing needs the document at collection time, before any fixture exists; the
# settings only point the app at its servers, so the app under test has the same document.
schema = schemathesis.openapi.from_dict(
    create_users_app(UsersSettings(), run_workers=False).openapi()
)

_SEMANTIC_REJECTIONS = {
    # Which reset and verification tokens were issued, and whether they are spent.
    "token-invalid",
    # The list of common passwords, and a password that repeats the account's email.
    "password/too-common",
    "password/contains-email",
}
_NORMALISED_LENGTH = {"password/too-short", "password/too-long"}


@schema.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keeps every failure except a schema-valid body refused for a rule no schema can state.

    positive_data_acceptance expects a schema-valid request to succeed (or to be refused
    as unauthorised, missing, conflicting or rate limited). The users API also refuses,
    with a 422 naming the rule, what only its own state or policy can judge; those 422s
    are the API working, so they are dropped here, one problem type at a time. Any other
    rejection of schema-valid data stays a failure.
    """
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    problem = response.json()
    code = str(problem.get("type", "")).removeprefix(PROBLEM_TYPE_BASE)
    if code in _SEMANTIC_REJECTIONS:
        return False
    if code == "validation-failed" and _only_email_refused(problem.get("errors")):
        # email-validator also refuses syntactically valid addresses at special-use and
        # reserved domains (RFC 6761: .test, .local, .invalid...): a list that
        # `format: email` cannot carry.
        return False
    if code in _NORMALISED_LENGTH:
        # The policy counts code points after NFKC, which can merge or split characters;
        # a password whose length as sent is already out of bounds is a schema finding.
        password = case.body.get("password") if isinstance(case.body, dict) else None
        return not (
            isinstance(password, str)
            and PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH
        )
    return True


def _only_email_refused(errors: object) -> bool:
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(
            isinstance(error, dict)
            and error.get("pointer") == "/email"
            and error.get("type") == "value_error"
            for error in errors
        )
    )


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from one given loopback address: the server then sees a single client."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def users_server(
    settings_factory: Callable[..., UsersSettings],
    oidc_provider: OidcProvider,
    github_provider: GitHubProvider,
) -> Iterator[str]:
    """The base URL of a users app served by uvicorn; OAuth points at the test providers."""
    app = create_users_app(
        settings_factory(
            **oauth_settings_fields(oidc_provider, github_provider),
            # Every fuzzed sign-out signs in first, all of them from the one setup address.
            risk_ip_logins_per_minute=10_000,
        ),
        run_workers=False,
    )
    with served_in_thread(app, start_timeout=_START_TIMEOUT_SECONDS) as base_url:
        yield base_url


def _form_token(browser: httpx.Client) -> str:
    response = browser.get("/auth/form-token")
    assert response.status_code == 200, response.text
    token: str = response.json()["form_token"]
    return token


def _sign_up(browser: httpx.Client, email: str) -> dict[str, Any]:
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": "Fuzz Listener",
        "form_token": _form_token(browser),
    }
    response = browser.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


def _sign_in(browser: httpx.Client, email: str) -> str:
    body = {"email": email, "password": PASSWORD, "form_token": _form_token(browser)}
    response = browser.post("/auth/login", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class Identities:
    """Who the fuzzer acts as; each account is signed up the first time an operation needs it.

    ``browser`` signs them up from an address of its own, with a browser's headers.
    """

    def __init__(self, browser: httpx.Client, database: ScratchDatabase) -> None:
        self.browser = browser
        self._database = database

    @cached_property
    def listener_token(self) -> str:
        token: str = _sign_up(self.browser, unique_email())["tokens"]["access_token"]
        return token

    @cached_property
    def admin_token(self) -> str:
        email = unique_email()
        _sign_up(self.browser, email)
        asyncio.run(make_admin(self._database, email))
        return _sign_in(self.browser, email)

    @cached_property
    def target_user_id(self) -> str:
        """An account that is only ever the object of a request and never signs in."""
        user_id: str = _sign_up(self.browser, unique_email())["user"]["id"]
        return user_id

    @cached_property
    def session_email(self) -> str:
        """An account that gives each fuzzed sign-out a session of its own."""
        email = unique_email()
        _sign_up(self.browser, email)
        return email

    def credentials_for(self, case: Case) -> dict[str, str] | None:
        """The bearer token for the case, or None.

        None where the operation declares no security, and where the case itself is the
        negative test of the token (dropped or mangled on purpose): a header sent over it
        would turn the case back into a valid one.
        """
        if not case.operation.definition.raw.get("security"):
            return None
        if schema.is_security_param_negated(case):
            return None
        if case.operation.path.startswith("/admin/"):
            token = self.admin_token
        elif case.operation.path == "/auth/logout":
            token = _sign_in(self.browser, self.session_email)
        else:
            token = self.listener_token
        return {"Authorization": f"Bearer {token}"}

    def aim(self, case: Case) -> None:
        """Points about half the cases that take a user id at an account that exists.

        Only a generated id in canonical UUID form is replaced, by another one, so the
        case stays as positive or as negative as it was generated. Halving on the id's
        last bit keeps each case reproducible; the other half still reach the 404 path.
        """
        generated = str((case.path_parameters or {}).get("user_id"))
        try:
            parsed = uuid.UUID(generated)
        except ValueError:
            return
        if str(parsed) == generated and parsed.int % 2 == 0:
            case.path_parameters["user_id"] = self.target_user_id


@pytest.fixture
def identities(users_server: str, users_database: ScratchDatabase) -> Iterator[Identities]:
    with httpx.Client(
        base_url=users_server,
        transport=httpx.HTTPTransport(local_address=random_loopback()),
        headers={
            "User-Agent": BROWSER_UA,
            "Accept-Language": "en-GB,en;q=0.8",
            "X-Device-Fingerprint": secrets.token_hex(16),
        },
        timeout=30.0,
    ) as browser:
        yield Identities(browser, users_database)


@pytest.fixture
def fuzzer() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount("http://", _SourceAddressAdapter(random_loopback()))
        yield session


@schema.parametrize()
# The server and the accounts are set up once per operation, on purpose: each
# operation's examples share them, and no operation sees what another one changed.
# Examples are real HTTP round trips, some with an Argon2 hash, hence too_slow.
@fuzz_settings(40)
def test_users_api_conforms_to_its_openapi(
    case: Case, users_server: str, identities: Identities, fuzzer: requests.Session
) -> None:
    identities.aim(case)
    drop_framing_headers(case.headers)
    case.call_and_validate(
        base_url=users_server, session=fuzzer, headers=identities.credentials_for(case)
    )


def test_users_api_workflows(
    users_server: str, identities: Identities, fuzzer: requests.Session
) -> None:
    """Chains of calls along inferred links: a sign-up's id into the admin routes, say."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {
                "base_url": users_server,
                "session": fuzzer,
                "headers": identities.credentials_for(case),
            }

        def validate_response(
            self,
            response: Response,
            case: Case,
            additional_checks: list[Any] | None = None,
            **kwargs: Any,
        ) -> None:
            # The headers go to the checks too, so ignored_auth knows the token is ours.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    Workflow.run(
        settings=settings(
            max_examples=20,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
    )
