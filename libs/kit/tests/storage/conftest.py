"""Fixtures for the object storage tests.

``moto_s3`` is the session's moto server (the ``moto_server`` fixture of the project's
pytest plugins) with an aiobotocore session; ``s3_bucket`` and ``s3_storage`` build on it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uuid_utils
from aiobotocore.session import get_session

from spotilike.kit.storage import FilesystemStorage, ObjectStorage, S3Storage
from spotilike.tools.moto_server import MotoServer

# storagesupport sits beside this file; importlib mode puts no test folder on sys.path.
sys.path.insert(0, str(Path(__file__).parent))
from storagesupport import MotoS3


@pytest.fixture(scope="session")
def moto_s3(moto_server: MotoServer) -> MotoS3:
    return MotoS3(
        endpoint_url=moto_server.endpoint_url,
        session=get_session(),
        access_key=moto_server.access_key,
        secret_key=moto_server.secret_key,
    )


@pytest.fixture
async def s3_bucket(moto_s3: MotoS3) -> str:
    """A new, empty bucket for one test."""
    name = f"test-{uuid_utils.uuid7().hex}"
    async with moto_s3.client() as client:
        await client.create_bucket(Bucket=name)
    return name


@pytest.fixture
async def s3_storage(moto_s3: MotoS3, s3_bucket: str) -> AsyncIterator[S3Storage]:
    storage = S3Storage(
        s3_bucket,
        endpoint_url=moto_s3.endpoint_url,
        access_key=moto_s3.access_key,
        secret_key=moto_s3.secret_key,
        session=moto_s3.session,
    )
    yield storage
    await storage.aclose()


@pytest.fixture(
    params=[
        pytest.param("filesystem", marks=pytest.mark.unit),
        pytest.param("s3", marks=pytest.mark.integration),
    ]
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """Each backend in turn, for the tests every adapter must pass."""
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "storage")
    s3: S3Storage = request.getfixturevalue("s3_storage")
    return s3
