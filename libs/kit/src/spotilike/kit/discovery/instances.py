"""What a registry says about an instance, read from Eureka's ``GET /eureka/apps`` JSON.

Eureka's JSON is the XStream rendering of its Java objects, with quirks every client has
to tolerate: a list of one may arrive as a bare object, numbers may arrive as strings, and
ports are ``{"$": 8080, "@enabled": "true"}``. The parser below accepts all of those and
skips an entry it cannot make sense of rather than failing the whole view, so one odd
third-party registrant cannot blind the gateway to every other instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yarl import URL

__all__ = [
    "InstanceStatus",
    "MalformedRegistryAnswerError",
    "ServiceInstance",
    "discovery_base_url",
    "parse_applications",
    "redacted",
]


class MalformedRegistryAnswerError(ValueError):
    """The registry's answer is not an ``applications`` document."""


class InstanceStatus(StrEnum):
    """Eureka's ``InstanceStatus`` values; only UP instances receive traffic."""

    UP = "UP"
    DOWN = "DOWN"
    STARTING = "STARTING"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> InstanceStatus:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True, slots=True)
class ServiceInstance:
    """One registered instance.

    ``app`` is upper-case as Eureka keeps it. ``base_url`` is scheme, host and port with
    no trailing slash, built from ``hostName`` as Eureka's own clients do: the plain port
    when it is enabled, else the secure one (py-eureka-client's default order).
    """

    app: str
    instance_id: str
    base_url: str
    status: InstanceStatus


def discovery_base_url(discovery_url: str) -> str:
    """The registry's Eureka root (``.../eureka``) from a configured URL.

    Eureka clients are configured with the ``/eureka`` path included (``defaultZone``); a
    bare ``http://host:8761`` is accepted too and gets it appended. Userinfo (basic auth)
    is kept: the HTTP client sends it as the Authorization header.
    """
    url = URL(discovery_url)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(
            f"the discovery URL must be an absolute http(s) URL, got {discovery_url!r}"
        )
    path = url.path.rstrip("/")
    if not path:
        path = "/eureka"
    return str(url.with_path(path).with_query(None).with_fragment(None))


def redacted(url: str) -> str:
    """``url`` without its password, for logs."""
    return str(URL(url).with_password(None))


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _port(value: object) -> tuple[int | None, bool]:
    """A Eureka port object: its number and whether it is enabled."""
    if isinstance(value, Mapping):
        number, enabled = value.get("$"), str(value.get("@enabled", "true")).lower() == "true"
    else:
        number, enabled = value, True
    try:
        port = int(str(number))
    except ValueError:
        return None, False
    return (port, enabled) if 0 < port < 65536 else (None, False)


def _instance(app: str, raw: object) -> ServiceInstance | None:
    if not isinstance(raw, Mapping):
        return None
    host = raw.get("hostName") or raw.get("ipAddr")
    instance_id = raw.get("instanceId") or (f"{host}:{app}" if host else None)
    if not isinstance(host, str) or not host or not isinstance(instance_id, str):
        return None
    secure_port, secure_enabled = _port(raw.get("securePort"))
    port, port_enabled = _port(raw.get("port"))
    if port is not None and port_enabled:
        scheme, number = "http", port
    elif secure_port is not None and secure_enabled:
        scheme, number = "https", secure_port
    else:
        return None
    try:
        base_url = str(URL.build(scheme=scheme, host=host, port=number))
    except ValueError:
        return None
    return ServiceInstance(
        app=app,
        instance_id=instance_id,
        base_url=base_url,
        status=InstanceStatus.parse(raw.get("status")),
    )


def parse_applications(document: object) -> dict[str, list[ServiceInstance]]:
    """Instances by upper-case app name, every status, from a ``GET /eureka/apps`` body."""
    if not isinstance(document, Mapping):
        raise MalformedRegistryAnswerError(
            "the registry answered something that is not a JSON object"
        )
    applications = document.get("applications")
    if not isinstance(applications, Mapping):
        raise MalformedRegistryAnswerError("the registry's answer has no 'applications' object")
    view: dict[str, list[ServiceInstance]] = {}
    for application in _as_list(applications.get("application")):
        if not isinstance(application, Mapping) or not isinstance(application.get("name"), str):
            continue
        app = application["name"].upper()
        parsed = (_instance(app, raw) for raw in _as_list(application.get("instance")))
        view.setdefault(app, []).extend(item for item in parsed if item is not None)
    return view
