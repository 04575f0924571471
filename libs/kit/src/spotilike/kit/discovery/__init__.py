"""Service discovery through the Eureka-compatible registry (``spotilike.discovery``).

- :class:`ServiceRegistration`: a service registering itself, renewing and cancelling;
  ``create_app`` runs one when the settings have ``discovery_url``.
- :class:`InstanceDirectory`: a background-refreshed, in-memory view of the registry for
  callers that choose an instance per request (the gateway).
"""

from spotilike.kit.discovery.directory import InstanceDirectory
from spotilike.kit.discovery.instances import (
    InstanceStatus,
    MalformedRegistryAnswerError,
    ServiceInstance,
    discovery_base_url,
    parse_applications,
)
from spotilike.kit.discovery.registration import InstanceRegistration, ServiceRegistration

__all__ = [
    "InstanceDirectory",
    "InstanceRegistration",
    "InstanceStatus",
    "MalformedRegistryAnswerError",
    "ServiceInstance",
    "ServiceRegistration",
    "discovery_base_url",
    "parse_applications",
]
