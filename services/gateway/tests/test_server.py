"""The gateway's HTTP/1.1 server protocol under uvicorn, with raw bytes on real sockets.

A small ASGI app stands in for the gateway, so each test controls both sides: the bytes
a client sends (pipelined, chunked, malformed, trickled) and what the app answers. The
client side parses the answers with h11, an independent HTTP/1.1 implementation.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import h11
import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send

from spotilike.gateway.server import GatewayHttpProtocol

pytestmark = pytest.mark.unit

KEEP_ALIVE_SECONDS = 0.5
MAX_HEAD_BYTES = 4096


@dataclass
class Seen:
    disconnects: list[str] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        body += message["body"]
        if not message["more_body"]:
            return body


def _app(seen: Seen) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.scopes.append(scope)
        path = scope["path"]

        async def answer(body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": headers or []})
            await send({"type": "http.response.body", "body": body})

        if path == "/hello":
            await answer(b"hello " + scope["raw_path"])
        elif path == "/echo":
            await answer(await _read_body(receive))
        elif path == "/length":
            body = await _read_body(receive)
            await answer(str(len(body)).encode())
        elif path == "/no-read":
            await answer(b"refused")
        elif path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/sized":
            await answer(b"hello", [(b"content-length", b"5")])
        elif path == "/split":
            await answer(b"x", [(b"x-note", b"a\r\nset-cookie: session=stolen")])
        elif path == "/boom":
            raise RuntimeError("the app failed")
        elif path == "/wait-for-disconnect":
            await _read_body(receive)
            message: Message = await receive()
            seen.disconnects.append(message["type"])
        else:
            await answer(b"?")

    return app


@dataclass
class Running:
    port: int
    seen: Seen

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Client]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            yield Client(reader, writer)
        finally:
            writer.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._h11 = h11.Connection(h11.CLIENT)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, *, head_request: bool = False) -> Answer:
        """The next answer on the connection, parsed by h11."""
        if self._h11.our_state is h11.DONE:
            self._h11.start_next_cycle()
        # h11 checks the answer against the request it was sent; tell it one was.
        method = b"HEAD" if head_request else b"GET"
        self._h11.send(h11.Request(method=method, target="/", headers=[("Host", "t")]))
        self._h11.send(h11.EndOfMessage())
        status = 0
        headers: dict[str, str] = {}
        body = b""
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(self.reader.read(65536), 5)
                self._h11.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, headers, body)
            else:
                raise AssertionError(f"unexpected {event!r}")

    async def closed(self) -> bool:
        """True once the server has closed the connection (and sent nothing more)."""
        return await asyncio.wait_for(self.reader.read(65536), 5) == b""

    async def raw(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), 5)


@pytest.fixture
async def server() -> AsyncIterator[Running]:
    seen = Seen()
    config = uvicorn.Config(
        _app(seen),
        host="127.0.0.1",
        port=0,
        http=functools.partial(GatewayHttpProtocol, max_head_bytes=MAX_HEAD_BYTES),  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,  # type: ignore[arg-type]
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield Running(port, seen)
    finally:
        running.should_exit = True
        await task


def get(path: str, *headers: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: t", *headers, "", ""]
    return "\r\n".join(lines).encode()


async def test_an_answer_in_one_message_is_sized_and_the_connection_kept(
    server: Running,
) -> None:
    async with server.connection() as client:
        await client.send(get("/hello"))
        first = await client.answer()
        await client.send(get("/hello"))
        second = await client.answer()
    assert first.status == second.status == 200
    assert first.body == b"hello /hello"
    assert first.headers["content-length"] == "12"
    assert "date" in first.headers
    assert "connection" not in first.headers


async def test_pipelined_requests_are_answered_in_order(server: Running) -> None:
    async with server.connection() as client:
        await client.send(get("/stream") + get("/hello") + get("/echo"))
        answers = [await client.answer() for _ in range(3)]
    assert [a.body for a in answers] == [b"one,two,three", b"hello /hello", b""]


async def test_a_streamed_answer_is_chunked_for_http_1_1_and_ends_the_connection_for_1_0(
    server: Running,
) -> None:
    async with server.connection() as client:
        await client.send(get("/stream"))
        chunked = await client.answer()
    async with server.connection() as client:
        await client.send(get("/stream", version="1.0"))
        old = await client.raw()
    assert chunked.headers["transfer-encoding"] == "chunked"
    assert chunked.body == b"one,two,three"
    assert old.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding" not in old.lower()
    assert b"connection: close" in old
    assert old.endswith(b"\r\n\r\none,two,three")


async def test_a_chunked_request_body_reaches_the_app_whole(server: Running) -> None:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (b"a" * 70_000, b"b" * 5))
    async with server.connection() as client:
        await client.send(
            b"POST /length HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + body
            + b"0\r\n\r\n"
        )
        answer = await client.answer()
    assert answer.body == b"70005"


async def test_expect_100_continue_is_answered_when_the_app_reads_the_body(
    server: Running,
) -> None:
    async with server.connection() as client:
        await client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
        await client.send(b"ping")
        rest = await asyncio.wait_for(client.reader.readuntil(b"ping"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_a_head_request_gets_the_length_and_no_body(server: Running) -> None:
    async with server.connection() as client:
        await client.send(b"HEAD /sized HTTP/1.1\r\nHost: t\r\n\r\n")
        head = await client.answer(head_request=True)
        await client.send(get("/hello"))
        after = await client.answer()
    assert head.headers["content-length"] == "5"
    assert head.body == b""
    assert after.body == b"hello /hello"


async def test_an_answer_before_the_body_was_read_closes_the_connection(
    server: Running,
) -> None:
    """The unread rest of the body would otherwise be parsed as the next request."""
    async with server.connection() as client:
        await client.send(
            b"POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"
            + b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        raw = await client.raw()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.endswith(b"refused")
    assert [scope["path"] for scope in server.seen.scopes] == ["/no-read"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHo st: t\r\n\r\n",
        b"NOT-HTTP\r\n\r\n",
    ],
    ids=["cl-and-te", "two-lengths", "bad-header-name", "garbage"],
)
async def test_a_request_llhttp_cannot_frame_is_a_400_problem_and_the_end(
    server: Running, request_bytes: bytes
) -> None:
    async with server.connection() as client:
        await client.send(request_bytes)
        raw = await client.raw()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"content-type: application/problem+json" in head
    problem = json.loads(body)
    assert problem["status"] == 400
    assert problem["type"].endswith("/malformed-request")
    assert "not valid HTTP/1.1" in problem["detail"]
    assert server.seen.scopes == []


async def test_a_head_over_the_limit_is_a_431(server: Running) -> None:
    async with server.connection() as client:
        await client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        for _ in range(MAX_HEAD_BYTES // 100 + 2):
            await client.send(b"X-Filler: " + b"f" * 90 + b"\r\n")
        raw = await client.raw()
    assert raw.startswith(b"HTTP/1.1 431 ")
    assert b"exceed 4096 bytes" in raw
    assert server.seen.scopes == []


async def test_headers_that_trickle_in_are_cut_off_with_a_408(server: Running) -> None:
    async with server.connection() as client:
        await client.send(b"GET /hello HTTP/1.1\r\n")
        # Each line well within the timeout, the head as a whole not: the timeout counts
        # from the connection's start, not from the last byte.
        for _ in range(2):
            await asyncio.sleep(KEEP_ALIVE_SECONDS / 3)
            await client.send(b"X-Slow: 1\r\n")
        raw = await client.raw()
    assert raw.startswith(b"HTTP/1.1 408 ")
    assert server.seen.scopes == []


async def test_an_idle_connection_is_closed_after_the_keep_alive(server: Running) -> None:
    async with server.connection() as client:
        await client.send(get("/hello"))
        await client.answer()
        assert await client.closed()


async def test_a_header_value_with_a_line_break_never_reaches_the_client(
    server: Running,
) -> None:
    async with server.connection() as client:
        await client.send(get("/split"))
        raw = await client.raw()
    assert b"stolen" not in raw
    assert raw.startswith(b"HTTP/1.1 500 ")


async def test_an_app_failure_before_its_answer_is_a_500_problem(server: Running) -> None:
    async with server.connection() as client:
        await client.send(get("/boom"))
        raw = await client.raw()
    assert raw.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["status"] == 500


async def test_the_app_hears_of_a_client_that_left(server: Running) -> None:
    async with server.connection() as client:
        await client.send(get("/wait-for-disconnect"))
        await asyncio.sleep(0.05)
    for _ in range(100):
        if server.seen.disconnects:
            break
        await asyncio.sleep(0.02)
    assert server.seen.disconnects == ["http.disconnect"]


async def test_a_percent_encoded_path_is_decoded_and_the_raw_one_kept(server: Running) -> None:
    async with server.connection() as client:
        await client.send(get("/hel%6co?q=1"))
        answer = await client.answer()
    scope = server.seen.scopes[0]
    assert scope["path"] == "/hello"
    assert scope["raw_path"] == b"/hel%6co"
    assert scope["query_string"] == b"q=1"
    assert answer.body == b"hello /hel%6co"
