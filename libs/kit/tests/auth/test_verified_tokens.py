"""A token that verified is remembered, and what could change since is still checked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from spotilike.kit.auth import DEFAULT_KEY_MAX_AGE_SECONDS, TokenDenylist, TokenVerifier
from spotilike.kit.errors import Unauthorized

pytestmark = pytest.mark.integration


class WallClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens PyJWT decoded (and so verified the signature of), in order."""
    decoded: list[str] = []
    decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr("spotilike.kit.auth.verifier.jwt.decode", counting_decode)
    return decoded


async def _rejection(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as raised:
        await verifier.verify(token)
    return str(raised.value.code)


async def test_a_token_sent_again_is_not_verified_again(
    make_verifier: Callable[..., TokenVerifier],
    minter: Any,
    key_a: Any,
    signature_checks: list[str],
) -> None:
    verifier = make_verifier()
    token = minter.mint(key_a, sub="user-7", roles=["ARTIST"])

    first = await verifier.verify(token)
    again = await verifier.verify(token)

    assert signature_checks == [token]
    assert again == first
    assert (again.subject, again.roles) == ("user-7", frozenset({"ARTIST"}))


async def test_a_remembered_token_is_refused_once_it_expires(
    make_verifier: Callable[..., TokenVerifier], minter: Any, key_a: Any
) -> None:
    wall = WallClock()
    verifier = make_verifier(clock=wall, leeway_seconds=10)
    token = minter.mint(key_a, exp=int(wall.now) + 60)
    await verifier.verify(token)

    wall.advance(60 + 9)
    assert (await verifier.verify(token)).token == token
    wall.advance(1)
    assert await _rejection(verifier, token) == "auth/expired-token"


async def test_a_remembered_token_is_refused_as_soon_as_it_is_revoked(
    make_verifier: Callable[..., TokenVerifier], minter: Any, key_a: Any, denylist: TokenDenylist
) -> None:
    verifier = make_verifier()
    token = minter.mint(key_a)
    principal = await verifier.verify(token)

    await denylist.deny(principal.token_id, principal.expires_at)

    assert await _rejection(verifier, token) == "auth/token-revoked"


async def test_a_remembered_token_stops_when_its_signing_key_is_withdrawn(
    make_verifier: Callable[..., TokenVerifier],
    minter: Any,
    key_a: Any,
    key_b: Any,
    jwks_server: Any,
    clock: Any,
) -> None:
    verifier = make_verifier()
    token = minter.mint(key_a)
    await verifier.verify(token)
    jwks_server.keys = [key_b.public_jwk()]

    clock.advance(DEFAULT_KEY_MAX_AGE_SECONDS - 1)
    await verifier.verify(token)
    assert jwks_server.requests == 1

    clock.advance(1)
    assert await _rejection(verifier, token) == "auth/unknown-key"
    assert jwks_server.requests == 2


async def test_only_tokens_that_verified_are_remembered_and_only_so_many(
    make_verifier: Callable[..., TokenVerifier],
    minter: Any,
    key_a: Any,
    unpublished_key: Any,
    signature_checks: list[str],
) -> None:
    verifier = make_verifier(verified_cache_size=2)
    forged = minter.mint(unpublished_key)
    first, second, third = (minter.mint(key_a) for _ in range(3))

    for _ in range(2):
        assert await _rejection(verifier, forged) == "auth/invalid-token"
    for token in (first, second, third, third, second, first):
        await verifier.verify(token)

    # The forgery was checked both times; `first` was dropped to make room for `third`.
    assert signature_checks == [forged, forged, first, second, third, first]


async def test_a_tampered_copy_of_a_remembered_token_is_verified_and_refused(
    make_verifier: Callable[..., TokenVerifier], minter: Any, key_a: Any
) -> None:
    verifier = make_verifier()
    token = minter.mint(key_a)
    await verifier.verify(token)
    header, _, signature = token.split(".")
    elevated = json.dumps(minter.claims(sub="admin", roles=["ADMIN"])).encode()
    tampered = f"{header}.{jwt.utils.base64url_encode(elevated).decode()}.{signature}"

    assert await _rejection(verifier, tampered) == "auth/invalid-token"


async def test_a_size_of_zero_remembers_nothing(
    make_verifier: Callable[..., TokenVerifier],
    minter: Any,
    key_a: Any,
    signature_checks: list[str],
) -> None:
    verifier = make_verifier(verified_cache_size=0)
    token = minter.mint(key_a)

    await verifier.verify(token)
    await verifier.verify(token)

    assert signature_checks == [token, token]
