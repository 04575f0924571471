"""The per-user limit, counted in Valkey across instances."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from streaming_support import Streaming, code_of, put_track

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


async def test_two_instances_let_exactly_the_limit_through(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user, bystander = uuid.uuid4(), uuid.uuid4()
    # One prefix = one deployment: both instances count in the same Valkey keys. A
    # per-minute window keeps the count exact however slow this machine is.
    prefix = f"t{uuid.uuid4().hex[:8]}."
    async with (
        streaming_app(topic_prefix=prefix, rate_limit="30/minute") as first,
        streaming_app(topic_prefix=prefix, rate_limit="30/minute") as second,
    ):
        headers = first.listener(user)
        responses = await asyncio.gather(
            *(
                (first if i % 2 else second).http.get(
                    f"/stream/{track}/master.m3u8", headers=headers
                )
                for i in range(100)
            )
        )
        other = await first.http.get(
            f"/stream/{track}/master.m3u8", headers=first.listener(bystander)
        )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 30
    assert statuses.count(429) == 70
    refused = next(r for r in responses if r.status_code == 429)
    assert code_of(refused) == "rate-limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-policy"] == '"streaming-user";q=30;w=60'
    assert refused.headers["ratelimit"].startswith('"streaming-user";r=0;t=')
    allowed = [r for r in responses if r.status_code == 200]
    # Remaining is read just after each hit, so under concurrency it can only undercount.
    remaining = [int(r.headers["ratelimit"].split("r=")[1].split(";")[0]) for r in allowed]
    assert all(0 <= left <= 29 for left in remaining)
    assert other.status_code == 200


async def test_playback_links_are_charged_to_their_user_only_once_verified(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    victim = uuid.uuid4()
    async with streaming_app(rate_limit="3/minute") as client:
        # Forged links naming the victim must not use up the victim's allowance.
        for _ in range(5):
            forged = await client.http.get(
                f"/stream/{track}/96/index.m3u8", params={"u": str(victim), "t": "x.1.y"}
            )
            assert forged.status_code == 403
        response = await client.http.get(
            f"/stream/{track}/master.m3u8", headers=client.listener(victim)
        )
        assert response.status_code == 200
        assert response.headers["ratelimit"].startswith('"streaming-user";r=2;')
