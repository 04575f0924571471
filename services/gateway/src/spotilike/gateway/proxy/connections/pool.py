"""The pool: keep-alive connections per origin, reused last in, first out, at most
``max_connections`` in all and ``max_per_origin`` to one origin.

The second limit is a bulkhead: clients holding connections to one service (slow
uploads, unread downloads) can use up that service's share, never every service's.
A request that finds its origin's share in use waits for one of that origin's
connections; a request that finds the whole pool in use closes another origin's idle
connection to make room, or waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterable, Sequence
from urllib.parse import urlsplit

from spotilike.gateway.proxy.connections.exchange import (
    Connection,
    Deadline,
    UpstreamConnectionError,
    UpstreamResponse,
)
from spotilike.gateway.proxy.connections.framing import request_head

__all__ = ["Origin", "UpstreamPool"]


class Origin:
    __slots__ = ("host", "host_header", "idle", "key", "open", "port", "tls", "waiters")

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {base_url!r}")
        self.key = base_url
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        # Upstream origins come from configuration and discovery: plain ASCII host[:port].
        self.host_header = parts.netloc.rsplit("@", 1)[-1].encode("ascii")
        self.idle: deque[Connection] = deque()
        self.open = 0
        """Connections to this origin, open or being opened."""
        self.waiters: deque[asyncio.Future[None]] = deque()


class UpstreamPool:
    """Keep-alive connections to every upstream origin: at most ``max_connections`` in
    all, at most ``max_per_origin`` (all of them by default) to one origin."""

    def __init__(
        self,
        *,
        connect_timeout_seconds: float,
        max_connections: int,
        idle_seconds: float,
        max_per_origin: int | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout_seconds
        self._limit = max_connections
        self._per_origin = min(max_per_origin or max_connections, max_connections)
        self._idle_seconds = idle_seconds
        self._tls = tls
        self._origins: dict[str, Origin] = {}
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiting = 0

    @property
    def open_connections(self) -> int:
        return len(self._open) + self._connecting

    def idle_connections(self, base_url: str) -> int:
        origin = self._origins.get(base_url)
        return 0 if origin is None else len(origin.idle)

    async def request(
        self,
        base_url: str,
        method: str,
        target: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: AsyncIterable[bytes] | None = None,
        *,
        deadline: Deadline,
        body_length: int | None = None,
    ) -> UpstreamResponse:
        """Sends ``method target`` to ``base_url`` (``http://host:port``) and returns once
        the answer's headers are in; ``TimeoutError`` when the deadline passes first.

        The pool writes the request's framing itself, from ``body_length`` (the body's
        exact size, when known) or chunked, so ``headers`` must hold no Host,
        Content-Length or Transfer-Encoding: framing that came from anywhere else could
        disagree with the body actually sent, and the upstream would read part of the
        body as another request."""
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = Origin(base_url)
        if body_length is not None:
            framing = b"Content-Length: %d\r\n" % body_length
        elif body is not None:
            framing = b"Transfer-Encoding: chunked\r\n"
        else:
            framing = b""
        head = request_head(method, target, origin.host_header, headers, framing)
        loop = asyncio.get_running_loop()
        connection = self._take_idle(origin, loop.time())
        if connection is None:
            async with asyncio.timeout_at(deadline.at):
                connection = await self._acquire(origin)
        await connection.exchange(
            head, body, length=body_length, head_only=method == "HEAD", deadline=deadline
        )
        return UpstreamResponse(connection)

    async def _acquire(self, origin: Origin) -> Connection:
        """A new connection, once the limits allow one (or an idle one that came back)."""
        loop = asyncio.get_running_loop()
        while True:
            if origin.open < self._per_origin and (
                self.open_connections < self._limit or self._evict_one()
            ):
                return await self._connect(origin)
            waiter = loop.create_future()
            origin.waiters.append(waiter)
            self._waiting += 1
            try:
                await waiter
            except BaseException:
                # Woken, then cancelled before taking the slot: the next waiter gets it.
                if waiter.done() and not waiter.cancelled():
                    self._wake_waiter(origin)
                raise
            finally:
                self._waiting -= 1
                if waiter in origin.waiters:
                    origin.waiters.remove(waiter)
            connection = self._take_idle(origin, loop.time())
            if connection is not None:
                return connection

    def _take_idle(self, origin: Origin, now: float) -> Connection | None:
        idle = origin.idle
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > self._idle_seconds:
                # The newest is too old, so all of them are.
                connection.abort()
                while idle:
                    idle.pop().abort()
                return None
            return connection
        return None

    def _evict_one(self) -> bool:
        """Closes the oldest idle connection of any origin, to make room."""
        oldest: Connection | None = None
        for origin in self._origins.values():
            if origin.idle and (oldest is None or origin.idle[0].idle_since < oldest.idle_since):
                oldest = origin.idle[0]
        if oldest is None:
            return False
        oldest.origin.idle.popleft()
        oldest.abort()
        return True

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _connect(self, origin: Origin) -> Connection:
        loop = asyncio.get_running_loop()
        self._connecting += 1
        origin.open += 1
        opened = False
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(self, origin),
                    origin.host,
                    origin.port,
                    ssl=self._tls_context() if origin.tls else None,
                )
            if connection.closed:
                # Lost while being set up (forget ran before it was counted as open).
                raise UpstreamConnectionError(f"{origin.key} closed the new connection")
            opened = True
        except TimeoutError:
            raise UpstreamConnectionError(
                f"connecting to {origin.key} took over {self._connect_timeout:g} s"
            ) from None
        finally:
            self._connecting -= 1
            if not opened:
                origin.open -= 1
                self._wake_waiter(origin)
        self._open.add(connection)
        return connection

    def give_back(self, connection: Connection) -> None:
        connection.idle_since = asyncio.get_running_loop().time()
        connection.origin.idle.append(connection)
        if self._waiting:
            self._wake_waiter(connection.origin)

    def forget(self, connection: Connection) -> None:
        """A connection closed: it no longer counts against the limits."""
        origin = connection.origin
        if connection in self._open:
            self._open.discard(connection)
            origin.open -= 1
        with contextlib.suppress(ValueError):
            origin.idle.remove(connection)
        if self._waiting:
            self._wake_waiter(origin)

    def _wake_waiter(self, freed: Origin) -> None:
        """Something of ``freed`` came back or closed: a waiter for that origin goes first
        (it can take the connection); otherwise one for an origin under its share, which
        can use the room in the pool."""
        if _wake_one(freed.waiters):
            return
        for origin in self._origins.values():
            if origin.open < self._per_origin and _wake_one(origin.waiters):
                return

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.abort()
        for origin in self._origins.values():
            origin.idle.clear()


def _wake_one(waiters: deque[asyncio.Future[None]]) -> bool:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False
