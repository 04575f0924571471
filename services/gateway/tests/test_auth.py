"""Every access-token rejection of QUALITY.md's Auth section, end to end: a real JWKS
served over HTTP, the gateway's own verifier, a protected route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from gateway_support import RunningUpstream, TokenSigner, gateway_client, make_settings
from redis.asyncio import Redis

from spotilike.gateway.settings import GatewaySettings
from spotilike.kit.auth import TokenDenylist
from spotilike.tools.pytest_plugin import TokenIssuer

pytestmark = pytest.mark.integration


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, object]) -> str:
    return _b64(json.dumps(value).encode())


@pytest.fixture
def settings(upstream: RunningUpstream, redis_url: str) -> GatewaySettings:
    return make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
    )


def _rejections(signer: TokenSigner) -> dict[str, str]:
    good = signer.token()
    header, payload, signature = good.split(".")
    public_pem = signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = _segment({"alg": "HS256", "typ": "at+jwt", "kid": signer.kid})
    hs_input = f"{hs_header}.{payload}".encode()
    hs_signature = _b64(hmac.new(public_pem, hs_input, hashlib.sha256).digest())
    none_header = _segment({"alg": "none", "typ": "at+jwt", "kid": signer.kid})
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    now = int(time.time())
    return {
        "alg none": f"{none_header}.{payload}.",
        "HS256 signed with the RSA public key": f"{hs_header}.{payload}.{hs_signature}",
        "bad signature": f"{header}.{payload}.{flipped}",
        "2 segments": f"{header}.{payload}",
        "4 segments": f"{header}.{payload}.{signature}.{signature}",
        "exp passed": signer.token(exp=now - 5, iat=now - 700, nbf=now - 700),
        "nbf in the future": signer.token(nbf=now + 600),
        "missing exp": signer.token(exp=None),
        "wrong aud": signer.token(aud="another-platform"),
        "wrong iss": signer.token(iss="https://evil.example/users"),
        "refresh token typ": signer.token(headers={"typ": "refresh+jwt"}),
        "reset token typ": signer.token(headers={"typ": "reset+jwt"}),
        "plain JWT typ": signer.token(headers={"typ": "JWT"}),
        "unknown kid": signer.token(headers={"kid": "nobody-" + uuid.uuid4().hex}),
        "garbage": "not-a-token",
    }


async def test_every_rejection_case_is_a_401_problem(
    settings: GatewaySettings, token_signer: TokenSigner, upstream: RunningUpstream
) -> None:
    before = upstream.app.stats.requests
    cases = _rejections(token_signer)
    async with gateway_client(settings) as client:
        answers = {
            name: await client.get("/private/x", headers={"Authorization": f"Bearer {token}"})
            for name, token in cases.items()
        }
        accepted = await client.get(
            "/private/x", headers={"Authorization": f"Bearer {token_signer.token()}"}
        )
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == dict.fromkeys(cases, 401)
    for answer in answers.values():
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert accepted.status_code == 200
    # Only the JWKS fetches and the one good request reached the upstream.
    reached = [p for p in upstream.app.stats.paths[before:] if p != "/.well-known/jwks.json"]
    assert reached == ["/private/x"]


async def test_missing_and_non_bearer_authorization(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        missing = await client.get("/private/x")
        basic = await client.get("/private/x", headers={"Authorization": "Basic dTpw"})
    assert missing.status_code == 401
    assert basic.status_code == 401
    assert missing.json()["type"].endswith("auth/missing-token")


async def test_unknown_kids_refetch_the_jwks_at_most_once_per_cooldown(
    settings: GatewaySettings, token_signer: TokenSigner, upstream: RunningUpstream
) -> None:
    fetches = upstream.app.stats.jwks_fetches
    async with gateway_client(settings) as client:
        for _ in range(6):
            forged = token_signer.token(headers={"kid": "random-" + uuid.uuid4().hex})
            answer = await client.get("/private/x", headers={"Authorization": f"Bearer {forged}"})
            assert answer.status_code == 401
            assert answer.json()["type"].endswith("auth/unknown-key")
    assert upstream.app.stats.jwks_fetches - fetches == 1


async def test_a_denylisted_token_is_refused(
    settings: GatewaySettings, token_issuer: TokenIssuer, redis_url: str
) -> None:
    jti = uuid.uuid4().hex
    token = token_issuer.token("user-9", jti=jti)
    redis = Redis.from_url(redis_url)
    try:
        async with gateway_client(settings) as client:
            before = await client.get("/private/x", headers={"Authorization": f"Bearer {token}"})
            await TokenDenylist(redis).deny(jti, datetime.now(UTC) + timedelta(minutes=10))
            after = await client.get("/private/x", headers={"Authorization": f"Bearer {token}"})
    finally:
        await redis.aclose()
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["type"].endswith("auth/token-revoked")
