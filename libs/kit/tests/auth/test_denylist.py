"""Logout puts a jti on the Valkey denylist until the token expires; verifiers honour it."""

from __future__ import annotations

import math
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from spotilike.kit.auth import MAX_LEEWAY_SECONDS, TokenDenylist
from spotilike.kit.errors import Unauthorized

pytestmark = pytest.mark.integration


async def test_a_denied_jti_lives_until_the_token_expires_plus_the_largest_leeway(
    denylist: TokenDenylist, valkey: redis.Redis
) -> None:
    jti = uuid.uuid4().hex
    expires_at = datetime.now(UTC) + timedelta(minutes=15, microseconds=500)

    assert not await denylist.is_denied(jti)
    await denylist.deny(jti, expires_at)

    assert await denylist.is_denied(jti)
    expire_time = await valkey.expiretime(f"auth:denylist:{jti}")
    assert expire_time == math.ceil(expires_at.timestamp()) + MAX_LEEWAY_SECONDS


async def test_denying_a_long_expired_token_leaves_no_entry(denylist: TokenDenylist) -> None:
    jti = uuid.uuid4().hex
    await denylist.deny(jti, datetime.now(UTC) - timedelta(hours=1))
    assert not await denylist.is_denied(jti)


async def test_a_denied_token_is_rejected_and_others_are_not(
    api: Any, minter: Any, key_a: Any, denylist: TokenDenylist
) -> None:
    exp = int(time.time()) + 300
    revoked = minter.mint(key_a, exp=exp)
    still_good = minter.mint(key_a, exp=exp)
    response = await api.get(token=revoked)
    assert response.status_code == 200
    principal = response.json()

    await denylist.deny(principal["token_id"], datetime.fromisoformat(principal["expires_at"]))

    await api.expect_rejected(revoked, "auth/token-revoked")
    assert (await api.get(token=still_good)).status_code == 200


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_denylist_fails_closed_with_401(
    make_verifier: Any, minter: Any, key_a: Any
) -> None:
    unreachable = redis.Redis(
        host="127.0.0.1", port=_closed_port(), retry=Retry(NoBackoff(), retries=0)
    )
    try:
        verifier = make_verifier(denylist=TokenDenylist(unreachable))
        with pytest.raises(Unauthorized) as raised:
            await verifier.verify(minter.mint(key_a))
    finally:
        await unreachable.aclose()
    assert raised.value.code == "auth/revocation-check-failed"
    assert raised.value.status == 401


async def test_deny_refuses_an_empty_jti_or_a_naive_expiry() -> None:
    denylist = TokenDenylist(redis.Redis(host="127.0.0.1", port=_closed_port()))
    with pytest.raises(ValueError, match="jti"):
        await denylist.deny("", datetime.now(UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        await denylist.deny("some-jti", datetime.now())
