"""`spotilike migrate` against the real primary: creates the database, upgrades, is idempotent."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from spotilike.kit.migrations import drop_database, upgrade
from spotilike.tools.cli import app
from spotilike.tools.stack.config import StackEndpoints

pytestmark = pytest.mark.integration

ENV_PY = """
from sqlalchemy import Column, Integer, MetaData, String, Table

from spotilike.kit.events import messaging_tables
from spotilike.kit.db import service_metadata
from spotilike.kit.migrations import run_env

metadata = service_metadata()
Table("songs", metadata, Column("id", Integer, primary_key=True), Column("title", String(50)))
messaging_tables(metadata)
run_env(metadata)
"""

FIRST = '''
"""songs"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "songs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(50)),
    )


def downgrade() -> None:
    op.drop_table("songs")
'''


def _migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV_PY)
    (folder / "versions" / "0001_songs.py").write_text(FIRST)
    return folder


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


@pytest.fixture
def database_name(stack: StackEndpoints) -> str:
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    yield name
    base = stack.postgres_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    asyncio.run(drop_database(f"{base}/{name}"))


def test_upgrade_creates_the_database_and_is_idempotent(
    tmp_path: Path, stack: StackEndpoints, database_name: str
) -> None:
    folder = _migrations(tmp_path)
    base = stack.postgres_dsn.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+asyncpg://") + "/" + database_name

    upgrade(folder, url)
    upgrade(folder, url)

    dsn = f"{base}/{database_name}"
    versions = asyncio.run(_fetch(dsn, "SELECT version_num FROM alembic_version"))
    assert [row["version_num"] for row in versions] == ["0001"]
    tables = asyncio.run(_fetch(dsn, "SELECT tablename FROM pg_tables WHERE schemaname='public'"))
    assert {"songs", "alembic_version"} <= {row["tablename"] for row in tables}


def test_the_cli_migrates_a_named_service(
    tmp_path: Path, stack: StackEndpoints, database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _migrations(tmp_path)
    base = stack.postgres_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    monkeypatch.setenv("SPOTILIKE_DEMO_DATABASE_URL", f"{base}/{database_name}")
    result = CliRunner().invoke(app, ["migrate", "demo", "--migrations", str(folder)])
    assert result.exit_code == 0, result.output
    assert "demo: database at head" in result.output


def test_a_folder_without_env_py_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"has no env\.py"):
        upgrade(tmp_path, "postgresql+asyncpg://spotilike@127.0.0.1:1/x")


def test_an_unknown_service_names_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["migrate", "nosuchservice"])
    assert result.exit_code != 0
    assert "no service 'nosuchservice'" in str(result.exception)
