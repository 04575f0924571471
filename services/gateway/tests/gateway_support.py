"""Fixtures and helpers of the gateway's tests: stand-in upstreams (in a thread or as
processes), gateway settings and apps, and gateway processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_upstream import UpstreamApp
from jwt.algorithms import RSAAlgorithm

from spotilike.gateway.app import create_gateway_app
from spotilike.gateway.settings import GatewaySettings
from spotilike.kit.auth import TokenVerifier
from spotilike.tools.pytest_plugin import TokenIssuer, running_app, served_in_thread

__all__ = [
    "TEST_ROUTES",
    "RunningUpstream",
    "TokenSigner",
    "free_port",
    "gateway_client",
    "gateway_process",
    "make_settings",
    "raw_request",
    "token_signer",
    "upstream",
    "upstream_process",
    "wait_until_serving",
]

TESTS = Path(__file__).parent

TEST_ROUTES: list[dict[str, Any]] = [
    {"prefix": "/open", "service": "echo", "auth": "public"},
    {"prefix": "/catalog", "service": "echo", "public_methods": ["GET", "HEAD"]},
    {"prefix": "/private", "service": "echo"},
    {"prefix": "/auth", "service": "echo", "auth": "public", "rate_limit": "auth"},
    {"prefix": "/audio", "service": "echo", "strip_prefix": True},
    {"prefix": "/ws/social", "service": "echo"},
    {"prefix": "/.well-known/jwks.json", "service": "echo", "auth": "public"},
    {"prefix": "/slowpoke", "service": "echo", "auth": "public", "timeout_seconds": 0.5},
    {"prefix": "/unlimited", "service": "echo", "auth": "public", "rate_limit": None},
]


@dataclass
class RunningUpstream:
    url: str
    app: UpstreamApp


class TokenSigner:
    """Signs whatever header and claims a test asks for, with a key the test JWKS carries:
    for the tokens :class:`TokenIssuer` will not make (missing ``exp``, wrong ``typ``)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "signer-" + uuid.uuid4().hex[:8]

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": TokenIssuer.issuer,
            "aud": TokenIssuer.audience,
            "sub": "user-1",
            "roles": ["USER"],
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        header = {"kid": self.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(self.claims(**claims), self.key, algorithm="RS256", headers=header)


@pytest.fixture(scope="session")
def token_signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def upstream(token_issuer: TokenIssuer, token_signer: TokenSigner) -> Iterator[RunningUpstream]:
    jwks = {"keys": [*token_issuer.jwks()["keys"], token_signer.jwk()]}
    app = UpstreamApp("a", jwks=jwks)
    with served_in_thread(app) as url:
        yield RunningUpstream(url=url, app=app)


def make_settings(
    upstream_urls: dict[str, list[str]], *, redis_url: str, jwks_url: str, **overrides: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "env": "test",
        "log_json": False,
        "redis_url": redis_url,
        "jwks_url": jwks_url,
        "jwt_issuer": TokenIssuer.issuer,
        "jwt_audience": TokenIssuer.audience,
        "routes": TEST_ROUTES,
        "upstreams": upstream_urls,
        "rate_limit_namespace": "t-" + uuid.uuid4().hex[:12],
        "static_dir": None,
    }
    values.update(overrides)
    return GatewaySettings.model_validate(values)


@asynccontextmanager
async def gateway_client(
    settings: GatewaySettings,
    *,
    client_address: tuple[str, int] = ("127.0.0.1", 40000),
    token_verifier: TokenVerifier | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_gateway_app(settings, token_verifier=token_verifier)
    async with running_app(app, client_address=client_address) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def raw_request(base_url: str, request: bytes, *, timeout: float = 10.0) -> bytes:
    """Sends ``request`` as written (no client-side path normalisation); the answer's head."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(url: str, process: subprocess.Popen[bytes], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def upstream_process(instance: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A stand-in upstream in its own process, so a test can SIGKILL it."""
    port = free_port()
    env = {**os.environ, "UPSTREAM_INSTANCE": instance, "PYTHONPATH": str(TESTS)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "gateway_upstream:from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url + "/ready", process)
        yield url, process
    finally:
        _stop(process)


@contextmanager
def gateway_process(settings_env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``spotilike gateway serve`` (its typer command) on a free port, with the
    ``SPOTILIKE_GATEWAY_*`` settings in ``settings_env``."""
    port = free_port()
    env = {
        **os.environ,
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_GATEWAY_PORT": str(port),
        "SPOTILIKE_GATEWAY_HOST": "127.0.0.1",
        "SPOTILIKE_GATEWAY_LOG_LEVEL": "WARNING",
        **settings_env,
    }
    # The gateway's own command, without the ``spotilike`` entry point's loading of every
    # other service's commands (slow, and broken by whichever of them is half-built).
    command = [sys.executable, "-c", "from spotilike.gateway.cli import app; app(['serve'])"]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url + "/health/live", process)
        yield url, process
    finally:
        _stop(process)
