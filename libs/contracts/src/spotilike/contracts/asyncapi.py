"""The AsyncAPI 3.0 document of every topic, built from the registry and the event models.

``spotilike contracts asyncapi`` writes it to docs/asyncapi.json; a test fails when the
committed file no longer matches the code, so the document cannot drift.
"""

from __future__ import annotations

from typing import Any

from spotilike.contracts.compatibility import current_schemas
from spotilike.contracts.events.base import EVENT_MODELS
from spotilike.contracts.topics import TOPICS

__all__ = ["build_document"]

_CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary content mode.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid", "description": "UUIDv7, unique per event"},
        "ce_source": {"type": "string", "description": "the producing service"},
        "ce_type": {"type": "string", "description": "<topic>.v<schema version>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string"},
        "ce_traceparent": {"type": "string", "description": "W3C trace context"},
        "ce_requestid": {"type": "string"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_")


def build_document() -> dict[str, Any]:
    schemas = current_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, schema in schemas.items():
        model = EVENT_MODELS[event_type]
        messages[_message_name(event_type)] = {
            "name": event_type,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().split("\n")[0] or event_type,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": schema,
        }
    for topic in TOPICS:
        channel_id = topic.name.replace(".", "_")
        channel_messages = {
            _message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"}
            for t in schemas
            if EVENT_MODELS[t].topic == topic.name
        }
        channels[channel_id] = {
            "address": topic.name,
            "description": f"Keyed by {topic.key}; produced by {topic.owner}.",
            "messages": channel_messages,
            "bindings": {"kafka": {"partitions": topic.partitions, "replicas": 1}},
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{topic.owner} publishes through its transactional outbox",
            "messages": [
                {"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in channel_messages
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Spotilike events",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of the platform. Dead letters of a topic go to "
                "<topic>.dlq with the original headers plus dlq_error, dlq_attempts, "
                "dlq_source_topic, dlq_source_partition, dlq_source_offset, dlq_consumer."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:59092",
                "protocol": "kafka",
                "description": "the local stack",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": _CLOUDEVENT_HEADERS}},
    }
