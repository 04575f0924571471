"""The base of every event payload and the registry that maps event types to models."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["EVENT_MODELS", "EventData", "event_model_for"]


class EventData(BaseModel):
    """The ``data`` of one CloudEvent.

    ``extra="ignore"`` is what makes adding a field a compatible change: a consumer built
    against an older version reads a newer payload and simply does not see the new field.
    Removing or renaming a field needs a new class with ``version`` bumped, published on
    the same topic beside the old one until every consumer has moved.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "topic" in cls.__dict__:
            key = cls.event_type()
            if key in EVENT_MODELS:
                raise TypeError(f"event type {key} is declared twice")
            EVENT_MODELS[key] = cls

    @classmethod
    def event_type(cls) -> str:
        """The CloudEvents ``type``: the topic plus the schema version, e.g. ``user.deleted.v1``."""
        return f"{cls.topic}.v{cls.version}"


EVENT_MODELS: dict[str, type[EventData]] = {}


def event_model_for(event_type: str) -> type[EventData]:
    try:
        return EVENT_MODELS[event_type]
    except KeyError:
        raise KeyError(f"no event model is registered for type {event_type!r}") from None
