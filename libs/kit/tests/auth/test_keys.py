"""The JWKS cache: one fetch per cooldown for unknown kids, rotation, failures, key filtering."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from structlog.testing import capture_logs

from spotilike.kit.auth import (
    DEFAULT_KEY_MAX_AGE_SECONDS,
    DEFAULT_REFETCH_COOLDOWN_SECONDS,
    JwksCache,
    TokenVerifier,
    http_jwks_fetcher,
)
from spotilike.kit.errors import Unauthorized

pytestmark = pytest.mark.integration

# The verifier under test uses the library's defaults.
COOLDOWN = DEFAULT_REFETCH_COOLDOWN_SECONDS
MAX_AGE = DEFAULT_KEY_MAX_AGE_SECONDS


async def test_unknown_kids_share_one_fetch_per_cooldown_even_when_concurrent(
    api: Any, minter: Any, jwks_server: Any, clock: Any, key_a: Any, key_b: Any
) -> None:
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    assert jwks_server.requests == 1

    clock.advance(COOLDOWN + 1)
    unknown = minter.mint(key_b)
    responses = await asyncio.gather(*(api.get(token=unknown) for _ in range(20)))
    for response in responses:
        api.expect_problem(response, 401, "auth/unknown-key")
    assert jwks_server.requests == 2

    responses = await asyncio.gather(*(api.get(token=unknown) for _ in range(20)))
    assert {response.status_code for response in responses} == {401}
    assert jwks_server.requests == 2


async def test_a_rotated_in_key_is_found_once_the_cooldown_has_passed(
    api: Any, minter: Any, jwks_server: Any, clock: Any, key_a: Any, key_b: Any
) -> None:
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    jwks_server.keys.append(key_b.public_jwk())
    token_b = minter.mint(key_b)

    await api.expect_rejected(token_b, "auth/unknown-key")
    assert jwks_server.requests == 1

    clock.advance(COOLDOWN)
    assert (await api.get(token=token_b)).status_code == 200
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    assert jwks_server.requests == 2


async def test_a_withdrawn_key_stops_verifying_once_the_keys_are_old(
    api: Any, minter: Any, jwks_server: Any, clock: Any, key_a: Any, key_b: Any
) -> None:
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    jwks_server.keys = [key_b.public_jwk()]

    clock.advance(MAX_AGE - 1)
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    assert jwks_server.requests == 1

    clock.advance(1)
    await api.expect_rejected(minter.mint(key_a), "auth/unknown-key")
    assert (await api.get(token=minter.mint(key_b))).status_code == 200
    assert jwks_server.requests == 2


async def test_known_keys_keep_working_when_a_refresh_fails(
    api: Any, minter: Any, jwks_server: Any, clock: Any, key_a: Any
) -> None:
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    jwks_server.mode = "error"
    clock.advance(MAX_AGE)

    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    assert (await api.get(token=minter.mint(key_a))).status_code == 200
    assert jwks_server.requests == 2


@pytest.mark.parametrize("mode", ["error", "not-json", "no-keys"])
async def test_a_failing_jwks_endpoint_gives_401_and_a_log_entry(
    api: Any, minter: Any, jwks_server: Any, clock: Any, key_a: Any, mode: str
) -> None:
    jwks_server.mode = mode
    with capture_logs() as logs:
        await api.expect_rejected(minter.mint(key_a), "auth/keys-unavailable")
        await api.expect_rejected(minter.mint(key_a), "auth/keys-unavailable")
    assert jwks_server.requests == 1
    assert [entry["event"] for entry in logs].count("jwks_fetch_failed") == 1

    jwks_server.mode = "ok"
    clock.advance(COOLDOWN)
    assert (await api.get(token=minter.mint(key_a))).status_code == 200


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_jwks_endpoint_gives_401(
    make_verifier: Any, minter: Any, key_a: Any
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/jwks"
    verifier = make_verifier(keys=JwksCache(http_jwks_fetcher(url)))
    await _expect_keys_unavailable(verifier, minter.mint(key_a))


async def test_a_jwks_endpoint_that_never_answers_times_out_into_401(
    make_verifier: Any, minter: Any, key_a: Any
) -> None:
    release = asyncio.Event()

    async def accept_and_stay_silent(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await release.wait()
        writer.close()
        await writer.wait_closed()

    listener = await asyncio.start_server(accept_and_stay_silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        fetch = http_jwks_fetcher(f"http://127.0.0.1:{port}/jwks", timeout_seconds=0.3)
        verifier = make_verifier(keys=JwksCache(fetch))
        await _expect_keys_unavailable(verifier, minter.mint(key_a))
    finally:
        release.set()
        listener.close()
        await listener.wait_closed()


async def _expect_keys_unavailable(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        await verifier.verify(token)
    assert raised.value.code == "auth/keys-unavailable"
    assert raised.value.status == 401


class CountingFetcher:
    """An injected fetcher: shows the cache works with any source of a key set."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.calls = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        await asyncio.sleep(0)
        return self.document


def _rsa_jwk(kid: str, bits: int = 2048, **extra: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, **extra}


async def test_only_rsa_signature_keys_for_rs256_are_kept(clock: Any) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = {
        "keys": [
            _rsa_jwk("plain"),
            _rsa_jwk("declared", use="sig", alg="RS256"),
            _rsa_jwk("encryption", use="enc"),
            _rsa_jwk("other-alg", alg="RS512"),
            _rsa_jwk("too-short", bits=1024),
            {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec"},
            {**json.loads(RSAAlgorithm.to_jwk(private_rsa)), "kid": "private"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "symmetric"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "!!"},
            _rsa_jwk(""),
            "not-an-object",
        ]
    }
    cache = JwksCache(CountingFetcher(document), clock=clock)

    assert (await cache.signing_key("plain")).algorithm_name == "RS256"
    assert (await cache.signing_key("declared")).algorithm_name == "RS256"
    for kid in ("encryption", "other-alg", "too-short", "ec", "private", "symmetric", "broken"):
        with pytest.raises(Unauthorized) as raised:
            await cache.signing_key(kid)
        assert raised.value.code == "auth/unknown-key"


async def test_concurrent_lookups_of_a_cold_cache_make_one_fetch(clock: Any) -> None:
    fetcher = CountingFetcher({"keys": [_rsa_jwk("k1")]})
    cache = JwksCache(fetcher, clock=clock)

    keys = await asyncio.gather(*(cache.signing_key("k1") for _ in range(20)))

    assert len({id(key) for key in keys}) == 1
    assert fetcher.calls == 1


def test_a_cooldown_longer_than_the_key_lifetime_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age_seconds"):
        JwksCache(CountingFetcher({"keys": []}), refetch_cooldown_seconds=600, max_age_seconds=60)
