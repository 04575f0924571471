"""Object storage for the services: one port, a local filesystem adapter and an S3 one.

:class:`ObjectStorage` is the port; :class:`FilesystemStorage` (the local default) and
:class:`S3Storage` (Cloudflare R2, S3, MinIO) implement it, and
:func:`storage_from_url` picks one from a ``file://`` or ``s3://`` URL. Reads and writes
stream in chunks; keys are checked the same way everywhere (:mod:`.keys`).

Publishing a set of objects atomically (an HLS ladder under ``tracks/<id>/``): write
them under a staging prefix of their own (``staging/<job id>/``), then call
``publish_prefix(staging, final)``. The set becomes ``<final>/versions/<version>/`` and
``<final>/CURRENT`` is switched to it last, in one atomic single-object write; readers
call :meth:`ObjectStorage.resolve` (or :meth:`ObjectStorage.current_version` and
:func:`published_key`) and so see the previous complete set or the new one, never a mix.
A cleanup worker calls :meth:`ObjectStorage.prune_versions` to drop superseded versions
after a grace period, and ``delete_prefix`` for staging prefixes that were never
published. Details in :mod:`.publishing`.
"""

from __future__ import annotations

from spotilike.kit.storage.errors import (
    InvalidKey,
    NotFoundInStorage,
    RangeNotSatisfiable,
    StorageError,
)
from spotilike.kit.storage.factory import storage_from_url
from spotilike.kit.storage.filesystem import FilesystemStorage
from spotilike.kit.storage.keys import MAX_KEY_BYTES, guess_content_type, validate_key
from spotilike.kit.storage.port import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectStorage,
    ObjectStream,
    StoredObject,
)
from spotilike.kit.storage.publishing import POINTER_NAME, published_key
from spotilike.kit.storage.s3 import PART_SIZE, S3Storage

__all__ = [
    "CHUNK_SIZE",
    "MAX_KEY_BYTES",
    "PART_SIZE",
    "POINTER_NAME",
    "FilesystemStorage",
    "InvalidKey",
    "NotFoundInStorage",
    "ObjectInfo",
    "ObjectStorage",
    "ObjectStream",
    "RangeNotSatisfiable",
    "S3Storage",
    "StorageError",
    "StoredObject",
    "guess_content_type",
    "published_key",
    "storage_from_url",
    "validate_key",
]
