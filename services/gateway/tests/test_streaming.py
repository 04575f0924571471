"""Through a gateway served for real: WebSocket proxying, streamed bodies, slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from gateway_support import RunningUpstream, make_settings

from spotilike.gateway.app import create_gateway_app
from spotilike.tools.pytest_plugin import TokenIssuer, served_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway_url(upstream: RunningUpstream, redis_url: str) -> Iterator[str]:
    settings = make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        idle_timeout_seconds=1.0,
    )
    with served_in_thread(create_gateway_app(settings)) as url:
        yield url


async def test_websocket_echo_through_the_gateway(
    gateway_url: str, token_issuer: TokenIssuer
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            gateway_url + "/ws/social/echo", headers=token_issuer.headers("listener-7")
        ) as ws,
    ):
        hello = json.loads((await ws.receive()).data)
        await ws.send_str("ping")
        text = await ws.receive()
        await ws.send_bytes(b"\x01\x02\x03")
        binary = await ws.receive()
        await ws.send_str("close")
        closing = await ws.receive()
    assert hello == {"user": "listener-7"}
    assert text.data == "echo:ping"
    assert binary.data == b"\x03\x02\x01"
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == 4000


async def test_websocket_takes_the_token_from_the_query(
    gateway_url: str, token_issuer: TokenIssuer
) -> None:
    token = token_issuer.token("browser-user")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{gateway_url}/ws/social/echo?access_token={token}") as ws,
    ):
        hello = json.loads((await ws.receive()).data)
    assert hello == {"user": "browser-user"}


async def test_a_query_token_goes_upstream_as_a_header_not_in_the_query(
    gateway_url: str, token_issuer: TokenIssuer
) -> None:
    """Upstream servers log request lines; the token must not be in one."""
    token = token_issuer.token("browser-user")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{gateway_url}/ws/social/handshake?room=7&access_token={token}&x=1"
        ) as ws,
    ):
        asked = json.loads((await ws.receive()).data)
    assert asked == {
        "query": "room=7&x=1",
        "authorization": f"Bearer {token}",
        "user": "browser-user",
    }


async def test_an_upstream_that_never_answers_the_handshake_times_out(
    upstream: RunningUpstream, redis_url: str, token_issuer: TokenIssuer
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def mute(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = make_settings(
        {"echo": [upstream.url], "mute": [f"http://127.0.0.1:{port}"]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        routes=[{"prefix": "/ws/social", "service": "mute", "timeout_seconds": 0.5}],
    )
    try:
        with served_in_thread(create_gateway_app(settings)) as url:
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(
                        url + "/ws/social/x", headers=token_issuer.headers("u")
                    )
    finally:
        server.close()
        for writer in accepted:
            writer.close()
    assert accepted, "the gateway reached the mute upstream"
    assert refused.value.status == 504


async def test_websocket_without_a_token_is_refused(gateway_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(gateway_url + "/ws/social/echo")
    assert refused.value.status in (401, 403)


async def _chunks(total: int, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    block = b"z" * size
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


async def test_a_chunked_upload_and_a_large_download_stream_through(
    gateway_url: str, upstream: RunningUpstream
) -> None:
    total = 20 * 1024 * 1024
    async with aiohttp.ClientSession() as session:
        async with session.post(gateway_url + "/open/sink", data=_chunks(total)) as upload:
            echo = await upload.json()
        async with session.get(gateway_url + "/open/bytes/30000000") as download:
            received = 0
            async for chunk in download.content.iter_any():
                received += len(chunk)
    assert upload.status == 200
    assert echo["body_bytes"] == total
    transfer = [v for k, v in echo["headers"] if k == "transfer-encoding"]
    assert transfer == ["chunked"]
    assert download.status == 200
    assert received == 30_000_000


async def test_a_stalled_request_body_is_cut_off(gateway_url: str) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.sleep(5)
        yield b"late"

    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway_url + "/open/sink", data=trickle()) as response,
    ):
        status = response.status
    assert status == 408


async def test_a_body_that_trickles_in_is_cut_off(gateway_url: str) -> None:
    """Never silent for the 1 s idle timeout, but far below the 1 KiB/s average."""

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x"
            await asyncio.sleep(0.25)

    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway_url + "/open/sink", data=trickle()) as response,
    ):
        status = response.status
        problem = await response.json(content_type=None)
    assert status == 408
    assert problem["type"].endswith("body-too-slow")


async def test_a_client_that_stops_reading_is_cut_off_after_the_idle_timeout(
    gateway_url: str,
) -> None:
    """Its download must not hold an upstream connection for as long as it likes."""
    total = 100_000_000
    host, port = gateway_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET /open/bytes/{total} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        await writer.drain()
        received = len(await reader.read(65536))
        # Silent for three times the gateway's 1 s idle timeout, with buffers full.
        await asyncio.sleep(3)
        while chunk := await asyncio.wait_for(reader.read(1 << 20), timeout=30):
            received += len(chunk)
    finally:
        writer.close()
    assert 0 < received < total
