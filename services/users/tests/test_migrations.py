"""The migrations build exactly the tables the models describe."""

import pytest

from spotilike.tools.probes import schema_drift
from spotilike.tools.pytest_plugin import ScratchDatabase
from spotilike.users.models import Base

pytestmark = pytest.mark.integration


async def test_the_migrated_schema_matches_the_models(users_database: ScratchDatabase) -> None:
    assert await schema_drift(users_database.primary_url, Base.metadata) == []
