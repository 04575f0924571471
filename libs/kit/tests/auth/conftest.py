"""A real JWKS server on loopback, RSA keys, a token minter and a FastAPI app to call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
import pytest
import redis.asyncio as redis
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI
from jwt.algorithms import RSAAlgorithm

from spotilike.kit.auth import (
    CurrentPrincipal,
    JwksCache,
    OptionalPrincipal,
    Principal,
    TokenDenylist,
    TokenVerifier,
    http_jwks_fetcher,
    require_role,
)
from spotilike.kit.errors import install_problem_handlers

ISSUER = "https://spotilike.dev/users"
AUDIENCE = "spotilike"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256", **extra}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _generate(kid: str, bits: int = 2048) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))


@pytest.fixture(scope="session")
def key_a() -> SigningKey:
    return _generate("key-a")


@pytest.fixture(scope="session")
def key_b() -> SigningKey:
    return _generate("key-b")


@pytest.fixture(scope="session")
def unpublished_key() -> SigningKey:
    return _generate("key-a")  # same kid as key_a, different key: a forgery


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


_REMOVE = object()


@dataclass
class TokenMinter:
    """Builds access tokens the way the users service does, and the ways attackers don't."""

    issuer: str = ISSUER
    audience: str = AUDIENCE

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "roles": ["LISTENER"],
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not _REMOVE}

    def header(self, key: SigningKey, **overrides: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}
        header.update(overrides)
        return {name: value for name, value in header.items() if value is not _REMOVE}

    def _signing_input(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        return f"{b64url_json(header)}.{b64url_json(claims)}"

    def mint(self, key: SigningKey, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        # Signed by hand, so that headers such as a missing typ come out exactly as asked.
        signing_input = self._signing_input(
            self.header(key, **(header or {})), self.claims(**claims)
        )
        signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), key.private_key)
        return f"{signing_input}.{b64url(signature)}"

    def unsigned(self, key: SigningKey, **claims: Any) -> str:
        return self._signing_input(self.header(key, alg="none"), self.claims(**claims)) + "."

    def hmac_with_public_key(self, key: SigningKey, **claims: Any) -> str:
        signing_input = self._signing_input(self.header(key, alg="HS256"), self.claims(**claims))
        signature = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"


@pytest.fixture
def minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture
def remove() -> object:
    """Pass as a claim or header value to leave that member out."""
    return _REMOVE


@dataclass
class JwksServer:
    """Serves ``keys`` at ``url``; ``mode`` makes it fail the way a real endpoint can."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    mode: str = "ok"

    async def handle(self, _request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "not-json":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if self.mode == "no-keys":
            return web.json_response({"keys": "none"})
        return web.json_response({"keys": self.keys})


@pytest.fixture
async def jwks_server(key_a: SigningKey) -> AsyncIterator[JwksServer]:
    server = JwksServer(keys=[key_a.public_jwk()])
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/.well-known/jwks.json"
    yield server
    await runner.cleanup()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def valkey(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def denylist(valkey: redis.Redis) -> TokenDenylist:
    return TokenDenylist(valkey)


@pytest.fixture
def make_verifier(
    jwks_server: JwksServer, clock: FakeClock, denylist: TokenDenylist
) -> Callable[..., TokenVerifier]:
    def make(**overrides: Any) -> TokenVerifier:
        keys = JwksCache(http_jwks_fetcher(jwks_server.url), clock=clock)
        arguments: dict[str, Any] = {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "keys": keys,
            "denylist": denylist,
        }
        arguments.update(overrides)
        return TokenVerifier(**arguments)

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., TokenVerifier]) -> TokenVerifier:
    return make_verifier()


def _principal_body(principal: Principal) -> dict[str, Any]:
    return {
        "subject": principal.subject,
        "roles": sorted(principal.roles),
        "token_id": principal.token_id,
        "expires_at": principal.expires_at.isoformat(),
    }


def build_app(verifier: TokenVerifier | None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    if verifier is not None:
        app.state.token_verifier = verifier

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return _principal_body(principal)

    @app.get("/maybe")
    async def maybe(principal: OptionalPrincipal) -> dict[str, Any]:
        return {"subject": principal.subject if principal else None}

    @app.get("/artist-only")
    async def artist_only(
        principal: Annotated[Principal, Depends(require_role("ARTIST"))],
    ) -> dict[str, Any]:
        return _principal_body(principal)

    return app


@dataclass
class Api:
    """The test app over ASGI, with the assertions every rejection shares."""

    client: httpx.AsyncClient

    async def get(self, path: str = "/me", *, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.client.get(path, headers=headers)

    @staticmethod
    def expect_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body: dict[str, Any] = response.json()
        assert body["type"] == f"https://spotilike.dev/problems/{code}", body
        assert body["status"] == status
        return body

    async def expect_rejected(self, token: str, code: str, path: str = "/me") -> dict[str, Any]:
        response = await self.get(path, token=token)
        body = self.expect_problem(response, 401, code)
        assert response.headers["www-authenticate"].startswith("Bearer")
        for segment in token.split("."):
            if len(segment) > 8:
                assert segment not in response.text
        return body


@pytest.fixture
def app_factory() -> Callable[[TokenVerifier | None], FastAPI]:
    return build_app


@pytest.fixture
async def api(verifier: TokenVerifier) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=build_app(verifier), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)
