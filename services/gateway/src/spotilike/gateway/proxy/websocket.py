"""Forwarding a WebSocket: the client's ASGI socket on one side, an aiohttp client
socket to the upstream on the other, messages copied both ways until either closes.

The upstream handshake happens before the client's is accepted, so a refusal upstream
(or a failed admission here) reaches the client as an HTTP answer when the server
supports the ASGI denial-response extension, and as a close before accept otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from http import HTTPStatus

import aiohttp
import structlog
from starlette.types import Receive, Scope, Send
from yarl import URL

from spotilike.gateway.balancing import Lease
from spotilike.gateway.proxy.admission import Admission, split_query_token
from spotilike.gateway.proxy.headers import RequestHead, request_headers
from spotilike.gateway.proxy.http import upstream_target
from spotilike.gateway.proxy.upstreams import Upstreams
from spotilike.gateway.routing import Route
from spotilike.kit.errors import PROBLEM_CONTENT_TYPE, Problem, problem_document
from spotilike.kit.http import CircuitOpenError, Permit

__all__ = ["WebSocketForwarder", "deny"]

_log = structlog.get_logger(__name__)

_POLICY_VIOLATION = 1008
_MESSAGE_TOO_BIG = 1009


async def deny(scope: Scope, send: Send, problem: Problem) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps(
            problem_document(
                status=problem.status,
                code=problem.code,
                detail=problem.detail,
                title=problem.title,
                instance=scope["path"],
            )
        ).encode()
        headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()]
        await send(
            {"type": "websocket.http.response.start", "status": problem.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": _POLICY_VIOLATION})


class WebSocketForwarder:
    def __init__(self, upstreams: Upstreams, admission: Admission) -> None:
        self._upstreams = upstreams
        self._admission = admission
        self._max_message = upstreams.settings.websocket_max_message_bytes

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, route: Route, head: RequestHead
    ) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        try:
            upstream, lease, permit = await self._connect(scope, route, head)
        except Problem as problem:
            await deny(scope, send, problem)
            return
        try:
            await send(
                {"type": "websocket.accept", "subprotocol": upstream.protocol, "headers": []}
            )
            await self._pump(receive, send, upstream)
        finally:
            await upstream.close()
            lease.release()
            permit.release()

    async def _connect(
        self, scope: Scope, route: Route, head: RequestHead
    ) -> tuple[aiohttp.ClientWebSocketResponse, Lease, Permit]:
        admitted = await self._admission.admit(scope, route, head, websocket=True)
        service = route.service
        try:
            permit = self._upstreams.breaker(service).acquire()
        except CircuitOpenError:
            raise Problem(
                f"The {service} service is failing; the gateway is not calling it for now.",
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                code="upstream-unavailable",
            ) from None
        lease = self._upstreams.balancer.acquire(service)
        if lease is None:
            permit.release()
            raise Problem(
                f"No instance of the {service} service is known.",
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                code="no-upstream-instance",
            )
        headers = request_headers(
            scope["headers"],
            facts=admitted.facts,
            request_id=scope.get("state", {}).get("request_id"),
            identity=admitted.identity,
            connection_tokens=head.connection_tokens,
            websocket=True,
        )
        target, query_token = _without_query_token(upstream_target(scope, route))
        if query_token is not None and head.authorization is None:
            headers.append((b"Authorization", b"Bearer " + query_token.encode("latin-1")))
        url = URL(lease.upstream.base_url + target, encoded=True)
        try:
            async with asyncio.timeout(route.timeout_seconds):
                upstream = await self._upstreams.session().ws_connect(
                    url,
                    headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
                    protocols=tuple(scope.get("subprotocols", ())),
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                    max_msg_size=self._max_message,
                    autoping=True,
                )
        except TimeoutError:
            permit.failure()
            lease.failure()
            raise Problem(
                f"The {service} service did not complete the WebSocket handshake within "
                f"{route.timeout_seconds:g} s.",
                status=HTTPStatus.GATEWAY_TIMEOUT,
                code="upstream-timeout",
            ) from None
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status < 500:
                permit.success()
                lease.success()
            else:
                permit.failure()
                lease.failure()
            raise Problem(
                f"The {service} service refused the WebSocket ({exc.status}).",
                status=exc.status if 400 <= exc.status < 600 else HTTPStatus.BAD_GATEWAY,
                code="websocket-refused",
            ) from None
        except (aiohttp.ClientError, OSError):
            permit.failure()
            lease.failure()
            raise Problem(
                f"The {service} service could not be reached.",
                status=HTTPStatus.BAD_GATEWAY,
                code="upstream-unreachable",
            ) from None
        permit.success()
        lease.success()
        return upstream, lease, permit

    async def _pump(
        self, receive: Receive, send: Send, upstream: aiohttp.ClientWebSocketResponse
    ) -> None:
        async def client_to_upstream() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    await upstream.close(code=message.get("code", 1000))
                    return
                text: str | None = message.get("text")
                data: bytes | None = message.get("bytes")
                if _too_big(text, data, self._max_message):
                    # The client hears first: once the upstream is closed, the other
                    # direction would pass on the upstream's own close code.
                    await send({"type": "websocket.close", "code": _MESSAGE_TOO_BIG})
                    await upstream.close(code=_MESSAGE_TOO_BIG)
                    return
                if text is not None:
                    await upstream.send_str(text)
                elif data is not None:
                    await upstream.send_bytes(data)

        async def upstream_to_client() -> None:
            async for message in upstream:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await send({"type": "websocket.send", "text": message.data})
                elif message.type is aiohttp.WSMsgType.BINARY:
                    await send({"type": "websocket.send", "bytes": message.data})
                elif message.type is aiohttp.WSMsgType.ERROR:
                    break
            code = upstream.close_code or 1000
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": code})

        tasks = [
            asyncio.create_task(client_to_upstream()),
            asyncio.create_task(upstream_to_client()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                _log.info("websocket_ended", error=type(task.exception()).__name__)


def _too_big(text: str | None, data: bytes | None, limit: int) -> bool:
    """Whether a message is over ``limit`` bytes. Text is only encoded when its length
    leaves doubt (UTF-8 takes one to four bytes a character), sparing a copy of every
    ordinary message."""
    if text is None:
        return len(data or b"") > limit
    if len(text) > limit:
        return True
    return len(text) * 4 > limit and len(text.encode()) > limit


def _without_query_token(target: str) -> tuple[str, str | None]:
    """The target without its ``access_token`` query parameter, and that token.

    Browsers can only put a WebSocket's token in the query (admission reads it there); it
    goes upstream as an Authorization header instead, so it stays out of the upstream's
    request line and the logs that record one.
    """
    path, separator, query = target.partition("?")
    if not separator:
        return target, None
    kept, token = split_query_token(query)
    return (path + "?" + kept if kept else path), token
