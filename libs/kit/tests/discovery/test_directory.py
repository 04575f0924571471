"""The instance directory: a background-refreshed view that outlives a registry outage."""

import pytest
from kit_discovery_support import FakeEureka, eventually, free_port

from spotilike.kit.discovery import InstanceDirectory, InstanceStatus

pytestmark = pytest.mark.integration


async def test_only_up_instances_are_offered_whatever_the_case_of_the_name(
    fake_eureka: FakeEureka,
) -> None:
    fake_eureka.register("CATALOG", "c1", "127.0.0.1", 9001, "UP")
    fake_eureka.register("CATALOG", "c2", "127.0.0.1", 9002, "OUT_OF_SERVICE")
    fake_eureka.register("CATALOG", "c3", "127.0.0.1", 9003, "DOWN")
    fake_eureka.register("USERS", "u1", "127.0.0.1", 9101, "UP")
    async with InstanceDirectory(fake_eureka.url, refresh_seconds=60) as directory:
        catalog = directory.instances("catalog")
        assert [(i.instance_id, i.base_url, i.status) for i in catalog] == [
            ("c1", "http://127.0.0.1:9001", InstanceStatus.UP)
        ]
        assert directory.instances("CATALOG") == catalog
        assert [i.instance_id for i in directory.instances("users")] == ["u1"]
        assert directory.instances("streaming") == []
        assert sorted(i.instance_id for i in directory.applications()["CATALOG"]) == [
            "c1",
            "c2",
            "c3",
        ]


async def test_the_view_follows_the_registry_in_the_background(fake_eureka: FakeEureka) -> None:
    async with InstanceDirectory(fake_eureka.url, refresh_seconds=0.05) as directory:
        assert directory.instances("catalog") == []
        fake_eureka.register("CATALOG", "c1", "127.0.0.1", 9001, "UP")
        await eventually(lambda: len(directory.instances("catalog")) == 1)
        fake_eureka.forget()
        await eventually(lambda: directory.instances("catalog") == [])


async def test_the_last_good_view_is_served_while_the_registry_is_unreachable(
    fake_eureka: FakeEureka,
) -> None:
    fake_eureka.register("CATALOG", "c1", "127.0.0.1", 9001, "UP")
    async with InstanceDirectory(fake_eureka.url, refresh_seconds=0.05) as directory:
        assert [i.instance_id for i in directory.instances("catalog")] == ["c1"]
        await fake_eureka.stop()
        await eventually(lambda: directory.failed_refreshes >= 3)
        assert [i.instance_id for i in directory.instances("catalog")] == ["c1"]

        fake_eureka.forget()
        fake_eureka.register("CATALOG", "c2", "127.0.0.1", 9002, "UP")
        await fake_eureka.start()
        await eventually(lambda: directory.failed_refreshes == 0)
        assert [i.instance_id for i in directory.instances("catalog")] == ["c2"]


async def test_a_nonsense_answer_keeps_the_last_good_view(fake_eureka: FakeEureka) -> None:
    fake_eureka.register("CATALOG", "c1", "127.0.0.1", 9001, "UP")
    async with InstanceDirectory(fake_eureka.url, refresh_seconds=60) as directory:
        fake_eureka.apps_document = {"error": "not eureka"}
        assert await directory.refresh() is False
        assert [i.instance_id for i in directory.instances("catalog")] == ["c1"]
        assert directory.failed_refreshes == 1


async def test_starting_while_the_registry_is_down_neither_fails_nor_blocks() -> None:
    registry = FakeEureka(port=free_port())
    async with InstanceDirectory(registry.url, refresh_seconds=0.05) as directory:
        assert directory.instances("catalog") == []
        assert directory.last_refresh is None
        registry.register("CATALOG", "c1", "127.0.0.1", 9001, "UP")
        await registry.start()
        try:
            await eventually(lambda: len(directory.instances("catalog")) == 1)
        finally:
            await registry.stop()


def test_refresh_interval_and_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        InstanceDirectory("http://127.0.0.1:8761/eureka", refresh_seconds=0)
