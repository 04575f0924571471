"""Eureka's documents (``applications``, ``application``, ``instance``) as plain dicts.

The shape is Eureka's JSON rendering (``{"$": 8080, "@enabled": "true"}`` ports,
``@class`` on ``dataCenterInfo``, timestamps as strings at instance level and numbers in
``leaseInfo``); the XML rendering is derived from it in :mod:`spotilike.discovery.api.codec`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from spotilike.discovery.models import ActionType, Change, Lease
from spotilike.kit.discovery import InstanceStatus

__all__ = [
    "application_document",
    "applications_document",
    "apps_hashcode",
    "deleted_instance_document",
    "instance_document",
]


def apps_hashcode(statuses: Iterable[InstanceStatus]) -> str:
    """Eureka's reconcile hash: ``<STATUS>_<count>_`` for each status, sorted by name.

    Clients compare it with the same hash of their own copy after applying a delta and
    fetch everything again when they differ.
    """
    counts = Counter(status.value for status in statuses)
    return "".join(f"{status}_{counts[status]}_" for status in sorted(counts))


def instance_document(lease: Lease, *, action: ActionType | None = None) -> dict[str, Any]:
    return {
        **lease.info,
        "status": lease.effective_status.value,
        "overriddenStatus": lease.overridden_status.value,
        "leaseInfo": {
            "renewalIntervalInSecs": lease.info.get("leaseInfo", {}).get(
                "renewalIntervalInSecs", 30
            ),
            "durationInSecs": lease.duration_seconds,
            "registrationTimestamp": lease.registered_ms,
            "lastRenewalTimestamp": lease.renewed_ms,
            "evictionTimestamp": 0,
            "serviceUpTimestamp": lease.up_ms,
        },
        "lastUpdatedTimestamp": str(lease.updated_ms),
        "lastDirtyTimestamp": str(lease.dirty_ms),
        "actionType": (action or lease.action).value,
    }


def deleted_instance_document(change: Change) -> dict[str, Any]:
    """The last known document of a cancelled or evicted instance, as a delta carries it."""
    info = dict(change.info or {"instanceId": change.instance_id, "app": change.app})
    lease_info = dict(info.get("leaseInfo", {}))
    return {
        **info,
        "status": InstanceStatus.DOWN.value,
        "overriddenStatus": InstanceStatus.UNKNOWN.value,
        "leaseInfo": {
            "renewalIntervalInSecs": lease_info.get("renewalIntervalInSecs", 30),
            "durationInSecs": lease_info.get("durationInSecs", 90),
            "registrationTimestamp": 0,
            "lastRenewalTimestamp": 0,
            "evictionTimestamp": change.at_ms,
            "serviceUpTimestamp": 0,
        },
        "lastUpdatedTimestamp": str(change.at_ms),
        "lastDirtyTimestamp": str(change.at_ms),
        "actionType": ActionType.DELETED.value,
    }


def application_document(name: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "instance": instances}


def applications_document(
    *, version: int, hashcode: str, applications: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "versions__delta": str(version),
        "apps__hashcode": hashcode,
        "application": applications,
    }
