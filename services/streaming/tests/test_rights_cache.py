"""The rights cache never fails a request because an entry expired mid-lookup."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest

from spotilike.kit.db import Database
from spotilike.streaming.service.rights import NEW_LISTENER, RightsCache

pytestmark = pytest.mark.unit


class EmptyProjection:
    """A database stand-in whose projections hold nothing; counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[Any]:
        self.reads += 1
        yield self

    async def get(self, _model: object, _key: object) -> None:
        return None


class LeapingClock:
    """Each reading is ``step`` later than the last: with a step of 30% of the TTL, an
    entry still there at one look has expired at the next, the race a check-then-read
    (``in``, then ``[]``) loses with a KeyError."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_entries_expiring_between_looks_are_read_again_not_raised() -> None:
    projection = EmptyProjection()
    cache = RightsCache(cast(Database, projection), ttl_seconds=0.5, timer=LeapingClock(step=0.15))
    track, user = uuid.uuid4(), uuid.uuid4()
    for _ in range(20):
        assert await cache.load(track, user) == (None, NEW_LISTENER)
    assert projection.reads > 1


async def test_a_cached_unknown_track_is_a_hit() -> None:
    projection = EmptyProjection()
    cache = RightsCache(cast(Database, projection), ttl_seconds=60)
    track, user = uuid.uuid4(), uuid.uuid4()
    for _ in range(5):
        assert await cache.load(track, user) == (None, NEW_LISTENER)
    assert projection.reads == 1
