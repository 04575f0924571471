"""One upstream connection and the exchange it carries: the request written (its body
streamed with flow control), the answer parsed by llhttp and buffered up to a bound."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Final, cast

import httptools

from spotilike.gateway.proxy.connections.framing import is_delimited
from spotilike.gateway.timers import MovingTimer
from spotilike.gateway.waiters import fail, wake

if TYPE_CHECKING:
    from spotilike.gateway.proxy.connections.pool import Origin, UpstreamPool

__all__ = ["Connection", "Deadline", "UpstreamConnectionError", "UpstreamResponse"]

_HIGH_WATER: Final = 256 * 1024
_LOW_WATER: Final = 64 * 1024
_NO_BODY_STATUSES: Final = frozenset({204, 304})


class UpstreamConnectionError(ConnectionError):
    """The upstream connection failed, or closed before the whole answer had arrived."""


class Deadline:
    """When, in event-loop time, the answer's headers must have arrived. The request
    body's sender may push it later: a long upload is not a slow upstream."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class Connection(asyncio.Protocol):
    """One TCP connection and the exchange (request, then answer) it is carrying."""

    def __init__(self, pool: UpstreamPool, origin: Origin) -> None:
        self._pool = pool
        self.origin = origin
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        # One parser for the connection's life (llhttp reads one answer after another),
        # replaced only after a HEAD, whose announced body never comes.
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._busy = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._deadline: Deadline | None = None
        self._deadline_timer = MovingTimer(self._loop, self._deadline_due, self._deadline_passed)
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._reading_paused = False
        self._head_only = False
        self._has_head = False
        self.complete = False
        self._until_close = False
        self._keep_alive = False
        self._answered_early = False
        self._error: BaseException | None = None
        self._head_waiter: asyncio.Future[None] | None = None
        self._body_waiter: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._body_sent = True

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but the same interface.
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or not self._busy:
            # Bytes nobody asked for, on an idle connection: it is not safe to reuse.
            self.abort()
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"unreadable answer from upstream: {exc}"))
            self.abort()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed()
        if self._until_close and self._has_head and self._error is None:
            self._finish()
        elif not self.complete:
            self._fail(UpstreamConnectionError("the upstream closed the connection"))
        fail(self._drain_waiter, UpstreamConnectionError("the upstream closed the connection"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        wake(self._drain_waiter)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request: the upstream and the gateway disagree about
            # where a message ends, so nothing more on this connection can be trusted.
            raise UpstreamConnectionError("the upstream sent more than one answer")

    def on_header(self, name: bytes, value: bytes) -> None:
        # Fields after the head are chunked trailers: they would reach the client as
        # headers (a trailing Content-Length, say), so they are dropped.
        if not self._has_head:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self.headers = []
            return
        self.status = status
        self._has_head = True
        self._keep_alive = self._parser.should_keep_alive()
        # An answer that comes before the whole request was sent leaves the connection
        # in an unknown state, whatever happens to the rest of the body.
        self._answered_early = not self._body_sent
        if not (self._head_only or status in _NO_BODY_STATUSES):
            self._until_close = not is_delimited(self.headers)
        wake(self._head_waiter)
        if self._head_only:
            # llhttp would wait for the body the headers announce; HEAD has none.
            self._parser = None
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            if self._transport is not None:
                self._transport.pause_reading()
        wake(self._body_waiter)

    def on_message_complete(self) -> None:
        if not self._has_head:
            return  # the end of an interim answer
        self._finish()

    # the exchange

    async def exchange(
        self,
        head: bytes,
        body: AsyncIterable[bytes] | None,
        *,
        length: int | None,
        head_only: bool,
        deadline: Deadline,
    ) -> None:
        """Sends the request and returns once the answer's status and headers are in;
        ``TimeoutError`` if they are not in by the deadline."""
        self._reset()
        self._head_only = head_only
        if self._parser is None:
            self._parser = httptools.HttpResponseParser(self)
        self._busy = True
        transport = self._transport
        assert transport is not None
        waiter = self._head_waiter = self._loop.create_future()
        transport.write(head)
        if body is not None:
            self._body_sent = False
            self._writer = self._loop.create_task(self._send_body(body, length=length))
        # Not asyncio.timeout(), whose context manager cost more than the rest of the
        # exchange: the connection's one timer, which follows the body sender pushing
        # the deadline later, too.
        self._deadline = deadline
        self._deadline_timer.arm(deadline.at)
        try:
            await waiter
        except BaseException:
            self.abort()
            raise
        finally:
            self._deadline = None
            self._head_waiter = None

    def _deadline_due(self) -> float | None:
        deadline = self._deadline
        return None if deadline is None or self.closed else deadline.at

    def _deadline_passed(self) -> None:
        fail(self._head_waiter, TimeoutError())

    async def _send_body(self, body: AsyncIterable[bytes], *, length: int | None) -> None:
        try:
            await self._write_body(body, length)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # The client's body failed (gone, stalled, too big, not the size it announced)
            # or the upstream closed: the request can't be completed, nor the exchange.
            self._fail(UpstreamConnectionError(f"the request body could not be sent: {exc!r}"))
            self.abort()

    async def _write_body(self, body: AsyncIterable[bytes], length: int | None) -> None:
        """Writes the body with flow control: as it is when ``length`` was announced (and
        then exactly that many bytes, or it raises), chunked otherwise."""
        transport = self._transport
        assert transport is not None
        sent = 0
        async for chunk in body:
            if self.closed:
                return
            if not chunk:
                continue  # in chunked framing, an empty chunk ends the body
            sent += len(chunk)
            if length is None:
                transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
            elif sent > length:
                raise UpstreamConnectionError(f"the body is longer than its {length} bytes")
            else:
                transport.write(chunk)
            if self._write_paused:
                self._drain_waiter = self._loop.create_future()
                try:
                    await self._drain_waiter
                finally:
                    self._drain_waiter = None
        if self.closed:
            return
        if length is None:
            transport.write(b"0\r\n\r\n")
        elif sent != length:
            raise UpstreamConnectionError(f"the body ended at {sent} of its {length} bytes")
        self._body_sent = True

    async def read(self, idle_seconds: float) -> bytes:
        """The next part of the answer's body; ``b""`` once it has all been read."""
        while True:
            if self._chunks:
                chunk = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
                self._chunks.clear()
                self._buffered = 0
                if self._reading_paused and self._transport is not None and not self.closed:
                    self._reading_paused = False
                    self._transport.resume_reading()
                return chunk
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            waiter = self._body_waiter = self._loop.create_future()
            timer = self._loop.call_later(idle_seconds, fail, waiter, TimeoutError())
            try:
                await waiter
            finally:
                timer.cancel()
                self._body_waiter = None

    def take_body(self) -> bytes:
        """All of a complete answer's body, at once."""
        chunk = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return chunk

    def release(self) -> None:
        """Back to the pool when the exchange ended cleanly, closed otherwise."""
        reusable = (
            self.complete
            and not self._chunks
            and self._body_sent
            and not self._until_close
            and self._keep_alive
            and not self._answered_early
        )
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            reusable = False
        if not reusable or self.closed:
            self.abort()
            return
        self._busy = False
        self._pool.give_back(self)

    def abort(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        if not self.closed:
            self._mark_closed()
            if self._transport is not None:
                self._transport.abort()
        if not self.complete:
            self._fail(UpstreamConnectionError("the upstream connection was closed"))

    def _mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._deadline_timer.cancel()
            self._pool.forget(self)

    def _finish(self) -> None:
        self.complete = True
        wake(self._body_waiter)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        fail(self._head_waiter, self._error)
        wake(self._body_waiter)


class UpstreamResponse:
    """An answer whose status and headers have arrived; its body is read from it."""

    __slots__ = ("_connection", "headers", "status")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.status = connection.status
        self.headers = connection.headers

    @property
    def complete(self) -> bool:
        """The whole body has arrived (read it with ``take_body``)."""
        return self._connection.complete

    def take_body(self) -> bytes:
        return self._connection.take_body()

    async def read(self, idle_seconds: float) -> bytes:
        """The next bytes of the body, ``b""`` at its end; ``TimeoutError`` after
        ``idle_seconds`` of silence, ``UpstreamConnectionError`` if it breaks off."""
        return await self._connection.read(idle_seconds)

    def release(self) -> None:
        """Done with it: the connection is reused if the exchange ended cleanly."""
        self._connection.release()

    def close(self) -> None:
        """Abandon the answer and its connection (a waiting ``read`` raises)."""
        self._connection.abort()
