"""RFC 8725 attacks against the users service's own endpoints, with its real keys."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from users_support import Listener, claims_of_token, outbox_payloads, token_from_link, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def signing_key_pem(client: Listener) -> tuple[str, bytes, Any]:
    runtime = client.http._transport.app.state.runtime  # type: ignore[attr-defined]
    key = await runtime.keys.signing_key()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key.kid, public_pem, key.private_key


async def me_status(client: Listener, token: str) -> tuple[int, str]:
    response = await client.http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json().get("type", "")


async def test_forged_and_stale_tokens_get_401(listener: Listener) -> None:
    good = await listener.signed_up()
    claims = claims_of_token(good.access)
    kid, public_pem, private_key = await signing_key_pem(listener)
    now = int(time.time())
    header = {"kid": kid, "typ": "at+jwt"}

    def sign(**changes: Any) -> str:
        return jwt.encode({**claims, **changes}, private_key, algorithm="RS256", headers=header)

    forged = {
        "alg none": b64({"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + b64(claims) + ".",
        "HS256 keyed with the public key": _hs256(claims, public_pem, kid),
        "bad signature": good.access[:-4]
        + ("AAAA" if not good.access.endswith("AAAA") else "BBBB"),
        "two segments": ".".join(good.access.split(".")[:2]),
        "four segments": good.access + ".e30",
        "expired": sign(exp=now - 120, iat=now - 1000, nbf=now - 1000),
        "not yet valid": sign(nbf=now + 600),
        "wrong audience": sign(aud="someone-else"),
        "wrong issuer": sign(iss="https://evil.example"),
        "tampered roles": _tamper(good.access, {**claims, "roles": ["ADMIN", "USER"]}),
        "wrong typ": jwt.encode(
            claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"}
        ),
        "unknown kid": jwt.encode(
            claims, private_key, algorithm="RS256", headers={"kid": "nope", "typ": "at+jwt"}
        ),
    }
    no_exp = dict(claims)
    no_exp.pop("exp")
    forged["missing exp"] = jwt.encode(no_exp, private_key, algorithm="RS256", headers=header)
    for name, token in forged.items():
        status, _ = await me_status(listener, token)
        assert status == 401, name
    assert (await me_status(listener, good.access))[0] == 200


def _hs256(claims: dict[str, Any], public_pem: bytes, kid: str) -> str:
    import hashlib
    import hmac

    signing_input = b64({"alg": "HS256", "typ": "at+jwt", "kid": kid}) + "." + b64(claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _tamper(token: str, claims: dict[str, Any]) -> str:
    head, _, signature = token.split(".")
    return head + "." + b64(claims) + "." + signature


async def test_refresh_and_reset_tokens_are_not_access_tokens(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    tokens = await listener.signed_up(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    [payload] = [
        p
        for p in await outbox_payloads(users_database, "user.password_reset_requested")
        if p["email"] == email
    ]
    for token in (tokens.refresh, token_from_link(payload["reset_url"])):
        status, problem = await me_status(listener, token)
        assert status == 401
        assert problem.endswith(("auth/malformed-token", "auth/invalid-token"))
