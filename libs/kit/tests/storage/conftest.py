"""Fixtures for the object storage tests.

``moto_s3`` runs moto's S3 server as a child process on 127.0.0.1 (a free port) for
the whole session, so its memory and threads stay out of the test process. With
``MotoS3`` from ``storagesupport.py`` it can move to the project's pytest plugin as it
is; ``s3_bucket`` and ``s3_storage`` build on it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uuid_utils
from aiobotocore.session import get_session

from spotilike.kit.storage import FilesystemStorage, ObjectStorage, S3Storage

# storagesupport sits beside this file; importlib mode puts no test folder on sys.path.
sys.path.insert(0, str(Path(__file__).parent))
from storagesupport import MotoS3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer on {url} within 30 s; see {log}")


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, url, log)
        yield MotoS3(endpoint_url=url, session=get_session())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
