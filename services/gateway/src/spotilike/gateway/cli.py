"""``spotilike gateway …``: running the gateway."""

from __future__ import annotations

import typer

from spotilike.gateway.server import serve as serve_gateway
from spotilike.gateway.settings import GatewaySettings

__all__ = ["app"]

app = typer.Typer(help="The gateway service.", no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """The gateway: the platform's single entry point (settings from SPOTILIKE_GATEWAY_*)."""


@app.command()
def serve() -> None:
    """Serve the gateway (host, port, routes and upstreams from SPOTILIKE_GATEWAY_*).

    Under uvicorn with the gateway's own HTTP/1.1 protocol (``server/``, which says why)
    in ``SPOTILIKE_GATEWAY_WORKERS`` processes. It does not rewrite the client address
    from X-Forwarded-For (the gateway needs the real peer to build the forwarding chain,
    and resolves the client itself against ``SPOTILIKE_GATEWAY_TRUSTED_PROXIES``) and
    sends no Server header.
    """
    serve_gateway(GatewaySettings())
