"""The upstream HTTP/1.1 connection pool against scripted servers.

Each test runs its own server on 127.0.0.1 that reads the raw request bytes and writes
exactly the raw answer bytes the test scripts, so the framing on the wire is under the
test's control and what the pool sent can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Self

import pytest

from spotilike.gateway.proxy.connections import (
    Deadline,
    UpstreamConnectionError,
    UpstreamPool,
    UpstreamResponse,
)

pytestmark = pytest.mark.unit

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HELLO = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
KIB = 1024
MIB = 1024 * KIB


class Peer:
    """One connection the scripted server accepted: what came in on it, and the way out."""

    def __init__(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.index = index
        self._reader = reader
        self._writer = writer
        self.received = bytearray()
        self.requests: list[bytes] = []
        self.client_closed = False

    async def read_head(self) -> bytes | None:
        """The next request's head, or None once the client has closed the connection."""
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            self.received += exc.partial
            if exc.partial:
                raise
            self.client_closed = True
            return None
        except ConnectionResetError:
            self.client_closed = True
            return None
        self.received += head
        return head

    async def read_body(self, head: bytes, *, pause_seconds: float = 0.0) -> bytes:
        """The body the head announces, as framed on the wire; ``pause_seconds`` between
        reads makes a slow reader."""
        lowered = head.lower()
        if b"\r\ntransfer-encoding: chunked\r\n" in lowered:
            framed = bytearray()
            while True:
                size_line = await self._reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                framed += size_line + await self._reader.readexactly(size + 2)
                if size == 0:
                    self.received += framed
                    return bytes(framed)
                await asyncio.sleep(pause_seconds)
        length = re.search(rb"\r\ncontent-length: *(\d+)\r\n", lowered)
        remaining = int(length.group(1)) if length else 0
        body = bytearray()
        while remaining:
            piece = await self._reader.read(min(remaining, 64 * KIB))
            if not piece:
                raise asyncio.IncompleteReadError(bytes(body), remaining)
            body += piece
            remaining -= len(piece)
            await asyncio.sleep(pause_seconds)
        self.received += body
        return bytes(body)

    async def read_request(self) -> bytes | None:
        """One whole request, head and body, or None once the client has closed."""
        head = await self.read_head()
        if head is None:
            return None
        request = head + await self.read_body(head)
        self.requests.append(request)
        return request

    async def read_to_eof(self) -> bytes:
        """Everything until the client closes the connection."""
        rest = bytearray()
        try:
            while piece := await self._reader.read(64 * KIB):
                rest += piece
        except ConnectionResetError:
            pass
        self.received += rest
        self.client_closed = True
        return bytes(rest)

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    @property
    def pending_write_bytes(self) -> int:
        return self._writer.transport.get_write_buffer_size()


Script = Callable[[Peer], Awaitable[None]]


class ScriptedServer:
    """A TCP server on 127.0.0.1 that runs ``script`` on every connection it accepts and
    counts the connections (all of them, and the most open at once).

    ``small_buffers`` shrinks the kernel's socket buffers, so that flow control shows
    after a few hundred KiB instead of several MiB.
    """

    def __init__(self, script: Script, *, small_buffers: bool = False) -> None:
        self._script = script
        self._small_buffers = small_buffers
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.peers: list[Peer] = []
        self.active = 0
        self.max_active = 0
        self.failures: list[BaseException] = []

    async def __aenter__(self) -> Self:
        if self._small_buffers:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * KIB)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * KIB)
                sock.bind(("127.0.0.1", 0))
                self._server = await asyncio.start_server(self._accept, sock=sock)
            except BaseException:
                sock.close()
                raise
        else:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
        if exc_type is None and self.failures:
            raise self.failures[0]

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> int:
        return len(self.peers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = Peer(len(self.peers), reader, writer)
        self.peers.append(peer)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._script(peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            peer.client_closed = True
        except asyncio.CancelledError:
            pass  # the test is over
        except Exception as exc:
            self.failures.append(exc)
        finally:
            self.active -= 1
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()


def answering(*answers: bytes) -> Script:
    """Answers every request, on whichever connection it comes, with the next of
    ``answers`` (the last one again once they run out), until the client closes."""
    queue = list(answers)

    async def script(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(queue.pop(0) if len(queue) > 1 else queue[0])

    return script


def by_connection(*scripts: Script) -> Script:
    """The first script for the first connection, and so on; the last one for the rest."""

    async def script(peer: Peer) -> None:
        await scripts[min(peer.index, len(scripts) - 1)](peer)

    return script


async def hold_open(peer: Peer) -> None:
    """Reads the request and never answers."""
    await peer.read_request()
    await peer.read_to_eof()


@asynccontextmanager
async def open_pool(
    *, max_connections: int = 8, idle_seconds: float = 30.0, max_per_origin: int | None = None
) -> AsyncIterator[UpstreamPool]:
    pool = UpstreamPool(
        connect_timeout_seconds=2.0,
        max_connections=max_connections,
        idle_seconds=idle_seconds,
        max_per_origin=max_per_origin,
    )
    try:
        yield pool
    finally:
        await pool.aclose()
        # An aborted transport closes its socket on the loop's next turns.
        for _ in range(3):
            await asyncio.sleep(0)


def within(seconds: float) -> Deadline:
    return Deadline(asyncio.get_running_loop().time() + seconds)


async def get(
    pool: UpstreamPool, server: ScriptedServer, target: str = "/", *, seconds: float = 5.0
) -> UpstreamResponse:
    return await pool.request(server.base_url, "GET", target, [], deadline=within(seconds))


async def read_all(response: UpstreamResponse, *, idle_seconds: float = 5.0) -> bytes:
    body = bytearray()
    while chunk := await response.read(idle_seconds):
        body += chunk
    return bytes(body)


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Waits (a bounded while) for something the loop does on a later turn."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


# Answers with Content-Length, and the request head the pool writes


async def test_content_length_answer_keeps_header_case_and_the_request_head_is_clean() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Track-ID: Abc\r\n"
        b"content-type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello"
    )
    headers = [
        (b"X-Request-Id", b"r-1"),
        (b"accept", b"application/json"),
        (b"X-Multi", b"a"),
        (b"X-Multi", b"b"),
    ]
    async with ScriptedServer(answering(answer)) as server, open_pool() as pool:
        response = await pool.request(
            server.base_url, "GET", "/tracks/7?fields=a,b", headers, deadline=within(5)
        )
        assert response.status == 200
        assert response.headers == [
            (b"Content-Length", b"5"),
            (b"X-Track-ID", b"Abc"),
            (b"content-type", b"text/plain"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
        ]
        assert response.complete
        assert response.take_body() == b"hello"
        response.release()
        expected = (
            b"GET /tracks/7?fields=a,b HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"X-Request-Id: r-1\r\naccept: application/json\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n"
            % server.port
        )
        assert server.peers[0].requests == [expected]
        assert bytes(server.peers[0].received) == expected


async def test_keep_alive_reuses_one_connection() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        first = await get(pool, server, "/a")
        assert first.take_body() == b"ok"
        first.release()
        assert pool.idle_connections(server.base_url) == 1
        assert pool.open_connections == 1
        second = await get(pool, server, "/b")
        assert pool.idle_connections(server.base_url) == 0
        assert second.take_body() == b"ok"
        second.release()
        assert pool.idle_connections(server.base_url) == 1
        assert server.accepted == 1
        assert [request.split(b" ")[1] for request in server.peers[0].requests] == [b"/a", b"/b"]


async def test_reuse_is_last_in_first_out() -> None:
    async def name_the_connection(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % peer.index)

    async with ScriptedServer(name_the_connection) as server, open_pool() as pool:
        first = await get(pool, server)
        second = await get(pool, server)
        assert server.accepted == 2
        first_name, second_name = first.take_body(), second.take_body()
        assert first_name != second_name
        first.release()
        second.release()
        assert pool.idle_connections(server.base_url) == 2
        third = await get(pool, server)
        assert third.take_body() == second_name
        third.release()
        assert server.accepted == 2


# Chunked and close-delimited answers


async def test_chunked_answer_arriving_in_pieces_is_dechunked_and_the_connection_reused() -> None:
    go = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await go.wait()
        for piece in (b"6\r\n wor", b"ld\r\n", b"3;ext=1\r\n!!!\r\n", b"0\r\n", b"\r\n"):
            await asyncio.sleep(0.02)
            await peer.send(piece)
        await answering(OK)(peer)

    async with ScriptedServer(script) as server, open_pool() as pool:
        response = await get(pool, server)
        assert response.status == 200
        assert not response.complete
        go.set()
        assert await read_all(response) == b"hello world!!!"
        assert response.complete
        assert await response.read(1.0) == b""
        response.release()
        assert pool.idle_connections(server.base_url) == 1
        again = await get(pool, server)
        assert again.take_body() == b"ok"
        again.release()
        assert server.accepted == 1


async def test_answer_head_split_across_writes_is_put_back_together() -> None:
    pieces = (
        b"HTTP/1.1 200 OK\r\nX-Lo",
        b"ng-Name: val",
        b"ue-here\r\nContent-Len",
        b"gth: 4\r\n",
        b"\r\n",
        b"da",
        b"ta",
    )

    async def script(peer: Peer) -> None:
        await peer.read_request()
        for piece in pieces:
            await peer.send(piece)
            await asyncio.sleep(0.02)
        await answering(OK)(peer)

    async with ScriptedServer(script) as server, open_pool() as pool:
        response = await get(pool, server)
        assert response.headers == [(b"X-Long-Name", b"value-here"), (b"Content-Length", b"4")]
        assert await read_all(response) == b"data"
        response.release()
        again = await get(pool, server)
        assert again.take_body() == b"ok"
        again.release()
        assert server.accepted == 1


async def test_trailers_of_a_chunked_answer_are_not_merged_into_its_headers() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Checksum: abc\r\n\r\n"
    )
    async with ScriptedServer(answering(answer)) as server, open_pool() as pool:
        response = await get(pool, server)
        assert await read_all(response) == b"ok"
        assert response.headers == [(b"Transfer-Encoding", b"chunked"), (b"Trailer", b"X-Checksum")]
        response.release()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: Close\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "lowercase", "http-1.0"],
)
async def test_an_answer_that_asks_to_close_does_not_leave_its_connection_for_reuse(
    answer: bytes,
) -> None:
    # The server keeps reading: only the pool's own reading of the answer can close it.
    async with ScriptedServer(answering(answer, OK)) as server, open_pool() as pool:
        first = await get(pool, server)
        assert first.complete
        assert first.take_body() == b"ok"
        first.release()
        assert pool.open_connections == 0
        assert pool.idle_connections(server.base_url) == 0
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2
        await eventually(lambda: server.peers[0].client_closed, "the pool closed connection 0")


async def test_answer_delimited_by_close_ends_at_the_close_and_is_not_reused() -> None:
    go = asyncio.Event()

    async def until_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ")
        await go.wait()
        await peer.send(b"second")

    async with (
        ScriptedServer(by_connection(until_close, answering(OK))) as server,
        open_pool() as pool,
    ):
        response = await get(pool, server)
        assert response.status == 200
        assert not response.complete
        go.set()
        assert await read_all(response) == b"first second"
        assert response.complete
        response.release()
        assert pool.open_connections == 0
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2


async def test_answer_with_a_non_chunked_transfer_encoding_is_read_until_close() -> None:
    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzipped")

    async with ScriptedServer(script) as server, open_pool() as pool:
        response = await get(pool, server)
        assert await read_all(response) == b"zipped"
        assert response.complete
        response.release()


# Answers without a body


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: audio/mpeg\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ids=["content-length", "chunked"],
)
async def test_head_answer_has_no_body_and_its_connection_serves_the_next_get(
    answer: bytes,
) -> None:
    async with ScriptedServer(answering(answer, HELLO)) as server, open_pool() as pool:
        response = await pool.request(server.base_url, "HEAD", "/track.mp3", [], deadline=within(5))
        assert response.status == 200
        assert response.complete
        assert response.headers[0][0] in (b"Content-Length", b"Transfer-Encoding")
        assert response.take_body() == b""
        assert await response.read(1.0) == b""
        response.release()
        assert pool.idle_connections(server.base_url) == 1
        following = await get(pool, server, "/track.mp3")
        assert following.complete
        assert following.take_body() == b"hello"
        following.release()
        assert server.accepted == 1
        assert server.peers[0].requests[0].startswith(b"HEAD /track.mp3 HTTP/1.1\r\n")
        assert server.peers[0].requests[1].startswith(b"GET /track.mp3 HTTP/1.1\r\n")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (b"HTTP/1.1 204 No Content\r\nX-Done: yes\r\n\r\n", 204),
        (b'HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: "v1"\r\n\r\n', 304),
    ],
    ids=["204", "304-with-length"],
)
async def test_204_and_304_have_no_body(answer: bytes, status: int) -> None:
    async with ScriptedServer(answering(answer, HELLO)) as server, open_pool() as pool:
        response = await get(pool, server)
        assert response.status == status
        assert response.complete
        assert response.take_body() == b""
        response.release()
        assert pool.idle_connections(server.base_url) == 1
        following = await get(pool, server)
        assert following.take_body() == b"hello"
        following.release()
        assert server.accepted == 1


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "separate-writes"])
async def test_interim_answers_are_skipped(split: bool) -> None:
    interim = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
    )
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok"

    async def script(peer: Peer) -> None:
        await peer.read_request()
        if split:
            await peer.send(interim)
            await asyncio.sleep(0.05)
            await peer.send(final)
        else:
            await peer.send(interim + final)
        await answering(OK)(peer)

    async with ScriptedServer(script) as server, open_pool() as pool:
        response = await get(pool, server)
        assert response.status == 200
        assert response.headers == [(b"Content-Length", b"2"), (b"X-Final", b"yes")]
        assert await read_all(response) == b"ok"
        response.release()
        again = await get(pool, server)
        assert again.take_body() == b"ok"
        again.release()
        assert server.accepted == 1


# Broken and malformed answers


async def test_upstream_closing_mid_body_fails_the_read_after_the_bytes_that_came() -> None:
    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")

    async with ScriptedServer(script) as server, open_pool() as pool:
        response = await get(pool, server)
        received = b""
        with pytest.raises(UpstreamConnectionError):
            while chunk := await response.read(5.0):
                received += chunk
        assert received == b"0123456789"
        assert not response.complete
        response.close()
        assert pool.open_connections == 0


async def test_upstream_closing_before_answering_fails_the_request() -> None:
    async def script(peer: Peer) -> None:
        await peer.read_request()

    async with ScriptedServer(script) as server, open_pool() as pool:
        with pytest.raises(UpstreamConnectionError):
            await get(pool, server)
        assert pool.open_connections == 0


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
    ],
    ids=["bad-status", "not-http", "length-and-chunked", "two-lengths"],
)
async def test_malformed_answer_is_a_connection_error(answer: bytes) -> None:
    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(answer)
        await peer.read_to_eof()

    async with ScriptedServer(script) as server, open_pool() as pool:
        with pytest.raises(UpstreamConnectionError):
            await get(pool, server)
        assert pool.open_connections == 0
        await eventually(lambda: server.peers[0].client_closed, "the pool closed the connection")


async def test_bytes_arriving_on_an_idle_connection_drop_it() -> None:
    garbage_now = asyncio.Event()

    async def chatty(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)
        await garbage_now.wait()
        await peer.send(b"HTTP/1.1 200 OK\r\n\r\nunasked")
        await peer.read_to_eof()

    async with ScriptedServer(by_connection(chatty, answering(OK))) as server, open_pool() as pool:
        first = await get(pool, server)
        assert first.take_body() == b"ok"
        first.release()
        assert pool.idle_connections(server.base_url) == 1
        garbage_now.set()
        await eventually(lambda: pool.open_connections == 0, "the pool dropped the connection")
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2


async def test_garbage_right_after_an_answer_drops_the_connection() -> None:
    async with (
        ScriptedServer(by_connection(answering(OK + b"garbage"), answering(OK))) as server,
        open_pool() as pool,
    ):
        first = await get(pool, server)
        assert first.take_body() == b"ok"
        first.release()
        assert pool.open_connections == 0
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2


# Deadlines and idle limits


async def test_no_answer_by_the_deadline_times_out_and_closes_the_connection() -> None:
    async with ScriptedServer(hold_open) as server, open_pool() as pool:
        with pytest.raises(TimeoutError):
            await get(pool, server, seconds=0.2)
        assert pool.open_connections == 0
        await eventually(lambda: server.peers[0].client_closed, "the pool closed the connection")


async def test_a_body_sender_pushing_the_deadline_keeps_the_request_alive() -> None:
    deadline = within(1.0)
    loop = asyncio.get_running_loop()

    async def slow_body() -> AsyncIterator[bytes]:
        # The body takes longer than the first deadline; each push leaves a wide margin, so
        # a busy machine does not make this time out.
        for _ in range(8):
            await asyncio.sleep(0.15)
            deadline.at = loop.time() + 5.0
            yield b"tick"

    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        response = await pool.request(
            server.base_url, "POST", "/upload", [], slow_body(), deadline=deadline
        )
        assert response.status == 200
        assert response.take_body() == b"ok"
        response.release()
        assert server.peers[0].requests[0].endswith(b"4\r\ntick\r\n" * 8 + b"0\r\n\r\n")


async def test_a_slow_body_that_does_not_push_the_deadline_times_out() -> None:
    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(8):
            await asyncio.sleep(0.1)
            yield b"tick"

    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        with pytest.raises(TimeoutError):
            await pool.request(
                server.base_url, "POST", "/upload", [], slow_body(), deadline=within(0.3)
            )
        assert pool.open_connections == 0


async def test_read_times_out_when_the_body_stalls() -> None:
    async def stall(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await peer.read_to_eof()

    async with ScriptedServer(stall) as server, open_pool() as pool:
        response = await get(pool, server)
        assert await response.read(5.0) == b"0123456789"
        with pytest.raises(TimeoutError):
            await response.read(0.2)
        assert not response.complete
        response.close()
        assert pool.open_connections == 0


async def test_an_idle_connection_past_its_idle_limit_is_not_reused() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool(idle_seconds=0.05) as pool:
        first = await get(pool, server)
        assert first.take_body() == b"ok"
        first.release()
        assert pool.idle_connections(server.base_url) == 1
        await asyncio.sleep(0.15)
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2
        assert pool.open_connections == 1
        await eventually(lambda: server.peers[0].client_closed, "the pool closed the old one")


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def answer_and_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)

    async with (
        ScriptedServer(by_connection(answer_and_close, answering(OK))) as server,
        open_pool() as pool,
    ):
        first = await get(pool, server)
        assert first.take_body() == b"ok"
        first.release()
        await eventually(lambda: pool.open_connections == 0, "the pool saw the close")
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2


async def test_idle_count_leaves_out_a_connection_the_server_closed() -> None:
    async def answer_and_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)

    async with ScriptedServer(answer_and_close) as server, open_pool() as pool:
        first = await get(pool, server)
        assert first.take_body() == b"ok"
        first.release()
        await eventually(lambda: pool.open_connections == 0, "the pool saw the close")
        assert pool.idle_connections(server.base_url) == 0


# The request body


async def test_a_body_of_known_length_goes_as_it_is() -> None:
    headers = [(b"Content-Type", b"text/plain")]
    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        response = await pool.request(
            server.base_url,
            "POST",
            "/upload",
            headers,
            stream(b"hello", b" ", b"world"),
            deadline=within(5),
            body_length=11,
        )
        assert response.take_body() == b"ok"
        response.release()
        expected = (
            b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 11\r\n\r\nhello world" % server.port
        )
        assert server.peers[0].requests == [expected]
        assert bytes(server.peers[0].received) == expected
        assert pool.idle_connections(server.base_url) == 1


async def test_a_body_of_unknown_length_goes_chunked() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        response = await pool.request(
            server.base_url,
            "POST",
            "/upload",
            [(b"Content-Type", b"text/plain")],
            stream(b"hello", b" ", b"x" * 300),
            deadline=within(5),
        )
        assert response.take_body() == b"ok"
        response.release()
        expected = (
            b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1\r\n \r\n12c\r\n" % server.port + b"x" * 300 + b"\r\n0\r\n\r\n"
        )
        assert server.peers[0].requests == [expected]
        assert bytes(server.peers[0].received) == expected
        assert pool.idle_connections(server.base_url) == 1
        again = await get(pool, server)
        assert again.take_body() == b"ok"
        again.release()
        assert server.accepted == 1


async def test_an_empty_chunk_from_the_body_does_not_end_a_chunked_body() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        response = await pool.request(
            server.base_url,
            "POST",
            "/upload",
            [],
            stream(b"hello", b"", b"world"),
            deadline=within(5),
        )
        response.release()
        assert (
            server.peers[0].requests[0].endswith(b"\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
        )


@pytest.mark.parametrize("length_known", [True, False], ids=["content-length", "chunked"])
async def test_a_large_body_waits_for_a_slow_upstream_and_arrives_whole(
    length_known: bool,
) -> None:
    chunk_size, count = 64 * KIB, 128
    chunks = [bytes([index]) * chunk_size for index in range(count)]
    produced = 0
    stalled = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        nonlocal produced
        for chunk in chunks:
            produced += 1
            yield chunk

    async def slow_reader(peer: Peer) -> None:
        head = await peer.read_head()
        assert head is not None
        await stalled.wait()
        peer.requests.append(head + await peer.read_body(head, pause_seconds=0.001))
        await peer.send(OK)
        await peer.read_to_eof()

    if length_known:
        expected = b"".join(chunks)
    else:
        expected = b"".join(b"10000\r\n" + chunk + b"\r\n" for chunk in chunks) + b"0\r\n\r\n"
    async with (
        ScriptedServer(slow_reader, small_buffers=True) as server,
        open_pool() as pool,
    ):
        sending = asyncio.create_task(
            pool.request(
                server.base_url,
                "PUT",
                "/blob",
                [],
                body(),
                deadline=within(60),
                body_length=chunk_size * count if length_known else None,
            )
        )
        await asyncio.sleep(0.3)
        # Without flow control the whole body would be in the transport's buffer by now.
        assert produced < count
        stalled.set()
        response = await sending
        assert response.take_body() == b"ok"
        response.release()
        request = server.peers[0].requests[0]
        assert request[request.index(b"\r\n\r\n") + 4 :] == expected


async def test_a_failing_body_fails_the_request_and_drops_the_connection() -> None:
    async def failing_body() -> AsyncIterator[bytes]:
        yield b"abc"
        raise RuntimeError("the client went away")

    async with (
        ScriptedServer(by_connection(hold_open, answering(OK))) as server,
        open_pool() as pool,
    ):
        with pytest.raises(UpstreamConnectionError, match="the client went away") as caught:
            await pool.request(
                server.base_url, "POST", "/upload", [], failing_body(), deadline=within(5)
            )
        assert isinstance(caught.value, OSError)
        assert pool.open_connections == 0
        assert pool.idle_connections(server.base_url) == 0
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2
        await eventually(lambda: server.peers[0].client_closed, "the pool closed connection 0")


@pytest.mark.parametrize(
    ("parts", "reason"),
    [((b"hello",), "ended at 5 of its 10 bytes"), ((b"hello", b"world!"), "longer than")],
    ids=["short", "long"],
)
async def test_a_body_that_is_not_its_announced_length_drops_the_connection(
    parts: tuple[bytes, ...], reason: str
) -> None:
    """The pool announces the length itself; a body that does not match it would leave the
    upstream reading the next request as the rest of this one (or this one's tail as the
    next), so the request fails and the connection goes, with nothing past the length sent."""
    async with (
        ScriptedServer(by_connection(hold_open, answering(OK))) as server,
        open_pool() as pool,
    ):
        with pytest.raises(UpstreamConnectionError, match=reason):
            await pool.request(
                server.base_url,
                "POST",
                "/upload",
                [],
                stream(*parts),
                deadline=within(5),
                body_length=10,
            )
        assert pool.open_connections == 0
        await eventually(lambda: server.peers[0].client_closed, "the pool closed connection 0")
        received = bytes(server.peers[0].received)
        assert b"Content-Length: 10\r\n" in received
        assert len(received[received.index(b"\r\n\r\n") + 4 :]) <= 10
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()


async def test_a_second_answer_to_one_request_is_never_relayed_and_closes_the_connection() -> None:
    """An upstream that sends two answers for one request has lost the framing (a smuggled
    request, say): the first answer goes to its client, and the second neither joins its
    body nor waits on the connection for the next client."""

    async def answers_twice(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        await peer.read_to_eof()

    async with (
        ScriptedServer(by_connection(answers_twice, answering(HELLO))) as server,
        open_pool() as pool,
    ):
        first = await get(pool, server)
        assert await read_all(first) == b"ok"
        first.release()
        assert pool.idle_connections(server.base_url) == 0
        second = await get(pool, server)
        assert await read_all(second) == b"hello"
        second.release()
        assert server.accepted == 2


async def test_an_early_answer_is_relayed_and_its_connection_closed_after_release() -> None:
    never = asyncio.Event()
    stopped = asyncio.Event()

    async def endless_body() -> AsyncIterator[bytes]:
        try:
            yield b"x" * 10
            await never.wait()
            yield b"never sent"
        finally:
            stopped.set()

    async def answer_early(peer: Peer) -> None:
        await peer.read_head()
        await peer.send(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        await peer.read_to_eof()

    async with (
        ScriptedServer(by_connection(answer_early, answering(OK))) as server,
        open_pool() as pool,
    ):
        response = await pool.request(
            server.base_url, "POST", "/upload", [], endless_body(), deadline=within(5)
        )
        assert response.status == 413
        assert response.complete
        response.release()
        assert pool.open_connections == 0
        assert pool.idle_connections(server.base_url) == 0
        await eventually(stopped.is_set, "the body's sender stopped")
        second = await get(pool, server)
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 2


async def test_an_early_answer_closes_its_connection_even_if_the_body_ends_before_release() -> None:
    answered = asyncio.Event()
    finished = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"hello"
        await answered.wait()
        yield b"world"
        finished.set()

    async def answer_early(peer: Peer) -> None:
        await peer.read_head()
        await peer.send(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        await answering(OK)(peer)

    async with (
        ScriptedServer(by_connection(answer_early, answering(OK))) as server,
        open_pool() as pool,
    ):
        response = await pool.request(
            server.base_url,
            "POST",
            "/upload",
            [],
            body(),
            deadline=within(5),
            body_length=10,
        )
        assert response.status == 413
        answered.set()
        await finished.wait()
        response.release()
        # An upstream that answered without reading the body would read the rest of it
        # as the head of the next request.
        assert pool.open_connections == 0
        second = await get(pool, server, "/next")
        second.release()
        assert server.accepted == 2


# Header injection


@pytest.mark.parametrize(
    ("headers", "target"),
    [
        ([(b"X-A", b"1\r\nX-Evil: 1")], "/"),
        ([(b"X-A", b"1\nX-Evil: 1")], "/"),
        ([(b"X-A", b"1\rX-Evil: 1")], "/"),
        ([(b"X-A\r\nX-Evil", b"1")], "/"),
        ([], "/a HTTP/1.1\r\nX-Evil: 1\r\nX-B:"),
    ],
    ids=["crlf-in-value", "lf-in-value", "cr-in-value", "crlf-in-name", "crlf-in-target"],
)
async def test_cr_or_lf_in_the_request_head_is_refused_before_anything_is_sent(
    headers: Sequence[tuple[bytes, bytes]], target: str
) -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool() as pool:
        with pytest.raises(ValueError, match="CR or LF"):
            await pool.request(server.base_url, "GET", target, headers, deadline=within(5))
        assert pool.open_connections == 0
        clean = await get(pool, server, "/clean")
        clean.release()
        assert server.accepted == 1
        assert server.peers[0].requests[0].startswith(b"GET /clean HTTP/1.1\r\n")


async def test_a_base_url_that_is_not_http_is_refused() -> None:
    async with open_pool() as pool:
        with pytest.raises(ValueError, match="not an http"):
            await pool.request("ftp://127.0.0.1:21", "GET", "/", [], deadline=within(5))


# The connection limit


async def test_at_the_limit_a_second_request_waits_for_the_first_to_be_released() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool(max_connections=1) as pool:
        first = await get(pool, server, "/first")
        waiting = asyncio.create_task(get(pool, server, "/second"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert server.accepted == 1
        assert first.take_body() == b"ok"
        first.release()
        second = await waiting
        assert second.take_body() == b"ok"
        second.release()
        assert server.accepted == 1
        assert server.max_active == 1
        assert [request.split(b" ")[1] for request in server.peers[0].requests] == [
            b"/first",
            b"/second",
        ]


async def test_waiting_for_a_free_connection_ends_at_the_deadline() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool(max_connections=1) as pool:
        held = await get(pool, server)
        with pytest.raises(TimeoutError):
            await get(pool, server, seconds=0.2)
        assert held.take_body() == b"ok"
        held.release()
        after = await get(pool, server)
        assert after.take_body() == b"ok"
        after.release()
        assert server.accepted == 1


async def test_a_waiter_cancelled_after_being_woken_passes_the_connection_on() -> None:
    async with ScriptedServer(answering(OK)) as server, open_pool(max_connections=1) as pool:
        held = await get(pool, server)
        cancelled = asyncio.create_task(get(pool, server, "/cancelled"))
        starving = asyncio.create_task(get(pool, server, "/next", seconds=1.0))
        await asyncio.sleep(0.05)
        assert not cancelled.done()
        assert not starving.done()
        assert held.take_body() == b"ok"
        held.release()
        # The client behind the first waiter goes away on the same turn (a disconnect, or
        # its deadline), after the pool woke it.
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        response = await starving
        assert response.take_body() == b"ok"
        response.release()


async def test_at_the_limit_an_idle_connection_to_another_origin_is_evicted() -> None:
    async with (
        ScriptedServer(answering(OK)) as first_origin,
        ScriptedServer(answering(OK)) as second_origin,
        open_pool(max_connections=1) as pool,
    ):
        first = await get(pool, first_origin)
        assert first.take_body() == b"ok"
        first.release()
        assert pool.idle_connections(first_origin.base_url) == 1
        second = await get(pool, second_origin)
        assert second.take_body() == b"ok"
        second.release()
        assert pool.idle_connections(first_origin.base_url) == 0
        assert pool.idle_connections(second_origin.base_url) == 1
        assert pool.open_connections == 1
        await eventually(lambda: first_origin.peers[0].client_closed, "the eviction closed it")


async def test_a_request_waiting_for_another_origin_gets_in_when_a_connection_is_released() -> None:
    async with (
        ScriptedServer(answering(OK)) as first_origin,
        ScriptedServer(answering(OK)) as second_origin,
        open_pool(max_connections=1) as pool,
    ):
        held = await get(pool, first_origin)
        waiting = asyncio.create_task(get(pool, second_origin))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert second_origin.accepted == 0
        assert held.take_body() == b"ok"
        held.release()
        response = await waiting
        assert response.take_body() == b"ok"
        response.release()
        assert pool.idle_connections(first_origin.base_url) == 0
        assert pool.open_connections == 1
        await eventually(lambda: first_origin.peers[0].client_closed, "the eviction closed it")


async def test_one_origin_using_its_share_leaves_the_rest_of_the_pool_to_others() -> None:
    """The bulkhead: clients holding one service's connections (slow uploads, unread
    downloads) make that service's next requests wait, not every service's."""
    async with (
        ScriptedServer(answering(OK)) as busy_origin,
        ScriptedServer(answering(OK)) as other_origin,
        open_pool(max_connections=8, max_per_origin=2) as pool,
    ):
        held = [await get(pool, busy_origin), await get(pool, busy_origin)]
        with pytest.raises(TimeoutError):
            await get(pool, busy_origin, seconds=0.2)
        others = [await get(pool, other_origin) for _ in range(2)]
        for response in others:
            assert response.take_body() == b"ok"
            response.release()
        assert busy_origin.accepted == 2
        waiting = asyncio.create_task(get(pool, busy_origin, "/next"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        # One of its own comes back: the waiter takes it, though the pool has room.
        assert held[0].take_body() == b"ok"
        held[0].release()
        response = await waiting
        assert response.take_body() == b"ok"
        response.release()
        assert busy_origin.accepted == 2
        held[1].close()
        assert pool.open_connections == 3
        again = await get(pool, busy_origin)
        assert again.take_body() == b"ok"
        again.release()


async def test_a_closed_connection_lets_a_waiter_of_its_origin_open_another() -> None:
    async with (
        ScriptedServer(answering(OK)) as server,
        open_pool(max_connections=8, max_per_origin=1) as pool,
    ):
        held = await get(pool, server)
        waiting = asyncio.create_task(get(pool, server, "/next"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        held.close()
        response = await waiting
        assert response.take_body() == b"ok"
        response.release()
        assert server.accepted == 2
        assert pool.open_connections == 1


# Closing and failing to connect


async def test_close_mid_body_fails_a_pending_read_and_frees_the_slot() -> None:
    async def stall(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await peer.read_to_eof()

    async with (
        ScriptedServer(by_connection(stall, answering(OK))) as server,
        open_pool(max_connections=1) as pool,
    ):
        response = await get(pool, server)
        assert await response.read(5.0) == b"0123456789"
        pending = asyncio.create_task(response.read(5.0))
        await asyncio.sleep(0.05)
        assert not pending.done()
        response.close()
        with pytest.raises(UpstreamConnectionError):
            await pending
        assert pool.open_connections == 0
        after = await get(pool, server)
        assert after.take_body() == b"ok"
        after.release()
        assert server.accepted == 2


async def test_a_refused_connection_is_an_os_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with open_pool() as pool:
        with pytest.raises(ConnectionRefusedError):
            await pool.request(f"http://127.0.0.1:{port}", "GET", "/", [], deadline=within(5))
        assert pool.open_connections == 0


# Flow control of the answer


@pytest.mark.parametrize("framing", ["content-length", "close"])
async def test_a_large_answer_read_late_stops_the_upstream_and_arrives_whole(
    framing: str,
) -> None:
    body = bytes(range(256)) * (8 * MIB // 256)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
        if framing == "content-length"
        else b"HTTP/1.1 200 OK\r\n\r\n"
    )

    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(head + body)
        if framing == "content-length":
            await peer.read_to_eof()

    async with ScriptedServer(script, small_buffers=True) as server, open_pool() as pool:
        response = await get(pool, server)
        await asyncio.sleep(0.3)
        # Had the pool kept reading, the server would have written everything by now.
        assert server.peers[0].pending_write_bytes > 0
        assert await read_all(response) == body
        assert response.complete
        response.release()
