"""``spotilike gateway …``: running the gateway."""

from __future__ import annotations

import typer
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

from spotilike.gateway.settings import GatewaySettings

__all__ = ["app"]

app = typer.Typer(help="The gateway service.", no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """The gateway: the platform's single entry point (settings from SPOTILIKE_GATEWAY_*)."""


@app.command()
def serve() -> None:
    """Serve the gateway (host, port, routes and upstreams from SPOTILIKE_GATEWAY_*).

    Under granian, not uvicorn like the other services: with its HTTP handling in Rust
    threads it proxied 29-61% more requests per process in three of four runs of
    bench/gateway_proxy.py (docs/benchmarks.md; on a busy machine it can lose), and every
    request of the platform passes here. It does not
    rewrite the client address from X-Forwarded-For (the gateway needs the real peer to
    build the forwarding chain, and resolves the client itself against
    ``SPOTILIKE_GATEWAY_TRUSTED_PROXIES``) and sends no Server header.
    """
    settings = GatewaySettings()
    Server(
        "spotilike.gateway.app:create_gateway_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=True,
        backlog=4096,
        http1_settings=HTTP1Settings(
            # Also how long an idle keep-alive connection waits for its next request.
            header_read_timeout=int(settings.keep_alive_seconds * 1000),
            keep_alive=True,
        ),
        log_level=LogLevels.warning,
        log_access=False,
    ).serve()
