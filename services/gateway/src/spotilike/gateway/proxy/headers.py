"""What the gateway changes in the headers it passes on, both ways.

Request headers lose the hop-by-hop fields (RFC 9110 §7.6.1) and whatever ``Connection``
names, every ``X-User-*`` header a client sent (only the gateway may say who the user is),
``Content-Length`` (the upstream pool writes the framing from the length the server
read, so no header the client can name in ``Connection`` decides where the body ends),
and ``Host`` (the upstream gets its own; the original goes into ``X-Forwarded-Host`` and
``Forwarded``). ``traceparent`` and ``tracestate`` pass unchanged: the gateway starts no
spans of its own on the proxy path (that cost a tenth of its throughput, see
docs/benchmarks.md), so the upstream's server span is the child of the caller's. The
forwarding chain is kept only when the peer is a trusted proxy; from
anyone else it is replaced, so a client cannot plant addresses in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Final

__all__ = [
    "HOP_BY_HOP",
    "IDENTITY_PREFIX",
    "USER_ID_HEADER",
    "USER_ROLES_HEADER",
    "ForwardingFacts",
    "RequestHead",
    "request_headers",
    "response_headers",
]

HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
    }
)
IDENTITY_PREFIX: Final = b"x-user-"
USER_ID_HEADER: Final = "X-User-Id"
USER_ROLES_HEADER: Final = "X-User-Roles"
USER_ID_HEADER_BYTES: Final = USER_ID_HEADER.encode()
USER_ROLES_HEADER_BYTES: Final = USER_ROLES_HEADER.encode()

# Replaced by the gateway's own values, whoever sent them.
_REPLACED: Final = frozenset(
    {
        b"host",
        b"expect",
        b"x-request-id",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-real-ip",
    }
)
_WEBSOCKET_OWN: Final = frozenset(
    {
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
    }
)
# uvicorn writes its own Date; a second one from upstream would make two. The request id
# the client sees is the gateway's (the upstream echoes the same one).
_RESPONSE_DROPPED: Final = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}
# A DNS name has at most 253 characters; a longer Host is not worth a cache entry.
_LONGEST_HOST: Final = 260
_CONNECTION_OPTIONS: Final = frozenset({b"", b"close", b"keep-alive"})
# A registered name or IPv4 address, or a bracketed IPv6 literal, and an optional port.
_HOST_SYNTAX: Final = re.compile(r"^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")


class RequestHead:
    """What the gateway needs from the client's headers, read in one pass: this runs on
    every request, and one loop costs less than one per question. Names are lower case,
    as ASGI servers hand them over."""

    __slots__ = (
        "authorization",
        "body_length",
        "connection_tokens",
        "declares_body",
        "forwarded_for",
        "host",
        "request_id",
        "size",
    )

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        size = 0
        host: bytes | None = None
        authorization: bytes | None = None
        request_id: bytes | None = None
        forwarded_for: list[bytes] = []
        tokens: set[bytes] = set()
        body_length: int | None = None
        declares_body = False
        for name, value in raw:
            size += len(name) + len(value) + 4
            if name == b"host":
                host = value
            elif name == b"content-length":
                body_length = int(value) if value.isdigit() else None
                declares_body = declares_body or value.strip() not in (b"0", b"")
            elif name == b"transfer-encoding":
                declares_body = True
            elif name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-request-id":
                if request_id is None:
                    request_id = value
            elif name == b"connection":
                tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
        self.size = size
        self.host = None if host is None else host.decode("latin-1")
        self.authorization = authorization
        self.request_id = request_id
        self.forwarded_for = (
            ",".join(v.decode("latin-1") for v in forwarded_for) if forwarded_for else None
        )
        self.connection_tokens = frozenset(tokens)
        self.body_length = body_length
        """The declared Content-Length, when there is a readable one."""
        self.declares_body = declares_body


class ForwardingFacts:
    """What the gateway knows about the hop it received the request on."""

    __slots__ = ("client", "host", "peer", "peer_trusted", "proto")

    def __init__(
        self, *, peer: str, client: str, peer_trusted: bool, proto: str, host: str | None
    ) -> None:
        self.peer = peer
        self.client = client
        self.peer_trusted = peer_trusted
        self.proto = proto
        self.host = host


class _Chain:
    """The forwarding headers a trusted proxy sent, to be extended rather than replaced."""

    __slots__ = ("forwarded", "forwarded_for", "host", "proto")

    def __init__(self) -> None:
        self.forwarded_for: list[str] = []
        self.forwarded: list[str] = []
        self.proto: str | None = None
        self.host: str | None = None

    def take(self, name: bytes, value: str) -> None:
        if name == b"x-forwarded-for":
            self.forwarded_for.append(value)
        elif name == b"forwarded":
            self.forwarded.append(value)
        elif name == b"x-forwarded-proto":
            self.proto = value.strip()
        elif name == b"x-forwarded-host":
            self.host = value.strip()


def _forwarded_node(address: str) -> str:
    return f'"[{address}]"' if ":" in address else address


def request_headers(
    raw: Sequence[tuple[bytes, bytes]],
    *,
    facts: ForwardingFacts,
    request_id: str | None,
    identity: tuple[str, str] | None,
    connection_tokens: frozenset[bytes],
    websocket: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The headers sent upstream, as ``(name, value)`` pairs in their original order;
    ``connection_tokens`` are the names the client's Connection header listed."""
    chain = _Chain() if facts.peer_trusted else None
    out: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        lower = name.lower()
        if (
            lower in HOP_BY_HOP
            or lower in connection_tokens
            or lower.startswith(IDENTITY_PREFIX)
            or lower == b"content-length"
        ):
            continue
        if websocket and lower in _WEBSOCKET_OWN:
            continue
        if lower in _REPLACED:
            if chain is not None:
                chain.take(lower, value.decode("latin-1"))
            continue
        out.append((name, value))
    if chain is None and (facts.host is None or len(facts.host) <= _LONGEST_HOST):
        out += _new_chain(facts.peer, facts.proto, facts.host)
    else:
        out += _forwarding(facts, chain or _Chain())
    if request_id is not None:
        out.append((b"X-Request-ID", request_id.encode("latin-1")))
    if identity is not None:
        out.append((USER_ID_HEADER_BYTES, identity[0].encode("latin-1")))
        out.append((USER_ROLES_HEADER_BYTES, identity[1].encode("latin-1")))
    return out


@functools.lru_cache(maxsize=4096)
def _new_chain(peer: str, proto: str, host: str | None) -> tuple[tuple[bytes, bytes], ...]:
    """The forwarding headers for a client that sent none we may keep. The same few
    clients send most requests, so they are built once per (address, scheme, host)."""
    return _forwarding(
        ForwardingFacts(peer=peer, client=peer, peer_trusted=False, proto=proto, host=host),
        _Chain(),
    )


def _forwarding(facts: ForwardingFacts, chain: _Chain) -> tuple[tuple[bytes, bytes], ...]:
    # A Host that is not host[:port] is not passed on: inside Forwarded's quoted string a
    # '"' would end the value and let the client append elements of its own.
    own_host = facts.host if facts.host and _HOST_SYNTAX.match(facts.host) else None
    proto = chain.proto or facts.proto
    host = chain.host or own_host
    xff = ", ".join([*chain.forwarded_for, facts.peer])
    node = f"for={_forwarded_node(facts.peer)};proto={facts.proto}"
    if own_host:
        node += f';host="{own_host}"'
    forwarded = ", ".join([*chain.forwarded, node])
    headers = [
        (b"X-Forwarded-For", xff.encode("latin-1")),
        (b"X-Forwarded-Proto", proto.encode("latin-1")),
    ]
    if host:
        headers.append((b"X-Forwarded-Host", host.encode("latin-1")))
    headers.append((b"Forwarded", forwarded.encode("latin-1")))
    return tuple(headers)


def response_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers minus hop-by-hop ones, as ASGI wants them."""
    out: list[tuple[bytes, bytes]] = []
    listed: set[bytes] | None = None
    for name, value in raw:
        lower = name.lower()
        if lower in _RESPONSE_DROPPED:
            if lower == b"connection":
                listed = listed or set()
                listed.update(t.strip().lower() for t in value.split(b","))
            continue
        out.append((name, value))
    if listed:
        # "close" and "keep-alive" name no header that got through; anything else does.
        listed -= _CONNECTION_OPTIONS
        if listed:
            out = [(name, value) for name, value in out if name.lower() not in listed]
    return out
