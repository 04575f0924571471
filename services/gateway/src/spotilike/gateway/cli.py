"""``spotilike gateway …``: running the gateway."""

from __future__ import annotations

import typer
import uvicorn

from spotilike.gateway.settings import GatewaySettings

__all__ = ["app"]

app = typer.Typer(help="The gateway service.", no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """The gateway: the platform's single entry point (settings from SPOTILIKE_GATEWAY_*)."""


@app.command()
def serve() -> None:
    """Serve the gateway (host, port, routes and upstreams from SPOTILIKE_GATEWAY_*).

    Not the kit's ``serve``: that lets uvicorn rewrite the client address from
    X-Forwarded-For, and the gateway needs the real peer to build the forwarding chain and
    resolves the client itself against ``SPOTILIKE_GATEWAY_TRUSTED_PROXIES``.
    """
    settings = GatewaySettings()
    uvicorn.run(
        "spotilike.gateway.app:create_gateway_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=True,
        timeout_keep_alive=int(max(1, settings.keep_alive_seconds)),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        ws_max_size=settings.websocket_max_message_bytes,
        backlog=4096,
    )
