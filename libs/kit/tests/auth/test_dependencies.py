"""The FastAPI side: header parsing, optional and required principals, roles, OpenAPI."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from spotilike.kit.auth import MAX_LEEWAY_SECONDS, JwksCache, Principal, TokenVerifier
from spotilike.kit.errors import Unauthorized

pytestmark = pytest.mark.integration


async def test_no_authorization_header_is_401_missing_token(api: Any) -> None:
    response = await api.get()
    api.expect_problem(response, 401, "auth/missing-token")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "token-without-scheme"]
)
async def test_a_malformed_authorization_header_is_401(api: Any, header: str) -> None:
    response = await api.client.get("/me", headers={"Authorization": header})
    api.expect_problem(response, 401, "auth/malformed-token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


async def test_the_bearer_scheme_is_case_insensitive(api: Any, minter: Any, key_a: Any) -> None:
    token = minter.mint(key_a)
    response = await api.client.get("/me", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200, response.text


async def test_the_optional_principal_is_none_without_a_header(
    api: Any, minter: Any, key_a: Any
) -> None:
    assert (await api.get("/maybe")).json() == {"subject": None}
    response = await api.get("/maybe", token=minter.mint(key_a, sub="user-7"))
    assert response.json() == {"subject": "user-7"}


async def test_the_optional_principal_still_rejects_a_bad_token(
    api: Any, minter: Any, key_a: Any
) -> None:
    await api.expect_rejected(minter.mint(key_a, aud="elsewhere"), "auth/invalid-token", "/maybe")


async def test_a_missing_role_is_403_problem(api: Any, minter: Any, key_a: Any) -> None:
    response = await api.get("/artist-only", token=minter.mint(key_a, roles=["LISTENER"]))
    body = api.expect_problem(response, 403, "auth/missing-role")
    assert "ARTIST" in body["detail"]


async def test_a_present_role_passes(api: Any, minter: Any, key_a: Any) -> None:
    response = await api.get("/artist-only", token=minter.mint(key_a, roles=["ARTIST"], sub="a1"))
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "a1"


async def test_role_checks_still_require_a_token(api: Any) -> None:
    api.expect_problem(await api.get("/artist-only"), 401, "auth/missing-token")


async def test_an_app_without_a_verifier_fails_loudly(app_factory: Any) -> None:
    transport = httpx.ASGITransport(app=app_factory(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with capture_logs(), pytest.raises(RuntimeError, match=r"app\.state\.token_verifier"):
            await client.get("/me", headers={"Authorization": "Bearer a.b.c"})


async def test_the_openapi_document_declares_bearer_auth(api: Any) -> None:
    document = (await api.client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]


async def test_the_principal_carries_the_raw_token_and_claims_but_does_not_show_them(
    verifier: TokenVerifier, minter: Any, key_a: Any
) -> None:
    token = minter.mint(key_a, sub="user-9", jti="jti-9", exp=2_000_000_000, plan="premium")

    principal = await verifier.verify(token)

    assert principal == Principal(
        subject="user-9",
        roles=frozenset({"LISTENER"}),
        token_id="jti-9",
        expires_at=datetime.fromtimestamp(2_000_000_000, UTC),
        claims={},
        token="",
    )
    assert principal.token == token
    assert principal.claims["plan"] == "premium"
    assert principal.has_role("LISTENER")
    assert not principal.has_role("ARTIST")
    assert token not in repr(principal)
    assert "premium" not in repr(principal)
    with pytest.raises(TypeError):
        principal.claims["plan"] = "free"  # type: ignore[index]


async def test_leeway_accepts_a_token_just_past_its_expiry(
    make_verifier: Any, minter: Any, key_a: Any
) -> None:
    token = minter.mint(key_a, exp=int(time.time()) - 20)
    strict = make_verifier()
    lenient = make_verifier(leeway_seconds=MAX_LEEWAY_SECONDS)

    with pytest.raises(Unauthorized) as raised:
        await strict.verify(token)
    assert raised.value.code == "auth/expired-token"
    assert (await lenient.verify(token)).token == token


async def _no_keys() -> dict[str, Any]:
    return {"keys": []}


@pytest.mark.parametrize("leeway", [-1, MAX_LEEWAY_SECONDS + 1, 3600])
def test_a_leeway_beyond_the_limit_is_refused(leeway: float) -> None:
    with pytest.raises(ValueError, match="leeway_seconds"):
        TokenVerifier(
            issuer="https://spotilike.dev/users",
            audience="spotilike",
            keys=JwksCache(_no_keys),
            denylist=None,
            leeway_seconds=leeway,
        )
