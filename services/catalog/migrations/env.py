"""Alembic environment of the catalog service: ``spotilike migrate catalog``."""

from spotilike.catalog.models import Base
from spotilike.kit.migrations import run_env

run_env(Base.metadata)
