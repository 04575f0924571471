"""The registration body, validated before anything reaches Valkey.

Eureka accepts whatever a registrant sends and serves it back to every client; here the
body is bounded and checked field by field, because what a registrant writes ends up in
every other service's routing table (hosts and ports) and in XML documents (where control
characters are not even representable). Unknown fields are dropped, not stored.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from yarl import URL

from spotilike.kit.discovery import InstanceStatus

__all__ = [
    "APP_NAME_PATTERN",
    "INSTANCE_ID_PATTERN",
    "InstanceIn",
    "RegistrationIn",
]

APP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$"
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_VIP = r"^[A-Za-z0-9._,:-]{0,255}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _host(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("must be an IP address or a DNS host name")
    return value


def _url(value: str) -> str:
    if value == "":
        return value
    if _CONTROL.search(value) or " " in value:
        raise ValueError("must not contain spaces or control characters")
    url = URL(value)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _flag(value: Any) -> Any:
    """Eureka sends booleans as the strings ``"true"``/``"false"``."""
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, bool):
        # pydantic would take it as 0 or 1.
        raise ValueError("a timestamp is a number of milliseconds, not a boolean")  # noqa: TRY004 - pydantic reports ValueErrors
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _status(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Host = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_host)]
Url = Annotated[str, Field(max_length=2048), AfterValidator(_url)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Status = Annotated[InstanceStatus, BeforeValidator(_status)]
Timestamp = Annotated[int, BeforeValidator(_timestamp), Field(ge=0, le=2**53)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=2048)


class PortIn(_Body):
    number: int = Field(validation_alias=AliasChoices("$", "number"), ge=0, le=65535)
    enabled: Flag = Field(default=True, validation_alias=AliasChoices("@enabled", "enabled"))

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, value: Any) -> Any:
        # Some clients send ``"port": 8080`` rather than the XStream object.
        if isinstance(value, int | str):
            return {"$": value}
        return value


class LeaseInfoIn(_Body):
    renewalIntervalInSecs: int = Field(default=30, ge=1, le=3600)  # noqa: N815 - Eureka's name
    durationInSecs: int | None = Field(default=None, ge=1, le=86_400)  # noqa: N815


class DataCenterInfoIn(_Body):
    class_name: str = Field(
        default="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
        validation_alias=AliasChoices("@class", "class"),
        pattern=r"^[A-Za-z0-9_.$]{1,200}$",
    )
    name: str = Field(default="MyOwn", pattern=r"^[A-Za-z0-9_-]{1,32}$")


class InstanceIn(_Body):
    """Eureka's ``InstanceInfo`` as registrants send it, in its JSON rendering."""

    instanceId: str | None = Field(default=None, pattern=INSTANCE_ID_PATTERN)  # noqa: N815
    app: str = Field(pattern=APP_NAME_PATTERN)
    hostName: Host  # noqa: N815
    ipAddr: Host | None = None  # noqa: N815
    vipAddress: str | None = Field(default=None, pattern=_VIP)  # noqa: N815
    secureVipAddress: str | None = Field(default=None, pattern=_VIP)  # noqa: N815
    appGroupName: str | None = Field(default=None, pattern=APP_NAME_PATTERN)  # noqa: N815
    asgName: str | None = Field(default=None, pattern=APP_NAME_PATTERN)  # noqa: N815
    status: Status = InstanceStatus.UP
    overriddenStatus: Status = Field(  # noqa: N815
        default=InstanceStatus.UNKNOWN,
        validation_alias=AliasChoices("overriddenStatus", "overriddenstatus"),
    )
    port: PortIn = Field(default_factory=lambda: PortIn(number=7001))
    securePort: PortIn = Field(  # noqa: N815
        default_factory=lambda: PortIn(number=7002, enabled=False)
    )
    homePageUrl: Url = ""  # noqa: N815
    statusPageUrl: Url = ""  # noqa: N815
    healthCheckUrl: Url = ""  # noqa: N815
    secureHealthCheckUrl: Url = ""  # noqa: N815
    countryId: int = Field(default=1, ge=0, le=1000)  # noqa: N815
    dataCenterInfo: DataCenterInfoIn = Field(default_factory=DataCenterInfoIn)  # noqa: N815
    leaseInfo: LeaseInfoIn = Field(default_factory=LeaseInfoIn)  # noqa: N815
    metadata: dict[str, str] = Field(default_factory=dict, max_length=64)
    isCoordinatingDiscoveryServer: Flag = False  # noqa: N815
    lastDirtyTimestamp: Timestamp | None = None  # noqa: N815

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_scalars(cls, value: Any) -> Any:
        # Eureka's JSON marks an empty map with "@class"; values may be numbers or booleans.
        # An empty XML element (``<metadata/>``) reads as "".
        if value == "":
            return {}
        if not isinstance(value, dict):
            return value
        return {
            key: str(item).lower() if isinstance(item, bool) else str(item)
            for key, item in value.items()
            if key != "@class" and isinstance(item, str | int | float | bool)
        }

    @field_validator("metadata")
    @classmethod
    def _metadata_safe(cls, value: dict[str, str]) -> dict[str, str]:
        # Keys become XML element names in the XML rendering.
        for key, item in value.items():
            if not _METADATA_KEY.match(key):
                raise ValueError(f"metadata key {key[:64]!r} is not a valid name")
            if len(item) > 1024 or _CONTROL.search(item):
                raise ValueError(f"metadata value of {key!r} is too long or has control chars")
        return value

    @property
    def effective_id(self) -> str:
        """Eureka's default for a data center without ids: the host name."""
        return self.instanceId or self.hostName


class RegistrationIn(_Body):
    model_config = ConfigDict(extra="forbid")

    instance: InstanceIn
