"""The gateway's HTTP/1.1 server connection: uvicorn's protocol slot, filled with a leaner
protocol than uvicorn's own.

Why our own: every request of the platform passes here, and uvicorn's own protocol does
more per request than a proxy needs (a regular expression per response header, the head
and the body in two writes, an ``asyncio.Event`` per request). With two processes
against nginx's two workers in bench/gateway_proxy.py this protocol and granian were
within the runs' spread of each other (0.31-0.37x nginx), and this one bounds what
granian could not (docs/benchmarks.md). uvicorn still does the rest: the server loop,
the lifespan, signals and graceful shutdown, the Date header, and WebSockets, which are
handed to its ``websockets-sansio`` protocol after the upgrade request, with messages
bounded at the gateway's limit.

llhttp (through httptools) parses the requests, strictly: a message it cannot frame (a
request smuggling attempt, say) is a 400 and the end of the connection. What llhttp has no
limit for is bounded here: the bytes of a request's head (431), and the time a connection
may take to send one (the keep-alive timeout, from the connection's start or its last
answer until the head is complete, so a slowloris client is dropped).
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections import deque
from typing import Any, Final, cast

import httptools
import structlog
from starlette.types import ASGIApp, Scope
from uvicorn.config import Config
from uvicorn.server import ServerState

from spotilike.gateway.server.cycle import STATUS_LINES, RequestCycle
from spotilike.gateway.timers import MovingTimer
from spotilike.kit.errors import PROBLEM_CONTENT_TYPE, problem_document

__all__ = ["GatewayHttpProtocol"]

_log = structlog.get_logger(__name__)

_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}
# Requests queued behind the one being answered before reading pauses.
_PIPELINE_DEPTH: Final = 16


class GatewayHttpProtocol(asyncio.Protocol):
    """One client connection: requests parsed as they arrive, answered one at a time in
    their order (pipelined ones wait their turn)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_head_bytes: int,
    ) -> None:
        if not config.loaded:
            config.load()
        self._config = config
        self._app = cast("ASGIApp", config.loaded_app)
        self._loop = _loop or asyncio.get_running_loop()
        self._server_state = server_state
        self._app_state = app_state
        self._max_head_bytes = max_head_bytes
        self._head_seconds = float(config.timeout_keep_alive)
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client: tuple[str, int] | None = None
        self._server: tuple[str, int] | None = None
        self._read_paused = False
        self._write_paused = False
        self._closing = False
        self._head_deadline: float | None = None
        self._head_timer = MovingTimer(self._loop, self._head_due, self._head_timed_out)
        self._head_bytes = 0
        self._in_head = True
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._expect_continue = False
        self._cycle: RequestCycle | None = None
        self._current: RequestCycle | None = None
        self._pipeline: deque[RequestCycle] = deque()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but the same interface.
        self._transport = cast("asyncio.Transport", transport)
        self._server_state.connections.add(self)  # type: ignore[arg-type]
        self._client = _address(transport.get_extra_info("peername"))
        self._server = _address(transport.get_extra_info("sockname"))
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._upgrade(data[upgrade.args[0] :] if upgrade.args else b"")
            return
        except httptools.HttpParserError as exc:
            self._refuse(400, "malformed-request", f"The request is not valid HTTP/1.1: {exc}.")
            return
        if self._in_head and self._head_bytes > self._max_head_bytes:
            self._refuse(
                431,
                "headers-too-large",
                f"The request line and headers exceed {self._max_head_bytes} bytes.",
            )

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        self._head_timer.cancel()
        self._closing = True
        for cycle in (self._current, *self._pipeline):
            if cycle is not None:
                cycle.lost()
        self._pipeline.clear()

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._current is not None:
            self._current.write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._current is not None:
            self._current.write_paused = False
            self._current.writable()

    # httptools callbacks

    def on_message_begin(self) -> None:
        # Until its head is accepted, a request's body has no cycle to go to.
        self._cycle = None
        self._in_head = True
        self._url = b""
        self._headers = []
        self._expect_continue = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._cancel_head_timer()
        transport = self._transport
        assert transport is not None
        if self._parser.should_upgrade() and self._wants_websocket():
            # The parser stops here (HttpParserUpgrade): _upgrade takes it from there.
            return
        scope = self._scope()
        if scope is None:
            return
        cycle = self._cycle = RequestCycle(
            scope,
            transport,
            keep_alive=self._parser.should_keep_alive() and not self._parser.should_upgrade(),
            expect_continue=self._expect_continue,
            default_headers=self._server_state.default_headers,
            pause_reading=self._pause_reading,
            resume_reading=self._resume_reading,
            on_complete=self._answered,
        )
        if self._current is None:
            self._start(cycle)
        else:
            self._pipeline.append(cycle)
            if len(self._pipeline) >= _PIPELINE_DEPTH:
                self._pause_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self._cycle
        if cycle is not None and not cycle.response_complete:
            cycle.feed(body)

    def on_message_complete(self) -> None:
        cycle = self._cycle
        if cycle is not None:
            cycle.end()

    # requests

    def _scope(self) -> Scope | None:
        parser = self._parser
        try:
            url = httptools.parse_url(self._url)
            raw_path: bytes = url.path
            path = raw_path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            self._refuse(400, "malformed-request", "The request target is not a valid URL.")
            return None
        if "%" in path:
            path = urllib.parse.unquote(path)
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": parser.get_http_version(),
            "server": self._server,
            "client": self._client,
            "scheme": "http",
            "method": parser.get_method().decode("ascii"),
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "headers": self._headers,
            "state": self._app_state.copy(),
        }

    def _start(self, cycle: RequestCycle) -> None:
        self._current = cycle
        cycle.write_paused = self._write_paused
        task = self._loop.create_task(self._run(cycle))
        tasks = self._server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _run(self, cycle: RequestCycle) -> None:
        try:
            await self._app(cycle.scope, cycle.receive, cycle.send)
        except BaseException as exc:
            _log.error("asgi_app_failed", exc_info=exc)
            if not cycle.response_started:
                self._refuse(500, "internal", "The gateway failed to answer this request.")
            else:
                self._abort()
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            return
        if not cycle.response_complete and not cycle.disconnected:
            _log.error("asgi_app_returned_without_answer", path=cycle.scope["path"])
            if cycle.response_started:
                self._abort()
            else:
                self._refuse(500, "internal", "The gateway failed to answer this request.")

    def _answered(self, cycle: RequestCycle) -> None:
        """The answer is written: close, or take the next request."""
        self._server_state.total_requests += 1
        self._current = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not cycle.keep_alive or not cycle.body_complete or self._closing:
            # A body the app did not read would be parsed as the next request; reading
            # it only to throw it away could take long (a refused 1 GB upload).
            transport.close()
            return
        if self._pipeline:
            self._start(self._pipeline.popleft())
        else:
            self._arm_head_timer()
        self._resume_reading()

    def _wants_websocket(self) -> bool:
        if self._config.ws_protocol_class is None:
            return False
        return any(
            name == b"upgrade" and value.lower() == b"websocket" for name, value in self._headers
        )

    def _upgrade(self, rest: bytes) -> None:
        """A WebSocket upgrade goes to uvicorn's WebSocket protocol, which reads the same
        request again. Any other upgrade was started as a plain request (answered, then
        the connection closes): nothing after it is read."""
        transport = self._transport
        assert transport is not None
        if self._cycle is not None or not self._wants_websocket():
            self._pause_reading()
            return
        if self._current is not None or self._pipeline:
            self._refuse(400, "malformed-request", "A WebSocket upgrade may not be pipelined.")
            return
        self._server_state.connections.discard(self)
        self._cancel_head_timer()
        method = self._parser.get_method()
        request = [method, b" ", self._url, b" HTTP/1.1\r\n"]
        for name, value in self._headers:
            request += (name, b": ", value, b"\r\n")
        request.append(b"\r\n")
        ws_class = self._config.ws_protocol_class
        assert ws_class is not None
        protocol = ws_class(  # type: ignore[call-arg]
            config=self._config, server_state=self._server_state, app_state=self._app_state
        )
        protocol.connection_made(transport)
        protocol.data_received(b"".join(request) + rest)
        transport.set_protocol(protocol)

    # the connection

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: close once the answer in flight is written."""
        self._closing = True
        if self._current is None and self._transport is not None:
            self._transport.close()

    def _refuse(self, status: int, code: str, detail: str) -> None:
        """A problem+json answer the app never sees, then the connection's end."""
        transport = self._transport
        self._cancel_head_timer()
        if transport is None or transport.is_closing():
            return
        body = json.dumps(problem_document(status=status, code=code, detail=detail)).encode()
        head = [STATUS_LINES[status]]
        head += [b"%s: %s\r\n" % header for header in self._server_state.default_headers]
        head.append(
            b"content-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % (PROBLEM_CONTENT_TYPE.encode(), len(body))
        )
        transport.write(b"".join(head) + body)
        self._closing = True
        transport.close()

    def _abort(self) -> None:
        if self._transport is not None:
            self._closing = True
            self._transport.abort()

    def _pause_reading(self) -> None:
        if not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if (
            self._read_paused
            and self._transport is not None
            and not self._closing
            and len(self._pipeline) < _PIPELINE_DEPTH
        ):
            self._read_paused = False
            self._transport.resume_reading()

    def _arm_head_timer(self) -> None:
        self._head_deadline = self._loop.time() + self._head_seconds
        self._head_timer.arm(self._head_deadline)

    def _cancel_head_timer(self) -> None:
        self._head_deadline = None

    def _head_due(self) -> float | None:
        return None if self._closing else self._head_deadline

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._head_bytes:
            # Part of a head came, the rest did not: say so before closing.
            self._refuse(408, "request-timeout", "The request headers took too long to arrive.")
        else:
            transport.close()


def _address(info: object) -> tuple[str, int] | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None
