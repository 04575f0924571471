"""Alembic environment of the users service: ``spotilike migrate users``."""

from spotilike.kit.migrations import run_env
from spotilike.users.models import Base

run_env(Base.metadata)
