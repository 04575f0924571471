"""HTTP/1.1 to the upstream services: pooled keep-alive connections on asyncio protocols,
with every answer parsed by llhttp (Node's parser, also uvicorn's) through httptools.

Why not a client library: the proxy path sends one request and relays one answer, and
the client was most of the gateway's cost. Each alone in one process against the same
upstream (bench/gateway_proxy.py, docs/benchmarks.md), this pool made 28k requests/s,
pyreqwest 12k, aiohttp's ClientSession 7.3k and httpx2 1.2k. The part of HTTP that is
hard to get right, parsing answers, stays with llhttp. What is written here is the
framing of requests, the reuse of connections, flow control both ways and the
connection limit.

The rules:

- A connection goes back to the pool only when its answer was read to the end, its
  request body was sent whole and neither side asked to close. Reuse is last in, first
  out. A connection idle for longer than ``idle_seconds`` is closed, not reused: uvicorn
  closes idle connections after 5 s, and a request written into a closing connection is
  lost.
- A request body with the client's ``Content-Length`` goes as it is; one without goes
  chunked. An answer that arrives while the body is still being sent is relayed, and the
  connection is closed after it.
- Up to 256 KiB of an answer is buffered. Past that, the socket stops reading until the
  relay has caught up, and TCP slows the upstream down.
- Answers to ``HEAD``, ``1xx``, ``204`` and ``304`` have no body. Interim ``1xx`` answers
  are skipped, and an answer delimited by the connection closing ends at that close.
"""

from spotilike.gateway.proxy.connections.exchange import (
    Deadline,
    UpstreamConnectionError,
    UpstreamResponse,
)
from spotilike.gateway.proxy.connections.pool import UpstreamPool

__all__ = ["Deadline", "UpstreamConnectionError", "UpstreamPool", "UpstreamResponse"]
