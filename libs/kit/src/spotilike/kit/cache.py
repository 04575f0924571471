"""Cache-aside for rendered read models (an album page, an artist page) in Valkey.

A page is a JSON document stored under ``cache:<namespace>:<key>`` for ``ttl_seconds``.
A lookup that finds it returns it; one that does not calls the caller's ``load`` and
stores what it returns. The standard library's ``json`` encodes pages: orjson is not in
the workspace, and for documents of a few kilobytes the difference does not matter.

Stampedes are held off at two levels:

- Inside a process, concurrent misses for one key share one load (single-flight). The
  load runs in a task of its own that every caller awaits through ``asyncio.shield``, so a
  caller that gives up does not cancel the others' load. A failed load raises its error to
  every caller waiting for it and stores nothing.
- Across processes, the loader first takes a short Valkey lock
  ``lock:cache:<namespace>:<key>`` (redis-py's ``Lock``: ``SET NX PX`` with a random token,
  released by a compare-and-delete script). The other replicas poll for the page every
  ``poll_seconds``, trying for the lock each time; the lock expires after
  ``lock_seconds``, so a loader that hangs or dies holds nobody up for longer. After
  ``wait_seconds`` without a page a replica loads on its own rather than fail the request.

Invalidation uses a marker in the entry itself rather than a deletion. ``invalidate``
overwrites the entry with an *invalidated* marker carrying a random token, and a loader
stores its result only if the entry still holds exactly what it saw just before it
started loading (nothing, or an older marker); a Lua script makes that check-and-set
atomic. So a load that read the database before a writer committed, and finishes after
the writer invalidated, finds the marker changed and does not write its stale page back.
Its own callers still get what it loaded: their requests overlapped the write. Everything
about one entry lives in one Valkey key, so the script is safe on a Valkey cluster. A
marker lives twice ``ttl_seconds``, and a load that took longer than ``ttl_seconds``
stores nothing, so an expired marker can never be mistaken for an entry that was never
written. Delete entries only through :meth:`PageCache.invalidate`: a plain ``DEL`` would
let a racing stale load store its page.

Writers call ``invalidate`` after their transaction commits, and the loader must read
what was committed (the primary, or a replica under read-your-writes): a lagging replica
read right after the invalidation would be cached for a whole TTL.

Valkey failures never reach the caller. A lookup that cannot read Valkey loads directly
(still single-flight within the process) and logs a warning; a failed store or lock
release is logged and left to expire. A failed invalidation is logged as an error and
``invalidate`` returns ``False`` rather than raising: the writer's transaction has already
committed and cannot be taken back, and the page is then stale for at most
``ttl_seconds``. Every failed Valkey call counts in ``spotilike_cache_errors_total``
labelled with the operation, so failed invalidations can be alerted on apart from reads.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TypeAlias

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

__all__ = [
    "CACHE_ERRORS",
    "CACHE_HITS",
    "CACHE_MISSES",
    "MAX_KEY_BYTES",
    "JSONValue",
    "Loader",
    "PageCache",
    "cache_key",
]

JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None
Loader: TypeAlias = Callable[[], Awaitable[JSONValue]]

CACHE_HITS = Counter(
    "spotilike_cache_hits_total",
    "Page cache lookups answered from Valkey",
    ["namespace"],
)
CACHE_MISSES = Counter(
    "spotilike_cache_misses_total",
    "Page cache lookups that waited for a load (their own, this process's or another replica's)",
    ["namespace"],
)
CACHE_ERRORS = Counter(
    "spotilike_cache_errors_total",
    "Page cache Valkey calls that failed, by operation: read, lock, store, release, invalidate",
    ["namespace", "operation"],
)

MAX_KEY_BYTES = 128
"""Longer keys (in UTF-8) are stored under their SHA-256 instead."""

_HASHED_PREFIX = "sha256~"
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]+")
_PAGE = b"v"
_INVALIDATED = b"x"

# KEYS[1] the entry; ARGV[1] what the loader saw ('' for nothing), ARGV[2] the new
# entry, ARGV[3] its TTL in milliseconds.
_STORE_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_log = structlog.get_logger(__name__)


def cache_key(namespace: str, key: str) -> str:
    """The Valkey key of ``key``'s page: ``cache:<namespace>:<key>``.

    A key longer than :data:`MAX_KEY_BYTES` is replaced by ``sha256~<hex digest>``, so a
    key built from a long query string cannot bloat every Valkey call. A key that already
    starts with ``sha256~`` is hashed too, so no literal key can collide with a hashed one.
    """
    if len(key.encode()) > MAX_KEY_BYTES or key.startswith(_HASHED_PREFIX):
        key = _HASHED_PREFIX + hashlib.sha256(key.encode()).hexdigest()
    return f"cache:{namespace}:{key}"


@dataclass(frozen=True, slots=True)
class _Hit:
    value: JSONValue


@dataclass(frozen=True, slots=True)
class _Turn:
    """This process loads: with the lock, or without it after waiting in vain."""

    locked: bool
    seen: bytes | None


class PageCache:
    """Cache-aside for JSON pages of one namespace (usually one per service and page kind).

    ``namespace`` becomes part of every key and the metrics' ``namespace`` label; letters,
    digits, ``_``, ``.`` and ``-`` only, so that namespaces cannot overlap. The knobs:

    - ``ttl_seconds``: how long a stored page lives, hence how stale a page can be when
      an invalidation is lost.
    - ``lock_seconds``: how long the cross-process lock keeps other replicas from loading;
      set it above a normal load's duration, since a load that outlives it may be repeated
      by another replica.
    - ``wait_seconds``: how long another replica waits for the lock holder's page before
      loading on its own.
    - ``poll_seconds``: how often a waiting replica looks for the page and the lock.

    Callers that ask for the same key at the same time must load the same page: only the
    first caller's ``load`` runs, the others share its result.

    Give the Valkey client a ``socket_timeout`` and ``socket_connect_timeout``: a Valkey
    that stops answering (rather than refusing connections) otherwise stalls every lookup
    for as long as the client waits.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str,
        ttl_seconds: float = 300,
        lock_seconds: float = 5.0,
        wait_seconds: float = 2.0,
        poll_seconds: float = 0.05,
    ) -> None:
        if not _NAMESPACE.fullmatch(namespace):
            raise ValueError(
                f"namespace {namespace!r} may hold only letters, digits, '_', '.' and '-'"
            )
        for name, value in (
            ("ttl_seconds", ttl_seconds),
            ("lock_seconds", lock_seconds),
            ("wait_seconds", wait_seconds),
            ("poll_seconds", poll_seconds),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self._redis = redis
        self._namespace = namespace
        self._ttl_seconds = ttl_seconds
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._store_if_unchanged = redis.register_script(_STORE_IF_UNCHANGED)
        self._flights: dict[str, asyncio.Task[JSONValue]] = {}
        # The event loop holds tasks only weakly; an invalidated flight leaves _flights
        # while its callers may still be waiting for it.
        self._running: set[asyncio.Task[JSONValue]] = set()

    @property
    def namespace(self) -> str:
        return self._namespace

    async def get_or_load(self, key: str, load: Loader) -> JSONValue:
        """The page cached under ``key``, or what ``load`` returns, which is then cached.

        A miss returns the page as it comes back out of JSON (tuples become lists), the
        same shape a hit returns. Errors raised by ``load`` reach the caller unchanged;
        Valkey errors never do. ``load`` must return something ``json`` can encode.
        """
        storage_key = cache_key(self._namespace, key)
        flight = self._flights.get(storage_key)
        if flight is None:
            reachable = True
            try:
                seen = await self._get(storage_key)
            except RedisError as exc:
                self._failed("read", exc)
                seen, reachable = None, False
            if (hit := self._cached(seen)) is not None:
                CACHE_HITS.labels(self._namespace).inc()
                return hit.value
            # Another caller may have started the load while this one awaited Valkey.
            flight = self._flights.get(storage_key)
            if flight is None:
                work = self._fill(storage_key, load, seen) if reachable else _load_json(load)
                flight = self._start(storage_key, work)
        CACHE_MISSES.labels(self._namespace).inc()
        return await asyncio.shield(flight)

    async def invalidate(self, *keys: str) -> bool:
        """Makes the next lookup of each key load afresh; ``False`` if Valkey failed.

        Call it after the write's transaction has committed. Loads that started before it
        will not store their result, and later lookups in this process do not join them.
        """
        storage_keys = [cache_key(self._namespace, key) for key in keys]
        for storage_key in storage_keys:
            self._flights.pop(storage_key, None)
        if not storage_keys:
            return True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for storage_key in storage_keys:
                    marker = _INVALIDATED + secrets.token_hex(16).encode()
                    pipe.set(storage_key, marker, px=2 * self._ttl_ms)
                await pipe.execute()
        except RedisError as exc:
            self._failed("invalidate", exc)
            return False
        return True

    def _start(
        self, storage_key: str, work: Coroutine[None, None, JSONValue]
    ) -> asyncio.Task[JSONValue]:
        flight = asyncio.create_task(work)
        self._flights[storage_key] = flight
        self._running.add(flight)
        flight.add_done_callback(functools.partial(self._landed, storage_key))
        return flight

    def _landed(self, storage_key: str, flight: asyncio.Task[JSONValue]) -> None:
        self._running.discard(flight)
        if self._flights.get(storage_key) is flight:
            del self._flights[storage_key]

    async def _fill(self, storage_key: str, load: Loader, seen: bytes | None) -> JSONValue:
        lock = self._redis.lock(
            "lock:" + storage_key,
            timeout=self._lock_seconds,
            blocking=False,
            thread_local=False,
        )
        try:
            turn = await self._wait_for_turn(storage_key, lock, seen)
        except RedisError as exc:
            self._failed("lock", exc)
            return await _load_json(load)
        if isinstance(turn, _Hit):
            return turn.value
        try:
            return await self._load_and_store(storage_key, load, turn.seen)
        finally:
            if turn.locked:
                await self._release(lock)

    async def _wait_for_turn(
        self, storage_key: str, lock: Lock, seen: bytes | None
    ) -> _Hit | _Turn:
        deadline = time.monotonic() + self._wait_seconds
        while not await lock.acquire():
            if time.monotonic() >= deadline:
                # The holder is slow or gone: loading here beats failing the request.
                return _Turn(locked=False, seen=seen)
            await asyncio.sleep(self._poll_seconds)
            seen = await self._get(storage_key)
            if (hit := self._cached(seen)) is not None:
                return hit
        # Another replica may have stored the page between our first look and the lock.
        seen = await self._get(storage_key)
        if (hit := self._cached(seen)) is not None:
            await self._release(lock)
            return hit
        return _Turn(locked=True, seen=seen)

    async def _load_and_store(
        self, storage_key: str, load: Loader, seen: bytes | None
    ) -> JSONValue:
        started = time.monotonic()
        entry = _encode(await load())
        # Markers live twice ttl_seconds: a load that took longer than ttl_seconds may have
        # started before a marker that has expired since, so it stores nothing.
        if time.monotonic() - started < self._ttl_seconds:
            try:
                await self._store_if_unchanged(
                    keys=[storage_key], args=[seen or b"", entry, self._ttl_ms]
                )
            except RedisError as exc:
                self._failed("store", exc)
        return _decode(entry)

    async def _release(self, lock: Lock) -> None:
        try:
            await lock.release()
        except LockError:
            pass  # it expired and maybe went to another replica; the script left theirs alone
        except RedisError as exc:
            self._failed("release", exc)

    async def _get(self, storage_key: str) -> bytes | None:
        raw = await self._redis.get(storage_key)
        return raw.encode() if isinstance(raw, str) else raw

    def _cached(self, entry: bytes | None) -> _Hit | None:
        if entry is None or not entry.startswith(_PAGE):
            return None
        try:
            return _Hit(_decode(entry))
        except ValueError as exc:
            # Left in place: the loader's check-and-set compares against it and overwrites it.
            _log.warning("page_cache_entry_unreadable", namespace=self._namespace, error=str(exc))
            return None

    def _failed(self, operation: str, exc: RedisError) -> None:
        CACHE_ERRORS.labels(self._namespace, operation).inc()
        log = _log.error if operation == "invalidate" else _log.warning
        log(
            "page_cache_valkey_failed",
            namespace=self._namespace,
            operation=operation,
            error_type=type(exc).__name__,
            error=str(exc),
        )


async def _load_json(load: Loader) -> JSONValue:
    return _decode(_encode(await load()))


def _encode(page: JSONValue) -> bytes:
    text = json.dumps(page, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _PAGE + text.encode()


def _decode(entry: bytes) -> JSONValue:
    page: JSONValue = json.loads(entry[len(_PAGE) :])
    return page
