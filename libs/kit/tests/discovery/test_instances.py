"""Reading Eureka's applications document, quirks included."""

import pytest

from spotilike.kit.discovery import (
    InstanceStatus,
    MalformedRegistryAnswerError,
    ServiceInstance,
    discovery_base_url,
    parse_applications,
)
from spotilike.kit.discovery.instances import redacted

pytestmark = pytest.mark.unit


def _document(*applications: object) -> dict[str, object]:
    return {"applications": {"versions__delta": "3", "application": list(applications)}}


def test_a_full_eureka_instance_becomes_its_base_url_and_status() -> None:
    view = parse_applications(
        _document(
            {
                "name": "CATALOG",
                "instance": [
                    {
                        "instanceId": "10.0.0.5:catalog:8102",
                        "hostName": "10.0.0.5",
                        "app": "CATALOG",
                        "ipAddr": "10.0.0.5",
                        "status": "UP",
                        "port": {"$": 8102, "@enabled": "true"},
                        "securePort": {"$": 443, "@enabled": "false"},
                    },
                    {
                        "instanceId": "b",
                        "hostName": "catalog-b.internal",
                        "status": "OUT_OF_SERVICE",
                        "port": {"$": "8200", "@enabled": "true"},
                    },
                ],
            }
        )
    )
    assert view == {
        "CATALOG": [
            ServiceInstance(
                app="CATALOG",
                instance_id="10.0.0.5:catalog:8102",
                base_url="http://10.0.0.5:8102",
                status=InstanceStatus.UP,
            ),
            ServiceInstance(
                app="CATALOG",
                instance_id="b",
                base_url="http://catalog-b.internal:8200",
                status=InstanceStatus.OUT_OF_SERVICE,
            ),
        ]
    }


def test_a_list_of_one_sent_as_a_bare_object_is_still_a_list() -> None:
    view = parse_applications(
        {
            "applications": {
                "application": {
                    "name": "users",
                    "instance": {"instanceId": "u1", "hostName": "h", "port": 8101},
                }
            }
        }
    )
    assert [instance.instance_id for instance in view["USERS"]] == ["u1"]
    assert view["USERS"][0].base_url == "http://h:8101"
    assert view["USERS"][0].status is InstanceStatus.UNKNOWN


def test_the_secure_port_is_used_only_when_the_plain_one_is_disabled() -> None:
    view = parse_applications(
        _document(
            {
                "name": "A",
                "instance": [
                    {
                        "instanceId": "secure-only",
                        "hostName": "h",
                        "status": "UP",
                        "port": {"$": 80, "@enabled": "false"},
                        "securePort": {"$": 8443, "@enabled": "true"},
                    },
                    {
                        "instanceId": "both",
                        "hostName": "h",
                        "status": "UP",
                        "port": {"$": 8080, "@enabled": "true"},
                        "securePort": {"$": 8443, "@enabled": "true"},
                    },
                ],
            }
        )
    )
    assert [instance.base_url for instance in view["A"]] == ["https://h:8443", "http://h:8080"]


@pytest.mark.parametrize(
    "instance",
    [
        {"instanceId": "no-host", "port": 1},
        {"instanceId": "bad-port", "hostName": "h", "port": {"$": "eighty"}},
        {"instanceId": "port-zero", "hostName": "h", "port": 0},
        {"instanceId": "no-port-enabled", "hostName": "h", "port": {"$": 1, "@enabled": "false"}},
        {"instanceId": "bad-host", "hostName": "h h", "port": 1},
        "not an object",
    ],
)
def test_an_unusable_instance_is_skipped_and_the_others_kept(instance: object) -> None:
    good = {"instanceId": "good", "hostName": "h", "status": "UP", "port": 1}
    view = parse_applications(_document({"name": "A", "instance": [instance, good]}))
    assert [item.instance_id for item in view["A"]] == ["good"]


@pytest.mark.parametrize("document", [[], {"apps": {}}, {"applications": "none"}])
def test_a_document_without_applications_is_refused(document: object) -> None:
    with pytest.raises(MalformedRegistryAnswerError):
        parse_applications(document)


def test_an_empty_registry_is_an_empty_view() -> None:
    assert parse_applications({"applications": {"versions__delta": "1"}}) == {}


@pytest.mark.parametrize(
    ("configured", "base"),
    [
        ("http://127.0.0.1:8761/eureka", "http://127.0.0.1:8761/eureka"),
        ("http://127.0.0.1:8761/eureka/", "http://127.0.0.1:8761/eureka"),
        ("http://127.0.0.1:8761", "http://127.0.0.1:8761/eureka"),
        ("http://127.0.0.1:8761/", "http://127.0.0.1:8761/eureka"),
        ("http://u:p@registry:8761/eureka", "http://u:p@registry:8761/eureka"),
    ],
)
def test_the_eureka_root_is_found_from_the_configured_url(configured: str, base: str) -> None:
    assert discovery_base_url(configured) == base


@pytest.mark.parametrize("configured", ["registry:8761", "ftp://registry/eureka", "/eureka"])
def test_a_url_that_is_not_absolute_http_is_refused(configured: str) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        discovery_base_url(configured)


def test_logs_get_the_url_without_its_password() -> None:
    assert redacted("http://eureka:s3cret@registry:8761/eureka") == (
        "http://eureka@registry:8761/eureka"
    )


def test_an_unknown_status_reads_as_unknown() -> None:
    assert InstanceStatus.parse("sleeping") is InstanceStatus.UNKNOWN
    assert InstanceStatus.parse("up") is InstanceStatus.UP
