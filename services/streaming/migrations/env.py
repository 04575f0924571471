"""Alembic environment of the streaming service: ``spotilike migrate streaming``."""

from spotilike.kit.migrations import run_env
from spotilike.streaming.models import Base

run_env(Base.metadata)
