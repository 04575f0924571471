"""Settings of the catalog service (environment prefix ``SPOTILIKE_CATALOG_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["CatalogSettings"]


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTILIKE_CATALOG_", extra="ignore", frozen=True)

    service_name: str = "catalog"
    port: int = Field(default=8102, ge=1, le=65535)
    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/catalog"
    database_replica_url: str | None = "postgresql+asyncpg://spotilike@127.0.0.1:55433/catalog"

    page_cache_seconds: float = Field(default=300.0, gt=0, le=3600)
    """How long album and artist pages stay in Valkey; every write invalidates them."""
    default_page_size: int = Field(default=20, ge=1, le=100)
    max_page_size: int = Field(default=100, ge=1, le=500)
    top_tracks_on_artist_page: int = Field(default=10, ge=1, le=50)
    import_max_rows: int = Field(default=5000, ge=1, le=100_000)
    import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
