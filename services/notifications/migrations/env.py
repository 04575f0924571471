"""Alembic environment of the notification service: ``spotilike migrate notifications``."""

from spotilike.kit.migrations import run_env
from spotilike.notifications.models import Base

run_env(Base.metadata)
