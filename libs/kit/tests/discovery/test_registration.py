"""A service registering itself: backoff while the registry is down, renewals, re-registering
after a lost lease, and the cancel at shutdown, also through the kit's create_app."""

import pytest
from kit_discovery_support import FakeEureka, eventually, free_port

from spotilike.kit.app import create_app
from spotilike.kit.discovery import InstanceRegistration, ServiceRegistration
from spotilike.kit.settings import ServiceSettings
from spotilike.tools.pytest_plugin import running_app

pytestmark = pytest.mark.integration


def _instance(**overrides: object) -> InstanceRegistration:
    values: dict[str, object] = {
        "app": "catalog",
        "host": "127.0.0.1",
        "port": 9001,
        "lease_seconds": 5,
        "renew_seconds": 0.05,
    }
    values.update(overrides)
    return InstanceRegistration(**values)  # type: ignore[arg-type]


async def test_registers_renews_and_cancels(fake_eureka: FakeEureka) -> None:
    registration = ServiceRegistration(fake_eureka.url, _instance())
    await registration.start()
    await eventually(lambda: registration.renewals >= 2)
    assert registration.registered
    assert fake_eureka.calls["register"] == 1
    body = fake_eureka.bodies[0]["instance"]
    assert body["app"] == "CATALOG"
    assert body["instanceId"] == "127.0.0.1:catalog:9001"
    assert body["hostName"] == body["ipAddr"] == "127.0.0.1"
    assert body["port"] == {"$": 9001, "@enabled": "true"}
    assert body["status"] == "UP"
    assert body["leaseInfo"] == {"renewalIntervalInSecs": 1, "durationInSecs": 5}
    assert body["healthCheckUrl"] == "http://127.0.0.1:9001/health/ready"

    await registration.stop()
    assert fake_eureka.calls["cancel"] == 1
    assert fake_eureka.instances == {}
    assert not registration.registered


async def test_a_registry_that_is_down_at_start_is_retried_until_it_answers() -> None:
    registry = FakeEureka(port=free_port())
    registration = ServiceRegistration(registry.url, _instance(), max_backoff_seconds=0.2)
    await registration.start()
    assert not registration.registered
    await registry.start()
    try:
        await eventually(lambda: registration.registered)
        assert registry.calls["register"] == 1
        assert registration.registrations == 1
    finally:
        await registration.stop()
        await registry.stop()


async def test_a_lost_lease_is_answered_by_registering_again(fake_eureka: FakeEureka) -> None:
    registration = ServiceRegistration(fake_eureka.url, _instance())
    await registration.start()
    try:
        await eventually(lambda: registration.renewals >= 1)
        fake_eureka.forget()
        await eventually(lambda: registration.registrations == 2)
        assert ("catalog".upper(), "127.0.0.1:catalog:9001") in fake_eureka.instances
    finally:
        await registration.stop()


async def test_stopping_while_the_registry_is_unreachable_does_not_hang() -> None:
    registration = ServiceRegistration(
        f"http://127.0.0.1:{free_port()}/eureka", _instance(), max_backoff_seconds=0.1
    )
    await registration.start()
    await registration.stop()
    assert registration.registrations == 0
    assert not registration.registered


def test_the_lease_must_outlast_the_renewal_interval() -> None:
    with pytest.raises(ValueError, match="longer than the renewal"):
        ServiceRegistration(
            "http://127.0.0.1:8761/eureka", _instance(lease_seconds=1, renew_seconds=1)
        )


def test_settings_name_the_instance_and_a_wildcard_host_becomes_loopback() -> None:
    settings = ServiceSettings(
        service_name="catalog",
        host="0.0.0.0",
        port=8102,
        discovery_url="http://127.0.0.1:8761/eureka",
        discovery_lease_seconds=30,
        discovery_renew_seconds=10,
    )
    registration = ServiceRegistration.from_settings(settings)
    assert registration.instance.host == "127.0.0.1"
    assert registration.instance.port == 8102
    assert registration.instance.effective_id == "127.0.0.1:catalog:8102"
    assert (registration.instance.lease_seconds, registration.instance.renew_seconds) == (30, 10)

    named = ServiceRegistration.from_settings(
        settings.model_copy(
            update={
                "discovery_instance_host": "catalog-1.internal",
                "discovery_instance_port": 18102,
                "discovery_instance_id": "catalog-1",
                "discovery_app_name": "catalog-blue",
            }
        )
    )
    assert named.instance.effective_id == "catalog-1"
    assert (named.instance.app, named.instance.host, named.instance.port) == (
        "catalog-blue",
        "catalog-1.internal",
        18102,
    )


def test_registration_needs_a_discovery_url() -> None:
    with pytest.raises(ValueError, match="registration is off"):
        ServiceRegistration.from_settings(ServiceSettings())


async def test_create_app_registers_at_start_and_cancels_at_shutdown(
    fake_eureka: FakeEureka,
) -> None:
    settings = ServiceSettings(
        service_name="echo",
        port=9555,
        discovery_url=fake_eureka.url,
        discovery_renew_seconds=0.05,
        discovery_lease_seconds=5,
    )
    app = create_app(settings, title="echo", use_database=False, use_redis=False)
    async with running_app(app) as client:
        registration = app.state.registration
        assert isinstance(registration, ServiceRegistration)
        await eventually(lambda: registration.renewals >= 1)
        assert list(fake_eureka.instances) == [("ECHO", "127.0.0.1:echo:9555")]
        assert (await client.get("/health/live")).status_code == 200
    assert fake_eureka.instances == {}
    assert fake_eureka.calls["cancel"] == 1


async def test_create_app_without_a_discovery_url_registers_nothing(
    fake_eureka: FakeEureka,
) -> None:
    app = create_app(ServiceSettings(), title="plain", use_database=False, use_redis=False)
    async with running_app(app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert app.state.registration is None
    assert sum(fake_eureka.calls.values()) == 0
