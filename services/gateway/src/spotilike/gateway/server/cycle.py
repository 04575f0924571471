"""One request and its answer on a client connection: the ASGI ``receive`` and ``send``
the app gets, with the body's flow control both ways and the answer's framing."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import Final, cast

from starlette.types import Message, Scope

from spotilike.gateway.waiters import wake

__all__ = ["STATUS_LINES", "RequestCycle"]

STATUS_LINES: Final[dict[int, bytes]] = {
    int(status): b"HTTP/1.1 %d %s\r\n" % (status, status.phrase.encode()) for status in HTTPStatus
}
# A request body buffered beyond this pauses reading from the client until the app
# takes it, so a fast sender cannot make the gateway hold more than a few chunks.
_HIGH_WATER: Final = 256 * 1024
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_CONNECTION_CLOSE: Final = b"connection: close\r\n"


def _status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise RuntimeError(f"ASGI app sent an invalid status {status}")
        line = b"HTTP/1.1 %d \r\n" % status
    return line


class RequestCycle:
    """The parser feeds the body in (``feed``, ``end``); the app reads it through
    ``receive`` and answers through ``send``. ``on_complete`` runs once the answer has
    been written, so the connection can take its next request."""

    __slots__ = (
        "_bodiless",
        "_body_told",
        "_buffered",
        "_chunked",
        "_chunks",
        "_continue",
        "_default_headers",
        "_drain",
        "_head",
        "_head_only",
        "_left",
        "_on_complete",
        "_pause_reading",
        "_receiving",
        "_resume_reading",
        "_transport",
        "body_complete",
        "disconnected",
        "keep_alive",
        "response_complete",
        "response_started",
        "scope",
        "write_paused",
    )

    def __init__(
        self,
        scope: Scope,
        transport: asyncio.Transport,
        *,
        keep_alive: bool,
        expect_continue: bool,
        default_headers: list[tuple[bytes, bytes]],
        pause_reading: Callable[[], None],
        resume_reading: Callable[[], None],
        on_complete: Callable[[RequestCycle], None],
    ) -> None:
        self.scope = scope
        self._transport = transport
        self.keep_alive = keep_alive
        self._continue = expect_continue
        self._default_headers = default_headers
        self._pause_reading = pause_reading
        self._resume_reading = resume_reading
        self._on_complete = on_complete
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._receiving: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._head: list[bytes] | None = None
        self._head_only = scope["method"] == "HEAD"
        self._chunked = False
        self._bodiless = False
        self._body_told = False
        self.write_paused = False
        self._left: int | None = None
        self.body_complete = False
        self.disconnected = False
        self.response_started = False
        self.response_complete = False

    # fed by the connection

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > _HIGH_WATER:
            self._pause_reading()
        wake(self._receiving)

    def end(self) -> None:
        self.body_complete = True
        wake(self._receiving)

    def lost(self) -> None:
        self.disconnected = True
        wake(self._receiving)
        self.writable()

    def writable(self) -> None:
        wake(self._drain)

    # ASGI

    async def receive(self) -> Message:
        if self._continue:
            # The client waits for this before it sends the body it announced; the app
            # asking for the body is the sign it wants it (RFC 9110 §10.1.1).
            self._continue = False
            if not self.response_started and not self._transport.is_closing():
                self._transport.write(_CONTINUE)
        while not self.disconnected and not self.response_complete:
            if self._chunks or (self.body_complete and not self._body_told):
                body = b"".join(self._chunks)
                self._chunks.clear()
                self._buffered = 0
                self._resume_reading()
                self._body_told = self.body_complete
                return {"type": "http.request", "body": body, "more_body": not self.body_complete}
            waiter = self._receiving = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._receiving = None
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.disconnected:
            return
        kind = message["type"]
        if kind == "http.response.start":
            if self.response_started:
                raise RuntimeError("ASGI app sent http.response.start twice")
            self._head = self._start(message)
            self.response_started = True
            self._continue = False
            return
        if kind != "http.response.body":
            raise RuntimeError(f"ASGI app sent an unexpected {kind!r} message")
        if not self.response_started or self.response_complete:
            raise RuntimeError("ASGI app sent a body without a response start, or after its end")
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        parts = self._frame(body, more=more)
        if parts:
            self._transport.write(b"".join(parts) if len(parts) > 1 else parts[0])
        if not more:
            self.response_complete = True
            wake(self._receiving)
            self._on_complete(self)
        elif self.write_paused:
            await self._drained()

    async def _drained(self) -> None:
        """Waits while the client does not read: a slow reader holds its own request, not
        the gateway's memory (the proxy bounds that wait with its idle timeout)."""
        drain = self._drain = asyncio.get_running_loop().create_future()
        try:
            while self.write_paused and not self.disconnected:
                await drain
                drain = self._drain = asyncio.get_running_loop().create_future()
        finally:
            self._drain = None

    def _finish_head(self, head: list[bytes], body: bytes, *, more: bool) -> bytes:
        if self._left is None:
            if not more:
                # The whole body in one message: its length is known, no chunks needed.
                self._left = len(body)
                head.append(b"content-length: %d\r\n" % len(body))
            elif self.scope["http_version"] == "1.1":
                self._chunked = True
                head.append(b"transfer-encoding: chunked\r\n")
            else:
                # HTTP/1.0 has no chunks: the body ends where the connection does.
                self.keep_alive = False
        if not self.keep_alive:
            head.append(_CONNECTION_CLOSE)
        head.append(b"\r\n")
        return b"".join(head)

    def _start(self, message: Message) -> list[bytes]:
        status = cast("int", message["status"])
        head = [_status_line(status)]
        length: int | None = None
        for name, value in self._default_headers:
            head.append(name + b": " + value + b"\r\n")
        for name, value in message.get("headers", ()):
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name or b":" in name:
                # A line break would let a header's value start a header (or a body) of
                # its own: response splitting.
                raise RuntimeError(f"ASGI app sent an invalid header {name!r}")
            lower = name.lower()
            if lower == b"content-length":
                if not value.isdigit():
                    raise RuntimeError(f"ASGI app sent an invalid Content-Length {value!r}")
                length = int(value)
                continue
            elif lower == b"transfer-encoding":
                # The server frames the body itself; a second coding would corrupt it.
                continue
            elif lower == b"connection":
                if b"close" in value.lower():
                    self.keep_alive = False
                continue
            head.append(name + b": " + value + b"\r\n")
        if self._head_only or status in _NO_BODY_STATUSES:
            self._bodiless = True
            self._left = 0
            if length is not None and status not in _NO_BODY_STATUSES:
                head.append(b"content-length: %d\r\n" % length)
        elif length is not None:
            self._left = length
            head.append(b"content-length: %d\r\n" % length)
        return head

    def _frame(self, body: bytes, *, more: bool) -> list[bytes]:
        """The bytes one body message puts on the wire: the head first when it is still
        unwritten, so a whole answer usually leaves in one write."""
        parts: list[bytes] = []
        if self._head is not None:
            parts.append(self._finish_head(self._head, body, more=more))
            self._head = None
        if self._bodiless:
            pass
        elif self._left is not None:
            if len(body) > self._left:
                raise RuntimeError("ASGI app sent more body than its Content-Length")
            self._left -= len(body)
            if body:
                parts.append(body)
            if not more and self._left:
                # Shorter than announced: the client would wait for the rest, and the next
                # answer would be read as this one's end.
                self.keep_alive = False
        elif self._chunked:
            if body:
                parts += (b"%x\r\n" % len(body), body, b"\r\n")
            if not more:
                parts.append(b"0\r\n\r\n")
        elif body:
            parts.append(body)
        return parts
