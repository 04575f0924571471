"""The registry's use cases and the eviction timer."""

from spotilike.discovery.service.evictor import Evictor
from spotilike.discovery.service.registry import Registry

__all__ = ["Evictor", "Registry"]
