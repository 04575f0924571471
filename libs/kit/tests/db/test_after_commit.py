import pytest
from sqlalchemy import text

from spotilike.kit.db import Database, after_commit
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


async def test_hooks_run_after_a_commit_and_never_after_a_rollback(
    fresh_database: ScratchDatabase,
) -> None:
    database = Database(primary_url=fresh_database.primary_url)
    ran: list[str] = []

    async def record(name: str) -> None:
        ran.append(name)

    try:
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            after_commit(session, lambda: record("committed"))
            assert ran == []  # not before the commit
        with pytest.raises(RuntimeError):
            async with database.transaction() as session:
                after_commit(session, lambda: record("rolled back"))
                raise RuntimeError("the use case failed")

        async def broken() -> None:
            raise ValueError("the cache is away")

        async with database.transaction() as session:
            after_commit(session, broken)
            after_commit(session, lambda: record("after a failing hook"))
    finally:
        await database.dispose()
    assert ran == ["committed", "after a failing hook"]
