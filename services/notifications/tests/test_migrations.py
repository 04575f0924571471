"""The migrations build exactly the tables the models describe, and come down again."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from notifications_support import MIGRATIONS, fetch
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from spotilike.kit.migrations import alembic_config
from spotilike.notifications.models import Base
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _schema_differences(database: ScratchDatabase) -> list[object]:
    engine = create_async_engine(database.primary_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences)
    finally:
        await engine.dispose()


async def _tables(database: ScratchDatabase) -> set[str]:
    rows = await fetch(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


def test_the_migrated_schema_matches_the_models_and_downgrades_cleanly(
    notifications_database: ScratchDatabase,
) -> None:
    # Synchronous: Alembic's env runs its own event loop.
    assert asyncio.run(_schema_differences(notifications_database)) == []
    assert {"emails", "recipients", "outbox", "processed_events"} <= asyncio.run(
        _tables(notifications_database)
    )
    config = alembic_config(MIGRATIONS, notifications_database.primary_url)
    command.downgrade(config, "base")
    assert asyncio.run(_tables(notifications_database)) == {"alembic_version"}
    command.upgrade(config, "head")
    assert asyncio.run(_schema_differences(notifications_database)) == []
