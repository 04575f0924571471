"""Spotilike's contracts: the Kafka topic registry and the versioned event payloads.

This is the only code services share about each other. It depends on nothing but Pydantic.
"""

from spotilike.contracts import events
from spotilike.contracts.events import EVENT_MODELS, EventData, event_model_for
from spotilike.contracts.topics import DLQ_SUFFIX, TOPICS, Topic, topic

__all__ = [
    "DLQ_SUFFIX",
    "EVENT_MODELS",
    "TOPICS",
    "EventData",
    "Topic",
    "event_model_for",
    "events",
    "topic",
]
