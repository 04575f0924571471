"""The migrations build exactly the tables the models describe."""

import pytest

from spotilike.streaming.models import Base
from spotilike.tools.probes import schema_drift
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


async def test_the_migrated_schema_matches_the_models(
    streaming_database: ScratchDatabase,
) -> None:
    assert await schema_drift(streaming_database.primary_url, Base.metadata) == []
