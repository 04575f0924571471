"""The migrations build exactly the tables the models describe."""

import pytest

from spotilike.catalog.models import Base
from spotilike.tools.probes import schema_drift
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


async def test_the_migrated_schema_matches_the_models(catalog_database: ScratchDatabase) -> None:
    assert await schema_drift(catalog_database.primary_url, Base.metadata) == []
