"""Real processes: registries sharing one Valkey, and a SIGKILLed service evicted.

The SIGKILL test is the one the gateway shares: a killed instance cannot cancel, so it is
only the lease running out that takes it out of the registry, and out of every
:class:`InstanceDirectory` (the gateway's view) after the next refresh.
"""

import os
import signal

import httpx
import pytest
from discovery_support import (
    JSON,
    echo_process,
    instances_of,
    registration,
    registry_process,
    unique_prefix,
)

from spotilike.kit.discovery import InstanceDirectory
from spotilike.tools.probes import eventually

pytestmark = pytest.mark.integration


async def _apps(eureka_url: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{eureka_url}/apps", headers=JSON)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def test_two_registries_on_one_valkey_serve_one_view(redis_url: str) -> None:
    prefix = unique_prefix()
    with (
        registry_process(redis_url, prefix, via_cli=True) as first,
        registry_process(redis_url, prefix) as second,
    ):
        async with httpx.AsyncClient(timeout=5) as client:
            body = registration(lease_seconds=2)
            assert (await client.post(f"{first}/apps/CATALOG", json=body)).status_code == 204
            assert await _apps(first) == await _apps(second)
            [seen] = instances_of(await _apps(second), "CATALOG")
            assert seen["instanceId"] == "127.0.0.1:catalog:9001"

            # Renewed through the second, overridden through the first, cancelled through
            # the second: each registry sees what the other did.
            instance = "/apps/CATALOG/127.0.0.1:catalog:9001"
            assert (await client.put(f"{second}{instance}")).status_code == 200
            await client.put(f"{first}{instance}/status", params={"value": "OUT_OF_SERVICE"})
            assert instances_of(await _apps(second), "CATALOG")[0]["status"] == "OUT_OF_SERVICE"
            assert (await client.delete(f"{second}{instance}")).status_code == 200
            assert instances_of(await _apps(first), "CATALOG") == []
            assert (await client.delete(f"{first}{instance}")).status_code == 404

            # An expiry is recorded once, whichever registry notices it first.
            await client.post(
                f"{first}/apps/USERS",
                json=registration("USERS", "127.0.0.1:users:9101", lease_seconds=1),
            )

            async def gone() -> bool:
                return instances_of(await _apps(second), "USERS") == []

            await eventually(gone, interval=0.05)
            deltas = [
                (await client.get(f"{url}/apps/delta", headers=JSON)).json()
                for url in (first, second)
            ]
            assert deltas[0] == deltas[1]
            assert [i["actionType"] for i in instances_of(deltas[0], "USERS")] == ["DELETED"]


async def test_a_sigkilled_instance_stops_renewing_and_is_evicted(redis_url: str) -> None:
    with (
        registry_process(redis_url, unique_prefix()) as eureka_url,
        echo_process(eureka_url, lease_seconds=3, renew_seconds=0.5) as (pid, port),
    ):
        async with InstanceDirectory(eureka_url, refresh_seconds=0.2) as directory:

            async def renewed() -> bool:
                [instance] = instances_of(await _apps(eureka_url), "ECHO") or [None]
                return bool(
                    instance
                    and instance["leaseInfo"]["lastRenewalTimestamp"]
                    > instance["leaseInfo"]["registrationTimestamp"]
                )

            await eventually(renewed, interval=0.05)
            [up] = directory.instances("echo") or [None]
            assert up is not None
            assert up.base_url == f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{up.base_url}/health/live")).status_code == 200

            os.kill(pid, signal.SIGKILL)
            # Killed, it could not cancel: it is still registered until its lease runs out.
            assert len(instances_of(await _apps(eureka_url), "ECHO")) == 1

            async def evicted() -> bool:
                return instances_of(await _apps(eureka_url), "ECHO") == []

            await eventually(evicted, interval=0.05)
            async with httpx.AsyncClient(timeout=5) as client:
                delta = (await client.get(f"{eureka_url}/apps/delta", headers=JSON)).json()
            [deleted] = instances_of(delta, "ECHO")
            assert deleted["actionType"] == "DELETED"
            assert deleted["leaseInfo"]["evictionTimestamp"] > 0

            async def directory_forgot() -> bool:
                return directory.instances("echo") == []

            await eventually(directory_forgot, interval=0.05)


async def test_a_service_stopped_normally_cancels_at_once(redis_url: str) -> None:
    with registry_process(redis_url, unique_prefix()) as eureka_url:
        with echo_process(eureka_url, lease_seconds=60, renew_seconds=0.5):

            async def registered() -> bool:
                return len(instances_of(await _apps(eureka_url), "ECHO")) == 1

            await eventually(registered, interval=0.05)
        # SIGTERM: the kit's lifespan cancels the lease; no 60-second wait for expiry.
        assert instances_of(await _apps(eureka_url), "ECHO") == []
