"""The registry's use cases: what register, renew, cancel, overrides and reads mean."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from spotilike.discovery.models import ActionType, Lease, RegistryView
from spotilike.discovery.repository import LeaseStore
from spotilike.discovery.schemas import InstanceIn
from spotilike.discovery.service.documents import (
    application_document,
    applications_document,
    apps_hashcode,
    deleted_instance_document,
    instance_document,
)
from spotilike.kit.discovery import InstanceStatus
from spotilike.kit.errors import NotFound, invalid_field

__all__ = ["Registry"]


def _unknown(app: str, instance_id: str | None = None) -> NotFound:
    what = f"instance {instance_id!r} of app {app!r}" if instance_id else f"app {app!r}"
    return NotFound(f"The registry has no {what}.", code="discovery/unknown-instance")


class Registry:
    """Use cases over one :class:`LeaseStore`; app names are upper-cased as in Eureka."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        default_lease_seconds: int,
        min_lease_seconds: int,
        max_lease_seconds: int,
    ) -> None:
        self._store = store
        self._default_lease = default_lease_seconds
        self._min_lease = min_lease_seconds
        self._max_lease = max_lease_seconds

    def lease_seconds(self, requested: int | None) -> int:
        if requested is None:
            return self._default_lease
        return max(self._min_lease, min(self._max_lease, requested))

    async def register(self, *, app: str, instance: InstanceIn) -> None:
        app = app.upper()
        if instance.app.upper() != app:
            raise invalid_field("/instance/app", f"must be the app of the URL, {app}")
        duration = self.lease_seconds(instance.leaseInfo.durationInSecs)
        info: dict[str, Any] = {
            "instanceId": instance.effective_id,
            "hostName": instance.hostName,
            "app": app,
            "ipAddr": instance.ipAddr or instance.hostName,
            "vipAddress": instance.vipAddress or app.lower(),
            "secureVipAddress": instance.secureVipAddress or app.lower(),
            "port": {"$": instance.port.number, "@enabled": str(instance.port.enabled).lower()},
            "securePort": {
                "$": instance.securePort.number,
                "@enabled": str(instance.securePort.enabled).lower(),
            },
            "homePageUrl": instance.homePageUrl,
            "statusPageUrl": instance.statusPageUrl,
            "healthCheckUrl": instance.healthCheckUrl,
            "secureHealthCheckUrl": instance.secureHealthCheckUrl,
            "countryId": instance.countryId,
            "dataCenterInfo": {
                "@class": instance.dataCenterInfo.class_name,
                "name": instance.dataCenterInfo.name,
            },
            "leaseInfo": {
                "renewalIntervalInSecs": instance.leaseInfo.renewalIntervalInSecs,
                "durationInSecs": duration,
            },
            "metadata": instance.metadata,
            "isCoordinatingDiscoveryServer": str(instance.isCoordinatingDiscoveryServer).lower(),
        }
        if instance.appGroupName:
            info["appGroupName"] = instance.appGroupName
        if instance.asgName:
            info["asgName"] = instance.asgName
        await self._store.register(
            app=app,
            instance_id=instance.effective_id,
            info=info,
            status=instance.status,
            overridden_status=instance.overriddenStatus,
            duration_seconds=duration,
            dirty_ms=instance.lastDirtyTimestamp or int(time.time() * 1000),
        )

    async def renew(self, *, app: str, instance_id: str, dirty_ms: int | None) -> None:
        """A 404 (the client then registers again) for an unknown lease or newer client data."""
        if not await self._store.renew(app=app.upper(), instance_id=instance_id, dirty_ms=dirty_ms):
            raise _unknown(app, instance_id)

    async def cancel(self, *, app: str, instance_id: str) -> None:
        if not await self._store.cancel(app=app.upper(), instance_id=instance_id):
            raise _unknown(app, instance_id)

    async def override_status(self, *, app: str, instance_id: str, status: InstanceStatus) -> None:
        if status is InstanceStatus.UNKNOWN:
            raise invalid_field(
                "value", "UNKNOWN is not a status to override with", location="query"
            )
        if not await self._store.set_status(
            app=app.upper(), instance_id=instance_id, overridden_status=status
        ):
            raise _unknown(app, instance_id)

    async def remove_override(
        self, *, app: str, instance_id: str, status: InstanceStatus | None
    ) -> None:
        """Back to the instance's own status, or to ``status`` when the caller names one."""
        if not await self._store.set_status(
            app=app.upper(),
            instance_id=instance_id,
            overridden_status=InstanceStatus.UNKNOWN,
            status=status,
        ):
            raise _unknown(app, instance_id)

    async def applications(self) -> dict[str, Any]:
        view = await self._store.view()
        return self._applications(view, view.leases)

    async def delta(self) -> dict[str, Any]:
        """The changes of the retention window, the latest per instance, and the full hash."""
        view = await self._store.view(with_changes=True)
        current = {(lease.app, lease.instance_id): lease for lease in view.leases}
        latest = {(c.app, c.instance_id): c for c in sorted(view.changes, key=lambda c: c.version)}
        by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (app, instance_id), change in sorted(latest.items()):
            if change.action is ActionType.DELETED:
                by_app[app].append(deleted_instance_document(change))
            elif (lease := current.get((app, instance_id))) is not None:
                by_app[app].append(instance_document(lease, action=change.action))
        return applications_document(
            version=view.version,
            hashcode=apps_hashcode(lease.effective_status for lease in view.leases),
            applications=[application_document(app, docs) for app, docs in by_app.items()],
        )

    async def application(self, app: str) -> dict[str, Any]:
        app = app.upper()
        leases = [lease for lease in (await self._store.view()).leases if lease.app == app]
        if not leases:
            raise _unknown(app)
        return application_document(app, [instance_document(lease) for lease in leases])

    async def instance(self, instance_id: str, *, app: str | None = None) -> dict[str, Any]:
        for lease in (await self._store.view()).leases:
            if lease.instance_id == instance_id and (app is None or lease.app == app.upper()):
                return instance_document(lease)
        raise _unknown(app or "any", instance_id)

    async def by_vip(self, vip: str, *, secure: bool) -> dict[str, Any]:
        view = await self._store.view()
        field = "secureVipAddress" if secure else "vipAddress"
        matching = [
            lease for lease in view.leases if vip in str(lease.info.get(field, "")).split(",")
        ]
        return self._applications(view, matching)

    async def evict_expired(self) -> int:
        """Record expired leases as deleted; the number of live leases."""
        return len((await self._store.view()).leases)

    @staticmethod
    def _applications(view: RegistryView, leases: list[Lease]) -> dict[str, Any]:
        by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for lease in leases:
            by_app[lease.app].append(instance_document(lease))
        return applications_document(
            version=view.version,
            hashcode=apps_hashcode(lease.effective_status for lease in view.leases),
            applications=[application_document(app, docs) for app, docs in by_app.items()],
        )
