"""The registry's use cases."""

from spotilike.discovery.service.registry import Registry

__all__ = ["Registry"]
