"""Serving the gateway: uvicorn with the gateway's own HTTP/1.1 protocol
(``connection.py``, which says why)."""

from __future__ import annotations

import functools
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from spotilike.gateway.server.connection import GatewayHttpProtocol
from spotilike.gateway.server.workers import run_workers
from spotilike.gateway.settings import GatewaySettings

__all__ = ["GatewayHttpProtocol", "serve"]


def serve(settings: GatewaySettings) -> None:
    """Serves the gateway in ``settings.workers`` processes (``workers.py``)."""
    config = uvicorn.Config(
        "spotilike.gateway.app:create_gateway_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=functools.partial(GatewayHttpProtocol, max_head_bytes=settings.max_header_bytes),  # type: ignore[arg-type]
        ws="websockets-sansio",
        # uvicorn's WebSocket protocol assembles each message before the gateway sees it:
        # bounded here, so a message over the limit never takes more memory than that.
        ws_max_size=settings.websocket_max_message_bytes,
        lifespan="on",
        # The gateway resolves the client itself (clientip.py) and needs the real peer.
        proxy_headers=False,
        server_header=False,
        date_header=True,
        access_log=False,
        log_config=None,
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]
    )
    if settings.workers > 1:
        run_workers(config, settings.workers)
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
