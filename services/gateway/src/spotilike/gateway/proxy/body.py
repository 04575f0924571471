"""The client's request body as the upstream pool reads it: chunk by chunk, with limits.

A body is bounded three ways while it streams through: a silence may last at most the
idle timeout, the average rate after one idle period must keep up
``MIN_BODY_BYTES_PER_SECOND`` (a body that trickles a byte now and then would otherwise
hold its upstream connection for as long as it liked), and the total may not pass the
body cap. Each breach ends the upstream request and becomes the client's problem answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http import HTTPStatus

from starlette.types import Receive

from spotilike.gateway.proxy.connections import Deadline
from spotilike.kit.errors import Problem

__all__ = ["ClientGoneError", "RequestBody", "raise_for_body"]


class ClientGoneError(Exception):
    """The client's body ended the request: it disconnected, stalled or sent too much."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequestBody:
    """The client's body as an async iterator for the pool, with an idle limit per chunk.

    Each chunk also pushes the route's response deadline forward: a long upload is not
    a slow upstream.
    """

    __slots__ = (
        "_deadline",
        "_idle",
        "_limit",
        "_min_rate",
        "_receive",
        "_timeout",
        "finished",
        "gone",
    )

    def __init__(
        self,
        receive: Receive,
        *,
        idle_seconds: float,
        route_seconds: float,
        limit: int,
        min_rate: float,
    ) -> None:
        self._receive = receive
        self._idle = idle_seconds
        self._timeout = route_seconds
        self._limit = limit
        self._min_rate = min_rate
        self._deadline: Deadline | None = None
        self.finished = False
        self.gone: ClientGoneError | None = None

    def bind(self, deadline: Deadline) -> None:
        self._deadline = deadline

    async def chunks(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        received = 0
        # Time spent waiting for the client only: while the upstream holds the body back
        # (flow control), the client is not the slow one.
        waited = 0.0
        while True:
            wait, reason = self._idle, "stalled"
            if self._min_rate:
                # A body that trickles in (a byte now and then, never silent for long)
                # would hold its upstream connection for as long as it liked: after one
                # idle period, it must keep up an average of ``min_rate``.
                allowed = self._idle + received / self._min_rate - waited
                if allowed < wait:
                    wait, reason = max(allowed, 0.0), "too_slow"
            asked = loop.time()
            try:
                async with asyncio.timeout(wait):
                    message = await self._receive()
            except TimeoutError:
                self.gone = ClientGoneError(reason)
                raise self.gone from None
            waited += loop.time() - asked
            if message["type"] == "http.disconnect":
                self.gone = ClientGoneError("disconnected")
                raise self.gone
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > self._limit:
                self.gone = ClientGoneError("too_large")
                raise self.gone
            if self._deadline is not None:
                self._deadline.at = loop.time() + self._timeout
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                self.finished = True
                return


def raise_for_body(
    gone: ClientGoneError, *, idle_seconds: float, limit: int, min_rate: float
) -> None:
    """The problem for a body that broke one of its limits; nothing for a client that
    simply left (no one is there to tell)."""
    refusals = {
        "too_slow": (
            f"The request body arrived slower than {min_rate:g} bytes/s on average.",
            HTTPStatus.REQUEST_TIMEOUT,
            "body-too-slow",
        ),
        "stalled": (
            f"The request body stalled for over {idle_seconds:g} s.",
            HTTPStatus.REQUEST_TIMEOUT,
            "body-timeout",
        ),
        "too_large": (
            f"The request body exceeds {limit} bytes.",
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body-too-large",
        ),
    }
    refusal = refusals.get(gone.reason)
    if refusal is not None:
        detail, status, code = refusal
        raise Problem(detail, status=status, code=code, headers={"Connection": "close"})
