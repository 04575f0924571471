"""What the registry holds: leases, and the recent changes that make up the delta.

Plain records, not tables: the registry keeps its state in Valkey only (see
:mod:`spotilike.discovery.repository`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spotilike.kit.discovery import InstanceStatus

__all__ = ["ActionType", "Change", "Lease", "RegistryView"]


class ActionType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Lease:
    """One registered instance. Timestamps are epoch milliseconds on Valkey's clock.

    ``info`` is the instance document as registered, validated and reduced to the fields
    the registry serves back; status, lease and timestamps live beside it.
    """

    app: str
    instance_id: str
    info: dict[str, Any]
    status: InstanceStatus
    overridden_status: InstanceStatus
    registered_ms: int
    renewed_ms: int
    updated_ms: int
    up_ms: int
    dirty_ms: int
    duration_seconds: int
    action: ActionType

    @property
    def effective_status(self) -> InstanceStatus:
        """An operator's override wins over what the instance says about itself."""
        if self.overridden_status is InstanceStatus.UNKNOWN:
            return self.status
        return self.overridden_status


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the recent-changes log; ``info`` is kept for deletions only."""

    version: int
    action: ActionType
    app: str
    instance_id: str
    at_ms: int
    info: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RegistryView:
    """Every live lease at one moment, with the changes of the retention window."""

    version: int
    now_ms: int
    leases: list[Lease]
    changes: list[Change]
