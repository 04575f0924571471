"""The proxy: admission (limits, rate limit, token), HTTP and WebSocket forwarding."""

from spotilike.gateway.proxy.admission import RATE_LIMIT_FAIL_OPEN, Admission, Admitted
from spotilike.gateway.proxy.gateway import Gateway, GatewayEntry
from spotilike.gateway.proxy.headers import USER_ID_HEADER, USER_ROLES_HEADER
from spotilike.gateway.proxy.http import UPSTREAM_OUTCOMES, HttpForwarder
from spotilike.gateway.proxy.upstreams import Upstreams
from spotilike.gateway.proxy.websocket import WebSocketForwarder

__all__ = [
    "RATE_LIMIT_FAIL_OPEN",
    "UPSTREAM_OUTCOMES",
    "USER_ID_HEADER",
    "USER_ROLES_HEADER",
    "Admission",
    "Admitted",
    "Gateway",
    "GatewayEntry",
    "HttpForwarder",
    "Upstreams",
    "WebSocketForwarder",
]
