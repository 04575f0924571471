"""Choosing the adapter from one setting: a storage URL.

- ``file:///var/lib/spotilike/storage`` — :class:`FilesystemStorage` rooted there (the
  path must be absolute; ``file://localhost/...`` is accepted too).
- ``s3://<bucket>?endpoint=<url>&region=<region>&addressing=<path|virtual|auto>`` —
  :class:`S3Storage`. ``endpoint`` is the S3 API URL (for R2
  ``https://<account>.r2.cloudflarestorage.com``; leave it out for AWS), ``region``
  defaults to ``auto`` and ``addressing`` to ``path``.

Credentials never go in the URL (URLs end up in logs and config dumps): a service reads
them from its own secret settings and passes them in, or leaves them out for botocore's
default chain.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from spotilike.kit.storage.filesystem import FilesystemStorage
from spotilike.kit.storage.port import ObjectStorage
from spotilike.kit.storage.s3 import AddressingStyle, S3Storage

__all__ = ["storage_from_url"]

_S3_OPTIONS = frozenset({"endpoint", "region", "addressing"})
_ADDRESSING: dict[str, AddressingStyle] = {"path": "path", "virtual": "virtual", "auto": "auto"}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def storage_from_url(
    url: str, *, access_key: str | None = None, secret_key: str | None = None
) -> ObjectStorage:
    """The adapter a storage URL names; ``ValueError`` for anything else."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValueError("a storage URL must not carry credentials; pass them separately")
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"} or parts.query or parts.fragment:
            raise ValueError(f"a file storage URL is file:///absolute/path, not {url!r}")
        path = Path(unquote(parts.path))
        if not path.is_absolute():
            raise ValueError(f"a file storage URL needs an absolute path: {url!r}")
        return FilesystemStorage(path)
    if parts.scheme == "s3":
        return _s3_storage(url, access_key=access_key, secret_key=secret_key)
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r}: use file:// or s3://")


def _s3_storage(url: str, *, access_key: str | None, secret_key: str | None) -> S3Storage:
    parts = urlsplit(url)
    if not _BUCKET.fullmatch(parts.netloc) or parts.path not in {"", "/"} or parts.fragment:
        raise ValueError(f"an S3 storage URL is s3://bucket?endpoint=..., not {url!r}")
    options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    unknown = set(options) - _S3_OPTIONS
    if unknown:
        raise ValueError(f"unknown S3 storage URL options: {sorted(unknown)}")
    repeated = [name for name, values in options.items() if len(values) > 1]
    if repeated:
        raise ValueError(f"S3 storage URL options given twice: {sorted(repeated)}")
    single = {name: values[0] for name, values in options.items()}
    addressing = _ADDRESSING.get(single.get("addressing", "path"))
    if addressing is None:
        raise ValueError(f"addressing must be one of {sorted(_ADDRESSING)}")
    return S3Storage(
        parts.netloc,
        endpoint_url=single.get("endpoint") or None,
        region=single.get("region") or "auto",
        access_key=access_key,
        secret_key=secret_key,
        addressing_style=addressing,
    )
