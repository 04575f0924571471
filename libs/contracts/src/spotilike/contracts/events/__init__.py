"""Versioned payloads of every Spotilike event; importing this package registers them all."""

from spotilike.contracts.events.base import EVENT_MODELS, EventData, event_model_for
from spotilike.contracts.events.catalog import *  # noqa: F403
from spotilike.contracts.events.library import *  # noqa: F403
from spotilike.contracts.events.media import *  # noqa: F403
from spotilike.contracts.events.notifications import *  # noqa: F403
from spotilike.contracts.events.playback import *  # noqa: F403
from spotilike.contracts.events.users import *  # noqa: F403

__all__ = ["EVENT_MODELS", "EventData", "event_model_for"]
