"""Running a service's app under uvicorn, the same way for every service."""

from __future__ import annotations

import uvicorn

from spotilike.kit.settings import ServiceSettings

__all__ = ["serve"]


def serve(factory: str, settings: ServiceSettings) -> None:
    """Serves ``factory`` (``"package.module:function"``) on the settings' host and port.

    Proxy headers are honoured only from ``forwarded_allow_ips``, so the client address a
    service sees (for rate limits and risk checks) cannot be forged by a direct caller.
    """
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=settings.access_log,
        log_config=None,
        server_header=False,
    )
