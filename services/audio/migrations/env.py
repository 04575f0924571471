"""Alembic environment of the audio service: ``spotilike migrate audio``."""

from spotilike.audio.models import Base
from spotilike.kit.migrations import run_env

run_env(Base.metadata)
