"""Alembic, the same way for every service.

Each service keeps its own ``migrations/`` folder (``env.py`` + ``versions/``) next to its
``pyproject.toml``. Its ``env.py`` is two lines::

    from spotilike.catalog.models import Base
    from spotilike.kit.migrations import run_env

    run_env(Base.metadata)

and ``spotilike migrate <service>`` (or :func:`upgrade`) creates the service's database
when it does not exist yet and upgrades it to head. The URL travels through Alembic's
config (``sqlalchemy.url``), never through a module-level global.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["alembic_config", "drop_database", "ensure_database", "run_env", "upgrade"]


def alembic_config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _admin_connection_and_name(url: str) -> tuple[str, str]:
    """The maintenance-database DSN of ``url``'s server, and the database ``url`` names.

    The name is checked because CREATE/DROP DATABASE take no bind parameters.
    """
    parsed = make_url(url)
    name = parsed.database or ""
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid database name (lowercase, digits, _)")
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), name


async def ensure_database(url: str) -> bool:
    """Creates the database named in ``url`` on its server; True when it was created.

    Safe to call concurrently: losing a creation race counts as "it exists".
    """
    admin_dsn, name = _admin_connection_and_name(url)
    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await connection.close()


async def drop_database(url: str) -> None:
    """Drops the database named in ``url``, disconnecting its sessions; absent is fine."""
    admin_dsn, name = _admin_connection_and_name(url)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def upgrade(migrations_dir: Path, url: str, *, revision: str = "head") -> None:
    """Brings the database at ``url`` to ``revision``, creating the database if needed."""
    if not (migrations_dir / "env.py").is_file():
        raise FileNotFoundError(f"{migrations_dir} has no env.py: is it a migrations folder?")
    asyncio.run(ensure_database(url))
    command.upgrade(alembic_config(migrations_dir, url), revision)


def _run_sync(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; run migrations with `spotilike migrate`")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url, metadata))
