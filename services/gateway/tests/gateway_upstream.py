"""A stand-in upstream service for the gateway's tests: echo, statuses, streams, a sink,
a WebSocket echo and a JWKS, on plain ASGI so it adds little of its own.

Run alone (for tests that SIGKILL it) with
``python -m uvicorn --factory gateway_upstream:from_environment`` and
``UPSTREAM_INSTANCE`` naming the instance.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

__all__ = ["UpstreamApp", "UpstreamStats", "from_environment"]


@dataclass
class UpstreamStats:
    requests: int = 0
    jwks_fetches: int = 0
    paths: list[str] = field(default_factory=list)
    bytes_received: int = 0


class UpstreamApp:
    """Paths: ``/status/<code>`` answers that code; ``/bytes/<n>`` streams n bytes in 64 KiB
    chunks; ``/slow/<seconds>`` waits first; ``/ws`` echoes WebSocket messages;
    ``/.well-known/jwks.json`` serves ``jwks``; anything else echoes the request as JSON
    (instance, method, path, raw path, query, headers, body size and SHA-less length)."""

    def __init__(self, instance: str, *, jwks: dict[str, Any] | None = None) -> None:
        self.instance = instance
        self.jwks = jwks
        self.stats = UpstreamStats()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        await self._http(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if scope["path"] == "/ws/social/handshake":
            # What the upstream was asked for: the WebSocket forwarder's handshake.
            asked = {k.decode(): v.decode() for k, v in scope["headers"]}
            await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.send",
                    "text": json.dumps(
                        {
                            "query": scope["query_string"].decode(),
                            "authorization": asked.get("authorization"),
                            "user": asked.get("x-user-id"),
                        }
                    ),
                }
            )
            await send({"type": "websocket.close", "code": 1000})
            return
        if scope["path"] != "/ws/social/echo":
            await send({"type": "websocket.close", "code": 4404})
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await send({"type": "websocket.accept"})
        await send(
            {"type": "websocket.send", "text": json.dumps({"user": headers.get("x-user-id")})}
        )
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "close":
                await send({"type": "websocket.close", "code": 4000})
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": "echo:" + message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"][::-1]})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.requests += 1
        path: str = scope["path"]
        self.stats.paths.append(path)
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        self.stats.bytes_received += size

        if path.endswith("/.well-known/jwks.json") and self.jwks is not None:
            self.stats.jwks_fetches += 1
            await _json(send, 200, self.jwks)
            return
        parts = path.strip("/").split("/")
        if "status" in parts and parts.index("status") + 1 < len(parts):
            code = int(parts[parts.index("status") + 1])
            await _json(send, code, {"instance": self.instance, "status": code})
            return
        if "bytes" in parts and parts.index("bytes") + 1 < len(parts):
            await _stream(send, int(parts[parts.index("bytes") + 1]))
            return
        if "slow" in parts and parts.index("slow") + 1 < len(parts):
            await asyncio.sleep(float(parts[parts.index("slow") + 1]))
        await _json(
            send,
            200,
            {
                "instance": self.instance,
                "method": scope["method"],
                "path": path,
                "raw_path": scope.get("raw_path", b"").decode("latin-1"),
                "query": scope.get("query_string", b"").decode("latin-1"),
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]
                ],
                "body_bytes": size,
            },
            extra=[(b"set-cookie", b"session=upstream"), (b"x-upstream", self.instance.encode())],
        )


async def _json(
    send: Send, status: int, body: Any, *, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"keep-alive, x-hop"),
        (b"x-hop", b"should-go"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _stream(send: Send, size: int) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    chunk = b"x" * 65536
    left = size
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        left -= len(piece)
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def from_environment() -> UpstreamApp:
    return UpstreamApp(os.environ.get("UPSTREAM_INSTANCE", "solo"))
