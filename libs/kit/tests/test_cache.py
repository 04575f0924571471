"""The page cache against the real Valkey: hits, single-flight, the cross-process lock,
invalidation racing a load, failing loads and an unreachable Valkey."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from spotilike.kit.cache import MAX_KEY_BYTES, JSONValue, PageCache, cache_key

ALBUM_PAGE: JSONValue = {
    "album": {"id": "al-1", "title": "Blåtoner", "year": 2024},
    "tracks": [{"number": 1, "title": "Første"}, {"number": 2, "title": "Andre"}],
}

# Generous, so that only a broken lock or single-flight could make a test load twice;
# the tests end by events, not by these running out.
PATIENT = {"lock_seconds": 30.0, "wait_seconds": 30.0, "poll_seconds": 0.01}


class CountingLoad:
    """A loader that counts its calls and, when given a gate, waits for it to open."""

    def __init__(
        self,
        page: Any,
        *,
        gate: asyncio.Event | None = None,
        error: Exception | None = None,
    ) -> None:
        self.page = page
        self.gate = gate
        self.error = error
        self.calls = 0
        self.started = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.page


def metric(name: str, namespace: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"namespace": namespace, **labels}) or 0.0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def valkey(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def other_valkey(redis_url: str) -> AsyncIterator[Redis]:
    """A second client with its own connections, as another replica of a service has."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(valkey: Redis) -> AsyncIterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for pattern in (f"cache:{name}:*", f"lock:cache:{name}:*"):
        async for key in valkey.scan_iter(match=pattern):
            await valkey.delete(key)


@pytest.fixture
def make_cache(namespace: str, valkey: Redis) -> Callable[..., PageCache]:
    def make(client: Redis | None = None, **knobs: float) -> PageCache:
        return PageCache(client or valkey, namespace=namespace, **knobs)

    return make


@pytest.mark.integration
async def test_a_miss_loads_and_stores_and_the_next_lookup_is_a_hit(
    make_cache: Callable[..., PageCache], namespace: str, valkey: Redis
) -> None:
    cache = make_cache()
    load = CountingLoad(ALBUM_PAGE)
    hits = metric("spotilike_cache_hits_total", namespace)
    misses = metric("spotilike_cache_misses_total", namespace)

    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert load.calls == 1
    assert await valkey.exists(cache_key(namespace, "album:al-1")) == 1
    assert metric("spotilike_cache_misses_total", namespace) == misses + 1
    assert metric("spotilike_cache_hits_total", namespace) == hits

    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert load.calls == 1
    assert metric("spotilike_cache_hits_total", namespace) == hits + 1
    assert metric("spotilike_cache_misses_total", namespace) == misses + 1


@pytest.mark.integration
async def test_a_stored_page_lives_for_the_ttl_and_the_lock_is_gone(
    make_cache: Callable[..., PageCache], namespace: str, valkey: Redis
) -> None:
    cache = make_cache(ttl_seconds=30)
    await cache.get_or_load("album:al-1", CountingLoad(ALBUM_PAGE))

    key = cache_key(namespace, "album:al-1")
    assert 0 < await valkey.pttl(key) <= 30_000
    assert await valkey.exists("lock:" + key) == 0


@pytest.mark.integration
async def test_a_miss_returns_the_shape_a_hit_returns(
    make_cache: Callable[..., PageCache],
) -> None:
    cache = make_cache()
    load = CountingLoad({"durations": (180, 240), "rating": None})

    on_miss = await cache.get_or_load("album:al-1", load)
    on_hit = await cache.get_or_load("album:al-1", load)

    assert on_miss == on_hit == {"durations": [180, 240], "rating": None}
    assert load.calls == 1


@pytest.mark.integration
async def test_twenty_concurrent_misses_in_one_process_share_one_load(
    make_cache: Callable[..., PageCache], namespace: str
) -> None:
    # Waiting for the Valkey lock is cut to a millisecond, so that only single-flight
    # can keep the other nineteen from loading.
    cache = make_cache(wait_seconds=0.001, poll_seconds=0.001)
    gate = asyncio.Event()
    load = CountingLoad(ALBUM_PAGE, gate=gate)
    lookups_before = metric("spotilike_cache_hits_total", namespace) + metric(
        "spotilike_cache_misses_total", namespace
    )

    callers = [asyncio.create_task(cache.get_or_load("album:al-1", load)) for _ in range(20)]
    await load.started.wait()
    await asyncio.sleep(0.05)
    gate.set()
    pages = await asyncio.gather(*callers)

    assert load.calls == 1
    assert pages == [ALBUM_PAGE] * 20
    lookups = metric("spotilike_cache_hits_total", namespace) + metric(
        "spotilike_cache_misses_total", namespace
    )
    assert lookups == lookups_before + 20


@pytest.mark.integration
async def test_a_caller_that_gives_up_does_not_cancel_the_load_for_the_others(
    make_cache: Callable[..., PageCache],
) -> None:
    cache = make_cache()
    gate = asyncio.Event()
    load = CountingLoad(ALBUM_PAGE, gate=gate)

    callers = [asyncio.create_task(cache.get_or_load("album:al-1", load)) for _ in range(3)]
    await load.started.wait()
    await asyncio.sleep(0.05)
    callers[0].cancel()
    gate.set()

    assert await asyncio.gather(*callers[1:]) == [ALBUM_PAGE] * 2
    assert callers[0].cancelled()
    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert load.calls == 1


@pytest.mark.integration
async def test_two_processes_with_ten_concurrent_misses_each_load_once(
    make_cache: Callable[..., PageCache], valkey: Redis, other_valkey: Redis
) -> None:
    replicas = [make_cache(valkey, **PATIENT), make_cache(other_valkey, **PATIENT)]
    gate = asyncio.Event()
    load = CountingLoad(ALBUM_PAGE, gate=gate)

    callers = [
        asyncio.create_task(replica.get_or_load("album:al-1", load))
        for replica in replicas
        for _ in range(10)
    ]
    await load.started.wait()
    await asyncio.sleep(0.1)
    gate.set()
    pages = await asyncio.gather(*callers)

    assert load.calls == 1
    assert pages == [ALBUM_PAGE] * 20


class PausingRedis(Redis):
    """A real client whose first GET answers only once ``resume`` is set, to stage a race."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()

    async def get(self, name: Any) -> Any:
        value = await super().get(name)
        if not self.paused.is_set():
            self.paused.set()
            await self.resume.wait()
        return value


@pytest.mark.integration
async def test_a_replica_that_gets_the_lock_after_another_stored_the_page_does_not_load(
    make_cache: Callable[..., PageCache], redis_url: str
) -> None:
    late_client = PausingRedis.from_url(redis_url)
    try:
        late = make_cache(late_client, **PATIENT)
        early = make_cache(**PATIENT)
        load = CountingLoad(ALBUM_PAGE)

        late_caller = asyncio.create_task(late.get_or_load("album:al-1", load))
        await late_client.paused.wait()
        assert await early.get_or_load("album:al-1", load) == ALBUM_PAGE
        late_client.resume.set()

        assert await late_caller == ALBUM_PAGE
        assert load.calls == 1
    finally:
        await late_client.aclose()


@pytest.mark.integration
async def test_a_loader_holding_the_lock_past_lock_seconds_does_not_hold_up_others(
    make_cache: Callable[..., PageCache], valkey: Redis, other_valkey: Redis
) -> None:
    knobs = {**PATIENT, "lock_seconds": 0.2}
    stuck_replica = make_cache(valkey, **knobs)
    other_replica = make_cache(other_valkey, **knobs)
    gate = asyncio.Event()
    stuck = CountingLoad({"title": "from the stuck loader"}, gate=gate)
    quick = CountingLoad({"title": "from the other replica"})

    stuck_caller = asyncio.create_task(stuck_replica.get_or_load("album:al-1", stuck))
    await stuck.started.wait()
    # wait_seconds is 30: only taking over the expired lock lets this finish within 10 s.
    page = await asyncio.wait_for(other_replica.get_or_load("album:al-1", quick), timeout=10)
    gate.set()

    assert page == {"title": "from the other replica"}
    assert await stuck_caller == {"title": "from the stuck loader"}
    assert (stuck.calls, quick.calls) == (1, 1)
    # The stuck loader saw an empty entry; it is not empty any more, so it stored nothing.
    assert await stuck_replica.get_or_load("album:al-1", stuck) == page
    assert stuck.calls == 1


@pytest.mark.integration
async def test_an_invalidation_during_a_load_keeps_its_stale_page_out_of_the_cache(
    make_cache: Callable[..., PageCache], other_valkey: Redis
) -> None:
    reader = make_cache()
    writer = make_cache(other_valkey)
    gate = asyncio.Event()
    stale = CountingLoad({"title": "Old title"}, gate=gate)
    fresh = CountingLoad({"title": "New title"})

    in_flight = asyncio.create_task(reader.get_or_load("album:al-1", stale))
    await stale.started.wait()
    assert await writer.invalidate("album:al-1") is True
    gate.set()

    assert await in_flight == {"title": "Old title"}
    assert await reader.get_or_load("album:al-1", fresh) == {"title": "New title"}
    assert await reader.get_or_load("album:al-1", fresh) == {"title": "New title"}
    assert (stale.calls, fresh.calls) == (1, 1)


@pytest.mark.integration
async def test_a_lookup_after_an_invalidation_does_not_join_the_load_it_invalidated(
    make_cache: Callable[..., PageCache],
) -> None:
    cache = make_cache(**PATIENT)
    gate = asyncio.Event()
    stale = CountingLoad({"title": "Old title"}, gate=gate)
    fresh = CountingLoad({"title": "New title"})

    in_flight = asyncio.create_task(cache.get_or_load("album:al-1", stale))
    await stale.started.wait()
    assert await cache.invalidate("album:al-1") is True
    after_write = asyncio.create_task(cache.get_or_load("album:al-1", fresh))
    await asyncio.sleep(0.05)
    gate.set()

    assert await in_flight == {"title": "Old title"}
    assert await after_write == {"title": "New title"}
    assert await cache.get_or_load("album:al-1", stale) == {"title": "New title"}
    assert (stale.calls, fresh.calls) == (1, 1)


@pytest.mark.integration
async def test_invalidating_a_stored_page_makes_the_next_lookup_load(
    make_cache: Callable[..., PageCache],
) -> None:
    cache = make_cache()
    first = CountingLoad({"title": "Old title"})
    second = CountingLoad({"title": "New title"})
    other = CountingLoad({"title": "Other album"})
    await cache.get_or_load("album:al-1", first)
    await cache.get_or_load("album:al-2", other)

    assert await cache.invalidate("album:al-1", "album:al-2") is True

    assert await cache.get_or_load("album:al-1", second) == {"title": "New title"}
    assert await cache.get_or_load("album:al-2", other) == {"title": "Other album"}
    assert (first.calls, second.calls, other.calls) == (1, 1, 2)


@pytest.mark.integration
async def test_a_failing_load_reaches_every_waiter_and_caches_nothing(
    make_cache: Callable[..., PageCache], namespace: str, valkey: Redis
) -> None:
    cache = make_cache(**PATIENT)
    gate = asyncio.Event()
    failing = CountingLoad(None, gate=gate, error=RuntimeError("catalog database is down"))

    callers = [asyncio.create_task(cache.get_or_load("album:al-1", failing)) for _ in range(5)]
    await failing.started.wait()
    await asyncio.sleep(0.05)
    gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)

    assert failing.calls == 1
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert {str(outcome) for outcome in outcomes} == {"catalog database is down"}
    assert await valkey.exists(cache_key(namespace, "album:al-1")) == 0
    # The lock was released: with lock and wait at 30 s a leftover lock would trip this.
    working = CountingLoad(ALBUM_PAGE)
    page = await asyncio.wait_for(cache.get_or_load("album:al-1", working), timeout=10)
    assert page == ALBUM_PAGE
    assert working.calls == 1


@pytest.mark.integration
async def test_an_unreadable_entry_is_loaded_again_and_replaced(
    make_cache: Callable[..., PageCache], namespace: str, valkey: Redis
) -> None:
    cache = make_cache()
    await valkey.set(cache_key(namespace, "album:al-1"), b"v{not json", px=30_000)
    load = CountingLoad(ALBUM_PAGE)

    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert load.calls == 1


@pytest.fixture
async def unreachable_valkey() -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=_closed_port(), retry=Retry(NoBackoff(), retries=0))
    yield client
    await client.aclose()


@pytest.mark.integration
async def test_with_valkey_down_lookups_load_and_errors_are_counted(
    unreachable_valkey: Redis, namespace: str
) -> None:
    cache = PageCache(unreachable_valkey, namespace=namespace)
    load = CountingLoad(ALBUM_PAGE)
    read_errors = metric("spotilike_cache_errors_total", namespace, operation="read")

    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE
    assert await cache.get_or_load("album:al-1", load) == ALBUM_PAGE

    assert load.calls == 2
    assert metric("spotilike_cache_errors_total", namespace, operation="read") == read_errors + 2


@pytest.mark.integration
async def test_with_valkey_down_concurrent_misses_still_share_one_load(
    unreachable_valkey: Redis, namespace: str
) -> None:
    cache = PageCache(unreachable_valkey, namespace=namespace)
    gate = asyncio.Event()
    load = CountingLoad(ALBUM_PAGE, gate=gate)

    callers = [asyncio.create_task(cache.get_or_load("album:al-1", load)) for _ in range(5)]
    await load.started.wait()
    await asyncio.sleep(0.05)
    gate.set()

    assert await asyncio.gather(*callers) == [ALBUM_PAGE] * 5
    assert load.calls == 1


@pytest.mark.integration
async def test_with_valkey_down_invalidate_reports_failure_without_raising(
    unreachable_valkey: Redis, namespace: str
) -> None:
    cache = PageCache(unreachable_valkey, namespace=namespace)
    failures = metric("spotilike_cache_errors_total", namespace, operation="invalidate")

    assert await cache.invalidate("album:al-1") is False
    assert metric("spotilike_cache_errors_total", namespace, operation="invalidate") == (
        failures + 1
    )


@pytest.mark.unit
def test_a_short_key_is_kept_as_it_is() -> None:
    assert cache_key("catalog", "album:al-1") == "cache:catalog:album:al-1"
    at_limit = "k" * MAX_KEY_BYTES
    assert cache_key("catalog", at_limit) == f"cache:catalog:{at_limit}"


@pytest.mark.unit
def test_a_long_key_is_replaced_by_its_sha256() -> None:
    long_key = "search:" + "q" * MAX_KEY_BYTES
    digest = hashlib.sha256(long_key.encode()).hexdigest()
    assert cache_key("catalog", long_key) == f"cache:catalog:sha256~{digest}"
    assert cache_key("catalog", long_key + "!") != cache_key("catalog", long_key)


@pytest.mark.unit
def test_key_length_is_counted_in_utf8_bytes() -> None:
    narrow = "a" * 65
    wide = "å" * 65  # 130 bytes
    assert cache_key("catalog", narrow) == f"cache:catalog:{narrow}"
    assert cache_key("catalog", wide).startswith("cache:catalog:sha256~")


@pytest.mark.unit
def test_a_key_that_looks_hashed_cannot_collide_with_a_hashed_key() -> None:
    long_key = "x" * (MAX_KEY_BYTES + 1)
    hashed = cache_key("catalog", long_key).removeprefix("cache:catalog:")
    assert cache_key("catalog", hashed) != cache_key("catalog", long_key)


@pytest.mark.unit
@given(first=st.text(max_size=300), second=st.text(max_size=300))
def test_stored_keys_are_bounded_and_distinct(first: str, second: str) -> None:
    for key in (first, second):
        stored = cache_key("catalog", key).removeprefix("cache:catalog:")
        assert len(stored.encode()) <= MAX_KEY_BYTES
    if first != second:
        assert cache_key("catalog", first) != cache_key("catalog", second)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["catalog:albums", "", "catalog albums"])
async def test_namespaces_that_could_overlap_are_refused(
    unreachable_valkey: Redis, name: str
) -> None:
    with pytest.raises(ValueError, match="may hold only letters"):
        PageCache(unreachable_valkey, namespace=name)


@pytest.mark.unit
@pytest.mark.parametrize("knob", ["ttl_seconds", "lock_seconds", "wait_seconds", "poll_seconds"])
async def test_non_positive_durations_are_refused(unreachable_valkey: Redis, knob: str) -> None:
    with pytest.raises(ValueError, match=f"{knob} must be positive"):
        PageCache(unreachable_valkey, namespace="catalog", **{knob: 0})
