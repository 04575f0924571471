"""Helpers shared by the storage tests: stream builders and the moto server's coordinates."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

ACCESS_KEY = "moto-access-key"
SECRET_KEY = "moto-secret-key"


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    session: AioSession
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self) -> Any:
        """A raw aiobotocore client, for setting up and inspecting what the adapter did."""
        return self.session.create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=AioConfig(s3={"addressing_style": "path"}),
        )


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def pattern(length: int, seed: int = 0) -> bytes:
    """Deterministic bytes whose every offset differs from its neighbours, to catch shifts."""
    block = hashlib.sha256(str(seed).encode()).digest() + bytes(range(256))
    repeated = block * (length // len(block) + 1)
    return repeated[:length]


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())
