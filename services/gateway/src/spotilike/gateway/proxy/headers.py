"""What the gateway changes in the headers it passes on, both ways.

Request headers lose the hop-by-hop fields (RFC 9110 §7.6.1) and whatever ``Connection``
names, every ``X-User-*`` header a client sent (only the gateway may say who the user is),
and ``Host`` (the upstream gets its own; the original goes into ``X-Forwarded-Host`` and
``Forwarded``). ``traceparent`` and ``tracestate`` pass unchanged: the gateway starts no
spans of its own on the proxy path (that cost a tenth of its throughput, see
docs/benchmarks.md), so the upstream's server span is the child of the caller's. The
forwarding chain is kept only when the peer is a trusted proxy; from
anyone else it is replaced, so a client cannot plant addresses in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "HOP_BY_HOP",
    "IDENTITY_PREFIX",
    "USER_ID_HEADER",
    "USER_ROLES_HEADER",
    "ForwardingFacts",
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
# uvicorn writes its own Date; a second one from upstream would make two.
_RESPONSE_DROPPED: Final = HOP_BY_HOP | {b"date", b"server"}


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


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
    websocket: bool = False,
) -> list[tuple[str, str]]:
    """The headers sent upstream, as ``(name, value)`` pairs in their original order."""
    dropped = _connection_tokens(raw)
    chain = _Chain()
    out: list[tuple[str, str]] = []
    for name, value in raw:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in dropped or lower.startswith(IDENTITY_PREFIX):
            continue
        if websocket and lower in _WEBSOCKET_OWN:
            continue
        if lower in _REPLACED:
            if facts.peer_trusted:
                chain.take(lower, value.decode("latin-1"))
            continue
        out.append((name.decode("latin-1"), value.decode("latin-1")))

    previous_xff, previous_forwarded = chain.forwarded_for, chain.forwarded
    incoming_proto, incoming_host = chain.proto, chain.host
    proto = incoming_proto or facts.proto
    host = incoming_host or facts.host
    xff = ", ".join([*previous_xff, facts.peer]) if previous_xff else facts.peer
    node = f"for={_forwarded_node(facts.peer)};proto={facts.proto}"
    if facts.host:
        node += f';host="{facts.host}"'
    forwarded = ", ".join([*previous_forwarded, node]) if previous_forwarded else node
    out.append(("X-Forwarded-For", xff))
    out.append(("X-Forwarded-Proto", proto))
    if host:
        out.append(("X-Forwarded-Host", host))
    out.append(("Forwarded", forwarded))
    if request_id is not None:
        out.append(("X-Request-ID", request_id))
    if identity is not None:
        out.append((USER_ID_HEADER, identity[0]))
        out.append((USER_ROLES_HEADER, identity[1]))
    return out


def response_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers minus hop-by-hop ones, as ASGI wants them."""
    dropped = _connection_tokens(raw)
    return [
        (name, value)
        for name, value in raw
        if (lower := name.lower()) not in _RESPONSE_DROPPED and lower not in dropped
    ]
