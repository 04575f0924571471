"""What a request must pass before it is forwarded: its shape, its rate limit, its token.

The rate-limit policy when Valkey cannot count: classes in ``fail_closed`` (the auth
routes: sign-in and sign-up are where unthrottled guessing hurts) answer 503; every other
class lets the request through, logs ``rate_limit.unavailable`` and counts
``spotilike_gateway_rate_limit_fail_open_total``, because an outage of the limiter
should not become an outage of the platform.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType

import structlog
from prometheus_client import Counter
from starlette.types import Scope

from spotilike.gateway.clientip import ClientAddressResolver
from spotilike.gateway.proxy.headers import ForwardingFacts, RequestHead
from spotilike.gateway.routing import Route, RouteTable, path_refusal
from spotilike.kit.auth import TokenVerifier
from spotilike.kit.errors import NotFound, Problem, Unauthorized
from spotilike.kit.ratelimit import (
    RateLimiter,
    RateLimiterUnavailable,
    RateLimitRule,
    rate_limited,
)

__all__ = ["RATE_LIMIT_FAIL_OPEN", "Admission", "Admitted", "split_query_token"]

RATE_LIMIT_FAIL_OPEN = Counter(
    "spotilike_gateway_rate_limit_fail_open_total",
    "Requests let through unchecked because Valkey could not count them, by class.",
    ["rule"],
)

_log = structlog.get_logger(__name__)

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class Admitted:
    route: Route
    head: RequestHead
    facts: ForwardingFacts
    identity: tuple[str, str] | None
    """``(subject, comma-separated roles)`` of the verified token, when there was one."""
    rate_limit_headers: Mapping[str, str]


def _bearer(scope: Scope, head: RequestHead, *, websocket: bool) -> str | None:
    if head.authorization is not None:
        scheme, _, token = head.authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    if websocket:
        # Browsers cannot set headers on a WebSocket handshake; RFC 6750 §2.3 allows the
        # token in the query for exactly such clients.
        _, query_token = split_query_token(scope.get("query_string", b"").decode("latin-1"))
        return query_token
    return None


def split_query_token(query: str) -> tuple[str, str | None]:
    """The query without its ``access_token`` parameters, and the first non-empty one."""
    if "access_token=" not in query:
        return query, None
    token: str | None = None
    kept = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "access_token":
            token = token or value or None
        else:
            kept.append(pair)
    return "&".join(kept), token


class Admission:
    def __init__(
        self,
        *,
        routes: RouteTable,
        resolver: ClientAddressResolver,
        verifier: TokenVerifier,
        limiter: RateLimiter | None,
        rules: Mapping[str, RateLimitRule],
        fail_closed: Collection[str],
        max_header_bytes: int,
        max_body_bytes: int,
    ) -> None:
        self._routes = routes
        self._resolver = resolver
        self._verifier = verifier
        self._limiter = limiter
        self._rules = dict(rules)
        self._fail_closed = frozenset(fail_closed)
        self._max_header_bytes = max_header_bytes
        self._max_body_bytes = max_body_bytes

    def route(self, scope: Scope) -> Route | None:
        """The route of the request, or None (static files or 404); refuses bad paths."""
        path: str = scope["path"]
        refusal = path_refusal(path)
        if refusal is not None:
            raise Problem(refusal, status=HTTPStatus.BAD_REQUEST, code="bad-path")
        return self._routes.match(path)

    async def admit(
        self, scope: Scope, route: Route, head: RequestHead, *, websocket: bool = False
    ) -> Admitted:
        if head.body_length is not None and head.body_length > self._max_body_bytes:
            raise Problem(
                f"The request body exceeds {self._max_body_bytes} bytes.",
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                code="body-too-large",
                headers={"Connection": "close"},
            )
        if head.size > self._max_header_bytes:
            raise Problem(
                f"The request headers take {head.size} bytes; the limit is "
                f"{self._max_header_bytes}.",
                status=HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                code="headers-too-large",
            )
        facts = self._facts(scope, head, websocket=websocket)
        rule_name, limiter = route.rate_limit, self._limiter
        rate_headers = (
            await self._check_rate(limiter, self._rules[rule_name], route, facts.client)
            if rule_name is not None and limiter is not None
            else _NO_HEADERS
        )
        identity = None
        method = "GET" if websocket else scope["method"]
        if route.needs_token(method):
            token = _bearer(scope, head, websocket=websocket)
            if token is None:
                raise Unauthorized(
                    "This route needs a bearer access token.", code="auth/missing-token"
                )
            principal = await self._verifier.verify(token)
            identity = (principal.subject, ",".join(sorted(principal.roles)))
        return Admitted(
            route=route, head=head, facts=facts, identity=identity, rate_limit_headers=rate_headers
        )

    def _facts(self, scope: Scope, head: RequestHead, *, websocket: bool) -> ForwardingFacts:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        trusted = self._resolver.trusts_anyone and self._resolver.is_trusted(peer)
        scheme = scope.get("scheme", "http")
        if websocket:
            scheme = "https" if scheme == "wss" else "http"
        return ForwardingFacts(
            peer=peer,
            client=self._resolver.resolve(peer, head.forwarded_for) if trusted else peer,
            peer_trusted=trusted,
            proto=scheme,
            host=head.host,
        )

    async def _check_rate(
        self, limiter: RateLimiter, rule: RateLimitRule, route: Route, client: str
    ) -> Mapping[str, str]:
        try:
            decision = await limiter.hit(rule, client)
        except RateLimiterUnavailable:
            if rule.name in self._fail_closed:
                raise Problem(
                    "Requests to this route cannot be rate-limited right now, so they are "
                    "refused; try again shortly.",
                    status=HTTPStatus.SERVICE_UNAVAILABLE,
                    code="rate-limit-unavailable",
                    headers={"Retry-After": "5"},
                ) from None
            RATE_LIMIT_FAIL_OPEN.labels(rule.name).inc()
            _log.warning("rate_limit.fail_open", rule=rule.name, route=route.prefix)
            return _NO_HEADERS
        if not decision.allowed:
            raise rate_limited(decision)
        return decision.headers()

    @staticmethod
    def not_found(path: str) -> NotFound:
        return NotFound(f"No route for {path}.", code="no-route")
