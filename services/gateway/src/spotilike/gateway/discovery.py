"""Instances from the registry, through the kit's :class:`InstanceDirectory`.

The directory answers from memory (refreshed in the background, last good view kept), so
asking it on every request costs a dict lookup. A service the registry knows nothing of
falls back to its static URLs (see :class:`~spotilike.gateway.balancing.FallbackInstances`).
"""

from __future__ import annotations

from collections.abc import Sequence

from spotilike.gateway.balancing import Upstream
from spotilike.kit.discovery import InstanceDirectory

__all__ = ["RegistryInstances"]


class RegistryInstances:
    """The UP instances of a service, by its app name in the registry (``service`` upper-cased:
    the kit registers each service under its ``service_name``)."""

    def __init__(self, directory: InstanceDirectory) -> None:
        self._directory = directory
        self._cache: dict[str, tuple[list[object], tuple[Upstream, ...]]] = {}

    def instances(self, service: str) -> Sequence[Upstream]:
        found = self._directory.instances(service)
        cached = self._cache.get(service)
        # The directory swaps whole views; equal lists mean nothing to rebuild.
        if cached is not None and cached[0] == found:
            return cached[1]
        upstreams = tuple(Upstream(i.instance_id, i.base_url) for i in found)
        self._cache[service] = (list(found), upstreams)
        return upstreams
