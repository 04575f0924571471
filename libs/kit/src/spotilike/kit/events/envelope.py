"""The CloudEvents 1.0 envelope in Kafka binary content mode.

Binary mode keeps the event's attributes in Kafka headers (``ce_id``, ``ce_type``, ...)
and the ``data`` alone in the message value, so a consumer can route and deduplicate
without parsing the payload, and the payload stays plain JSON for any other tool.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import uuid_utils.compat as uuid_compat
from pydantic import ValidationError

from spotilike.contracts import EventData, event_model_for

__all__ = ["CloudEvent", "InvalidEventError", "new_event_id"]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type")


class InvalidEventError(ValueError):
    """A message that can never be processed, however often it is retried."""


def new_event_id() -> UUID:
    """A UUIDv7: time-ordered, so ids sort roughly by creation and index well."""
    return uuid_compat.uuid7()


@dataclass(frozen=True)
class CloudEvent:
    id: UUID
    type: str
    source: str
    time: datetime
    data: bytes
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)
    """Extension attributes, e.g. ``traceparent`` and ``requestid``."""

    @classmethod
    def create(
        cls,
        payload: EventData,
        *,
        source: str,
        subject: str | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> CloudEvent:
        return cls(
            id=new_event_id(),
            type=payload.event_type(),
            source=source,
            time=datetime.now(UTC),
            data=payload.model_dump_json().encode(),
            subject=subject,
            extensions=dict(extensions or {}),
        )

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        headers.extend((f"ce_{name}", value.encode()) for name, value in self.extensions.items())
        return headers

    @classmethod
    def from_kafka(cls, headers: Iterable[tuple[str, bytes]], value: bytes | None) -> CloudEvent:
        attributes: dict[str, str] = {}
        for name, raw in headers:
            try:
                attributes[name.lower()] = raw.decode()
            except UnicodeDecodeError:
                raise InvalidEventError(f"header {name!r} is not UTF-8") from None
        missing = [name for name in _REQUIRED if name not in attributes]
        if missing:
            raise InvalidEventError(f"not a CloudEvent: missing headers {', '.join(missing)}")
        if attributes["ce_specversion"] != SPEC_VERSION:
            raise InvalidEventError(f"unsupported specversion {attributes['ce_specversion']!r}")
        try:
            event_id = UUID(attributes["ce_id"])
            time = (
                datetime.fromisoformat(attributes["ce_time"])
                if "ce_time" in attributes
                else datetime.now(UTC)
            )
        except ValueError as exc:
            raise InvalidEventError(f"bad CloudEvent attribute: {exc}") from None
        known = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"}
        extensions = {
            name.removeprefix("ce_"): text
            for name, text in attributes.items()
            if name.startswith("ce_") and name not in known
        }
        return cls(
            id=event_id,
            type=attributes["ce_type"],
            source=attributes["ce_source"],
            time=time,
            data=value or b"",
            subject=attributes.get("ce_subject"),
            extensions=extensions,
        )

    def payload(self) -> EventData:
        """Parses ``data`` into the registered model for this event's type."""
        try:
            model = event_model_for(self.type)
        except KeyError as exc:
            raise InvalidEventError(str(exc)) from None
        try:
            return model.model_validate_json(self.data)
        except ValidationError as exc:
            raise InvalidEventError(f"{self.type} payload is invalid: {exc}") from None
