"""Every way an access token can be wrong ends in a 401 problem with a specific code."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

pytestmark = pytest.mark.integration


async def test_a_valid_token_gives_the_principal_it_names(
    api: Any, minter: Any, key_a: Any
) -> None:
    exp = int(time.time()) + 600
    token = minter.mint(key_a, sub="user-42", roles=["LISTENER", "ARTIST"], jti="jti-42", exp=exp)

    response = await api.get(token=token)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "user-42",
        "roles": ["ARTIST", "LISTENER"],
        "token_id": "jti-42",
        "expires_at": datetime.fromtimestamp(exp, UTC).isoformat(),
    }


async def test_alg_none_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    await api.expect_rejected(minter.unsigned(key_a), "auth/invalid-token")


async def test_hs256_signed_with_the_public_key_is_rejected(
    api: Any, minter: Any, key_a: Any
) -> None:
    await api.expect_rejected(minter.hmac_with_public_key(key_a), "auth/invalid-token")


async def test_a_signature_from_another_key_under_a_known_kid_is_rejected(
    api: Any, minter: Any, unpublished_key: Any
) -> None:
    await api.expect_rejected(minter.mint(unpublished_key), "auth/invalid-token")


async def test_a_tampered_payload_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    header, _, signature = minter.mint(key_a).split(".")
    elevated = minter.mint(key_a, roles=["ADMIN"]).split(".")[1]
    await api.expect_rejected(f"{header}.{elevated}.{signature}", "auth/invalid-token")


@pytest.mark.parametrize("shape", ["two-segments", "four-segments", "garbage", "empty-parts"])
async def test_tokens_that_are_not_three_segments_are_rejected(
    api: Any, minter: Any, key_a: Any, shape: str
) -> None:
    header, payload, signature = minter.mint(key_a).split(".")
    token = {
        "two-segments": f"{header}.{payload}",
        "four-segments": f"{header}.{payload}.{signature}.{signature}",
        "garbage": "not-a-token-at-all",
        "empty-parts": "..",
    }[shape]
    await api.expect_rejected(token, "auth/malformed-token")


async def test_an_expired_token_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    now = int(time.time())
    token = minter.mint(key_a, iat=now - 900, exp=now - 120)
    await api.expect_rejected(token, "auth/expired-token")


async def test_a_token_not_valid_yet_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    token = minter.mint(key_a, nbf=int(time.time()) + 300)
    await api.expect_rejected(token, "auth/token-not-yet-valid")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub", "jti"])
async def test_a_token_missing_a_required_claim_is_rejected(
    api: Any, minter: Any, key_a: Any, remove: object, claim: str
) -> None:
    await api.expect_rejected(minter.mint(key_a, **{claim: remove}), "auth/invalid-token")


async def test_a_token_for_another_audience_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    await api.expect_rejected(minter.mint(key_a, aud="another-platform"), "auth/invalid-token")


async def test_a_token_from_another_issuer_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    token = minter.mint(key_a, iss="https://evil.example/users")
    await api.expect_rejected(token, "auth/invalid-token")


@pytest.mark.parametrize("typ", ["JWT", "refresh+jwt", "reset+jwt", "at+jwt+extra", 7])
async def test_a_token_of_another_type_is_rejected(
    api: Any, minter: Any, key_a: Any, typ: object
) -> None:
    token = minter.mint(key_a, header={"typ": typ})
    await api.expect_rejected(token, "auth/wrong-token-type")


async def test_a_token_without_typ_is_rejected(
    api: Any, minter: Any, key_a: Any, remove: object
) -> None:
    await api.expect_rejected(minter.mint(key_a, header={"typ": remove}), "auth/wrong-token-type")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
async def test_access_token_types_are_accepted_in_any_case(
    api: Any, minter: Any, key_a: Any, typ: str
) -> None:
    response = await api.get(token=minter.mint(key_a, header={"typ": typ}))
    assert response.status_code == 200, response.text


async def test_a_token_without_kid_is_rejected(
    api: Any, minter: Any, key_a: Any, remove: object
) -> None:
    await api.expect_rejected(minter.mint(key_a, header={"kid": remove}), "auth/invalid-token")


async def test_a_token_with_an_unknown_kid_is_rejected(api: Any, minter: Any, key_b: Any) -> None:
    await api.expect_rejected(minter.mint(key_b), "auth/unknown-key")


@pytest.mark.parametrize("roles", ["ADMIN", [1, 2], {"ADMIN": True}])
async def test_roles_that_are_not_a_list_of_names_are_rejected(
    api: Any, minter: Any, key_a: Any, roles: object
) -> None:
    await api.expect_rejected(minter.mint(key_a, roles=roles), "auth/invalid-token")


@pytest.mark.parametrize(("claim", "value"), [("sub", ""), ("sub", 5), ("jti", ""), ("jti", 5)])
async def test_empty_or_non_string_subject_and_token_id_are_rejected(
    api: Any, minter: Any, key_a: Any, claim: str, value: object
) -> None:
    await api.expect_rejected(minter.mint(key_a, **{claim: value}), "auth/invalid-token")


async def test_an_expiry_beyond_any_date_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    await api.expect_rejected(minter.mint(key_a, exp=10**20), "auth/invalid-token")


async def test_an_oversized_token_is_rejected(api: Any, minter: Any, key_a: Any) -> None:
    token = minter.mint(key_a, padding="x" * 10_000)
    await api.expect_rejected(token, "auth/malformed-token")


async def test_neither_accepted_nor_rejected_tokens_are_logged(
    api: Any, minter: Any, key_a: Any, unpublished_key: Any
) -> None:
    good = minter.mint(key_a)
    forged = minter.mint(unpublished_key)
    expired = minter.mint(key_a, exp=int(time.time()) - 120)

    with capture_logs() as logs:
        assert (await api.get(token=good)).status_code == 200
        assert (await api.get(token=forged)).status_code == 401
        assert (await api.get(token=expired)).status_code == 401

    assert any(entry["event"] == "access_token_rejected" for entry in logs)
    logged = repr(logs)
    for token in (good, forged, expired):
        for segment in token.split("."):
            assert segment not in logged
