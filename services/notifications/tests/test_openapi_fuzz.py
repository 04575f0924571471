"""Schemathesis against the notification service's own OpenAPI document: every check,
no 5xx, with an admin's token on the admin routes. The app runs under uvicorn on a
loopback port in a thread (without workers: nothing is sent), so requests cross a real
HTTP parser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData

from spotilike.kit.errors import PROBLEM_TYPE_BASE
from spotilike.notifications.app import create_notifications_app
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    drop_framing_headers,
    fuzz_settings,
    served_in_thread,
)

pytestmark = pytest.mark.integration

OPENAPI = create_notifications_app(NotificationsSettings(), run_workers=False).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)

# Refusals for rules no schema states: an unsubscribe token must verify, a cursor must be
# one the endpoint issued, only a dead email can be retried.
_RULE_CODES = {"notifications/invalid-unsubscribe-token", "validation-failed"}


@schema.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keeps every failure except a schema-valid request refused with one of the stable
    codes above; a 5xx or an undocumented answer always stays a failure."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code >= 500:
        return True
    try:
        code = str(response.json().get("type", "")).removeprefix(PROBLEM_TYPE_BASE)
    except ValueError:
        return True
    return not (code in _RULE_CODES or code.startswith("notifications/"))


@pytest.fixture(scope="module")
def notifications_server(
    notifications_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    token_issuer: TokenIssuer,
) -> Iterator[str]:
    app = create_notifications_app(
        NotificationsSettings(
            env="test",
            database_url=notifications_database.primary_url,
            database_replica_url=notifications_database.replica_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=kafka_bootstrap,
        ),
        run_workers=False,
        token_verifier=token_issuer.verifier(),
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    with served_in_thread(app) as base_url:
        assert httpx.get(base_url + "/openapi.json").json() == OPENAPI
        yield base_url


@pytest.fixture
def fuzzer() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@schema.parametrize()
@fuzz_settings()
def test_notifications_api_conforms_to_its_openapi(
    case: Case,
    notifications_server: str,
    token_issuer: TokenIssuer,
    fuzzer: requests.Session,
) -> None:
    drop_framing_headers(case.headers)
    headers = None
    if case.operation.definition.raw.get("security") and not schema.is_security_param_negated(case):
        headers = {"Authorization": "Bearer " + token_issuer.token(roles=("ADMIN", "USER"))}
    case.call_and_validate(base_url=notifications_server, session=fuzzer, headers=headers)


def test_a_nul_in_the_recipient_filter_is_refused_not_failed(
    notifications_server: str, token_issuer: TokenIssuer
) -> None:
    # Found by the fuzzer: PostgreSQL text cannot hold U+0000.
    response = httpx.get(
        notifications_server + "/admin/emails",
        params={"recipient": "a\x00b", "status": "dead"},
        headers={"Authorization": "Bearer " + token_issuer.token(roles=("ADMIN", "USER"))},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
