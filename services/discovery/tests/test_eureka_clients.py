"""Compatibility: the third-party py-eureka-client and the kit's client, against the real
registry over real HTTP.

py-eureka-client registers and renews in JSON, reads the registry in XML (it sends no
Accept header), follows deltas by ``versions__delta`` and ``apps__hashcode``, and its
``do_service`` picks an UP instance and calls it: here a kit service that registered
itself through the kit's ServiceRegistration.
"""

import pytest
from discovery_support import (
    JSON,
    free_port,
    instances_of,
)
from httpx import AsyncClient
from prometheus_client import REGISTRY
from py_eureka_client.eureka_client import EurekaClient

from spotilike.discovery.app import create_discovery_app
from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.app import create_app
from spotilike.kit.discovery import InstanceDirectory, ServiceRegistration
from spotilike.kit.settings import ServiceSettings
from spotilike.tools.probes import eventually
from spotilike.tools.pytest_plugin import served_in_thread

# py-eureka-client logs its failures through the deprecated Logger.warn.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]


def _py_client(eureka_url: str, *, port: int) -> EurekaClient:
    # A heartbeat interval far beyond the test keeps the library's own heartbeat thread
    # (a daemon the library never stops) from starting; the test drives renewals itself.
    return EurekaClient(
        eureka_server=f"{eureka_url}/",
        app_name="py-client",
        instance_host="127.0.0.1",
        instance_ip="127.0.0.1",
        instance_port=port,
        renewal_interval_in_secs=3600,
        duration_in_secs=30,
        metadata={"team": "compat"},
    )


async def test_py_eureka_client_registers_discovers_and_reaches_a_kit_service(
    discovery_settings: DiscoverySettings,
) -> None:
    registry_app = create_discovery_app(discovery_settings)
    echo_port = free_port()
    with served_in_thread(registry_app, port=free_port()) as registry_base:
        eureka_url = f"{registry_base}/eureka"
        echo_settings = ServiceSettings(
            service_name="echo",
            port=echo_port,
            discovery_url=eureka_url,
            discovery_renew_seconds=0.5,
            discovery_lease_seconds=10,
            log_json=False,
        )
        echo_app = create_app(echo_settings, title="echo", use_database=False, use_redis=False)
        with served_in_thread(echo_app, port=echo_port):
            registration = echo_app.state.registration
            assert isinstance(registration, ServiceRegistration)
            async with AsyncClient(base_url=eureka_url, headers=JSON) as http:

                async def echo_renewed() -> bool:
                    return registration.renewals >= 1

                await eventually(echo_renewed, interval=0.05)

                py_client = _py_client(eureka_url, port=free_port())
                await py_client.start()
                try:
                    apps = (await http.get("/apps")).json()
                    [py_instance] = instances_of(apps, "PY-CLIENT")
                    assert py_instance["status"] == "UP"
                    assert py_instance["metadata"]["team"] == "compat"
                    assert py_instance["leaseInfo"]["durationInSecs"] == 30

                    # It discovered the kit service from the XML registry and calls it.
                    answer = await py_client.do_service("echo", "/health/live", return_type="json")
                    assert answer["status"] == "ok"

                    await py_client.send_heartbeat()
                    [renewed] = instances_of((await http.get("/apps")).json(), "PY-CLIENT")
                    assert (
                        renewed["leaseInfo"]["lastRenewalTimestamp"]
                        > renewed["leaseInfo"]["registrationTimestamp"]
                    )

                    # Its status update is Eureka's status override.
                    await py_client.status_update("OUT_OF_SERVICE")
                    [out] = instances_of((await http.get("/apps")).json(), "PY-CLIENT")
                    assert out["status"] == "OUT_OF_SERVICE"
                    await py_client.delete_status_override()
                    [back] = instances_of((await http.get("/apps")).json(), "PY-CLIENT")
                    assert back["status"] == "UP"

                    # The kit's directory sees the third-party registrant like any other.
                    async with InstanceDirectory(eureka_url, refresh_seconds=60) as directory:
                        [seen] = directory.instances("py-client")
                        assert seen.instance_id == py_instance["instanceId"]
                        assert [i.base_url for i in directory.instances("echo")] == [
                            f"http://127.0.0.1:{echo_port}"
                        ]
                finally:
                    await py_client.stop()
                assert instances_of((await http.get("/apps")).json(), "PY-CLIENT") == []
        # The kit service cancelled its lease at shutdown.
        async with AsyncClient(base_url=eureka_url, headers=JSON) as http:
            assert instances_of((await http.get("/apps")).json(), "ECHO") == []


def _served(route: str) -> float:
    value = REGISTRY.get_sample_value(
        "spotilike_http_requests_total",
        {"service": "discovery", "method": "GET", "route": route, "status": "200"},
    )
    return value or 0.0


async def test_py_eureka_client_follows_deltas_without_refetching_everything(
    discovery_settings: DiscoverySettings,
) -> None:
    with served_in_thread(create_discovery_app(discovery_settings), port=free_port()) as base:
        eureka_url = f"{base}/eureka"
        first_port, second_port = free_port(), free_port()
        first = _py_client(eureka_url, port=first_port)
        second = _py_client(eureka_url, port=second_port)
        watcher = EurekaClient(
            eureka_server=f"{eureka_url}/", should_register=False, renewal_interval_in_secs=3600
        )
        await first.start()
        await watcher.start()
        try:
            known = watcher.applications.get_application("PY-CLIENT")
            assert [i.instanceId for i in known.instances] == [f"127.0.0.1:py-client:{first_port}"]

            await second.start()
            await first.stop()
            full_fetches, delta_fetches = _served("/eureka/apps/"), _served("/eureka/apps/delta")
            # The library's periodic step, run once: fetch the delta, merge, compare hashes.
            await watcher._EurekaClient__fetch_delta()  # type: ignore[attr-defined]
            known = watcher.applications.get_application("PY-CLIENT")
            assert [i.instanceId for i in known.instances] == [f"127.0.0.1:py-client:{second_port}"]
            assert _served("/eureka/apps/delta") == delta_fetches + 1
            # Our apps__hashcode matched its merged copy, so it did not fall back to a full read.
            assert _served("/eureka/apps/") == full_fetches
        finally:
            await second.stop()
            await watcher.stop()
