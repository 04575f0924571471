"""The gateway's pure parts: routing, paths, client addresses, headers, balancing,
the retry budget and the settings' checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from spotilike.gateway.balancing import FallbackInstances, LoadBalancer, StaticInstances, Upstream
from spotilike.gateway.budget import RetryBudget
from spotilike.gateway.clientip import ClientAddressResolver
from spotilike.gateway.discovery import RegistryInstances
from spotilike.gateway.proxy.headers import (
    ForwardingFacts,
    RequestHead,
    request_headers,
    response_headers,
)
from spotilike.gateway.routing import RouteTable, path_refusal
from spotilike.gateway.settings import DEFAULT_ROUTES, GatewaySettings, RouteConfig
from spotilike.kit.discovery import InstanceStatus, ServiceInstance

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_longest_prefix_wins_on_segment_boundaries() -> None:
    table = RouteTable.from_configs(
        [
            RouteConfig(prefix="/ws", service="a"),
            RouteConfig(prefix="/ws/social", service="social"),
            RouteConfig(prefix="/catalog/", service="catalog"),
        ]
    )
    assert table.match("/ws/social/x").service == "social"  # type: ignore[union-attr]
    assert table.match("/ws/other").service == "a"  # type: ignore[union-attr]
    assert table.match("/catalog").service == "catalog"  # type: ignore[union-attr]
    assert table.match("/catalogue") is None
    assert table.match("/wsx") is None


def test_the_default_table_keeps_the_public_allow_list() -> None:
    table = RouteTable.from_configs(DEFAULT_ROUTES)

    def public(method: str, path: str) -> bool:
        route = table.match(path)
        assert route is not None, path
        return not route.needs_token(method)

    assert public("POST", "/auth/login")
    assert public("POST", "/auth/register")
    assert public("POST", "/auth/refresh")
    assert public("GET", "/.well-known/jwks.json")
    assert public("GET", "/catalog/albums/1")
    assert public("GET", "/stream/tracks/1/master.m3u8")
    assert not public("POST", "/catalog/albums")
    assert not public("GET", "/users/me")
    assert not public("GET", "/admin/users")
    assert not public("POST", "/audio/uploads")
    audio = table.match("/audio/uploads/1")
    assert audio is not None
    assert audio.upstream_path("/audio/uploads/1") == "/uploads/1"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/a/../b", True),
        ("/a/./b", True),
        ("/a/..", True),
        ("/a/..\\b", True),
        ("/a\x00", True),
        ("/tracks/x\n", True),
        ("/tracks/x\r\nSet-Cookie: a=b", True),
        ("/a\tb", True),
        ("/a\x7f", True),
        ("/a/caf\u00e9 b", False),
        ("/a/..b/c", False),
        ("/a/b.c/d", False),
        ("/a/...", False),
    ],
)
def test_path_refusal(path: str, refused: bool) -> None:
    assert (path_refusal(path) is not None) is refused


def test_client_address_behind_trusted_proxies() -> None:
    resolver = ClientAddressResolver(["10.0.0.0/8", "::1"])
    assert resolver.resolve("203.0.113.5", "1.1.1.1") == "203.0.113.5"
    assert resolver.resolve("10.1.1.1", None) == "10.1.1.1"
    assert resolver.resolve("10.1.1.1", "1.1.1.1, 2.2.2.2") == "2.2.2.2"
    assert resolver.resolve("10.1.1.1", "1.1.1.1, 2.2.2.2, 10.3.3.3") == "2.2.2.2"
    assert resolver.resolve("::1", "10.2.2.2, 10.3.3.3") == "10.2.2.2"
    assert resolver.resolve("10.1.1.1", "garbage, 10.9.9.9") == "10.9.9.9"
    assert resolver.resolve("10.1.1.1", "[2001:db8::1]") == "2001:db8::1"
    assert ClientAddressResolver([]).resolve("10.1.1.1", "1.1.1.1") == "10.1.1.1"
    with pytest.raises(ValueError, match="neither an IP"):
        ClientAddressResolver(["not-a-network"])


def _facts(*, trusted: bool) -> ForwardingFacts:
    return ForwardingFacts(
        peer="10.0.0.2", client="1.2.3.4", peer_trusted=trusted, proto="http", host="gw"
    )


def test_request_headers_from_a_trusted_proxy_extend_the_chain() -> None:
    raw = [
        (b"x-forwarded-for", b"1.2.3.4"),
        (b"x-forwarded-proto", b"https"),
        (b"forwarded", b"for=1.2.3.4;proto=https"),
        (b"te", b"trailers"),
        (b"x-user-id", b"forged"),
        (b"accept", b"*/*"),
        (b"connection", b"keep-alive, X-Hop"),
        (b"x-hop", b"only for the next hop"),
    ]
    out = dict(
        request_headers(
            raw,
            facts=_facts(trusted=True),
            request_id="r",
            identity=("u", "USER"),
            connection_tokens=RequestHead(raw).connection_tokens,
        )
    )
    assert b"x-hop" not in out
    assert b"connection" not in out
    assert out[b"X-Forwarded-For"] == b"1.2.3.4, 10.0.0.2"
    assert out[b"X-Forwarded-Proto"] == b"https"
    assert out[b"Forwarded"] == b'for=1.2.3.4;proto=https, for=10.0.0.2;proto=http;host="gw"'
    assert out[b"X-User-Id"] == b"u"
    assert b"te" not in out
    assert out[b"accept"] == b"*/*"


def test_request_headers_from_an_untrusted_peer_start_a_new_chain() -> None:
    raw = [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-proto", b"https")]
    out = dict(
        request_headers(
            raw,
            facts=_facts(trusted=False),
            request_id=None,
            identity=None,
            connection_tokens=frozenset(),
        )
    )
    assert out[b"X-Forwarded-For"] == b"10.0.0.2"
    assert out[b"X-Forwarded-Proto"] == b"http"
    assert b"X-User-Id" not in out


def test_the_clients_content_length_never_goes_upstream_even_named_in_connection() -> None:
    """The pool writes the framing from the length the server read; a client that lists
    Content-Length in Connection cannot make the gateway send a body without one."""
    raw = [
        (b"connection", b"Content-Length"),
        (b"content-length", b"61"),
        (b"content-type", b"application/json"),
    ]
    head = RequestHead(raw)
    out = request_headers(
        raw,
        facts=_facts(trusted=False),
        request_id=None,
        identity=None,
        connection_tokens=head.connection_tokens,
    )
    names = [name.lower() for name, _ in out]
    assert b"content-length" not in names
    assert b"content-type" in names
    assert head.body_length == 61


@pytest.mark.parametrize(
    ("host", "forwarded"),
    [
        ("gw.example:8443", b'for=10.0.0.2;proto=http;host="gw.example:8443"'),
        ("[::1]:8080", b'for=10.0.0.2;proto=http;host="[::1]:8080"'),
        ('x", for=10.0.0.1;host="y', b"for=10.0.0.2;proto=http"),
        ("a b", b"for=10.0.0.2;proto=http"),
    ],
)
def test_only_a_well_formed_host_enters_the_forwarded_header(host: str, forwarded: bytes) -> None:
    facts = ForwardingFacts(
        peer="10.0.0.2", client="10.0.0.2", peer_trusted=False, proto="http", host=host
    )
    out = dict(
        request_headers(
            [], facts=facts, request_id=None, identity=None, connection_tokens=frozenset()
        )
    )
    assert out[b"Forwarded"] == forwarded
    assert (b"X-Forwarded-Host" in out) is (b"host=" in forwarded)


def test_request_head_reads_what_the_gateway_needs_in_one_pass() -> None:
    raw = [
        (b"host", b"gw.example"),
        (b"authorization", b"Bearer first"),
        (b"authorization", b"Bearer second"),
        (b"x-forwarded-for", b"1.1.1.1"),
        (b"x-forwarded-for", b"2.2.2.2, 3.3.3.3"),
        (b"content-length", b"12"),
        (b"connection", b"Keep-Alive, X-Hop"),
    ]
    head = RequestHead(raw)
    assert head.host == "gw.example"
    assert head.authorization == b"Bearer first"
    assert head.forwarded_for == "1.1.1.1,2.2.2.2, 3.3.3.3"
    assert head.body_length == 12
    assert head.declares_body
    assert head.connection_tokens == frozenset({b"keep-alive", b"x-hop"})
    assert head.size == sum(len(n) + len(v) + 4 for n, v in raw)
    assert head.request_id is None


def test_request_head_body_framing() -> None:
    assert not RequestHead([]).declares_body
    assert not RequestHead([(b"content-length", b"0")]).declares_body
    chunked = RequestHead([(b"transfer-encoding", b"chunked")])
    assert chunked.declares_body
    assert chunked.body_length is None
    unreadable = RequestHead([(b"content-length", b"12abc")])
    assert unreadable.declares_body
    assert unreadable.body_length is None


def test_response_headers_drop_hop_by_hop_and_connection_tokens() -> None:
    raw = [
        (b"Connection", b"close, X-Private"),
        (b"X-Private", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Content-Type", b"text/plain"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert response_headers(raw) == [
        (b"Content-Type", b"text/plain"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]


A = Upstream("a", "http://a")
B = Upstream("b", "http://b")
C = Upstream("c", "http://c")


def _balancer(strategy: str, clock: FakeClock, *, eject_after: int = 2) -> LoadBalancer:
    return LoadBalancer(
        StaticInstances({"svc": ["http://a", "http://b", "http://c"]}),
        strategy=strategy,  # type: ignore[arg-type]
        eject_after=eject_after,
        eject_seconds=30,
        clock=clock,
    )


def test_round_robin_takes_turns() -> None:
    balancer = _balancer("round-robin", FakeClock())
    picks = []
    for _ in range(6):
        lease = balancer.acquire("svc")
        assert lease is not None
        picks.append(lease.upstream.instance_id)
        lease.success()
    assert picks == ["http://a", "http://b", "http://c"] * 2


def test_least_outstanding_avoids_busy_instances() -> None:
    balancer = _balancer("least-outstanding", FakeClock())
    held = [balancer.acquire("svc") for _ in range(3)]
    assert sorted(h.upstream.base_url for h in held if h) == ["http://a", "http://b", "http://c"]
    assert held[0] is not None
    assert held[2] is not None
    held[0].success()
    nxt = balancer.acquire("svc")
    assert nxt is not None
    assert nxt.upstream.base_url == held[0].upstream.base_url
    assert balancer.outstanding(held[2].upstream) == 1


def test_consecutive_failures_eject_and_the_cool_off_readmits() -> None:
    clock = FakeClock()
    balancer = _balancer("round-robin", clock)
    for _ in range(2):
        lease = balancer.acquire("svc", exclude={"http://b", "http://c"})
        assert lease is not None
        lease.failure()
    assert balancer.is_ejected(A)
    picks = set()
    for _ in range(6):
        lease = balancer.acquire("svc")
        assert lease is not None
        picks.add(lease.upstream.base_url)
        lease.success()
    assert picks == {"http://b", "http://c"}
    clock.now += 31
    assert not balancer.is_ejected(A)
    lease = balancer.acquire("svc", exclude={"http://b", "http://c"})
    assert lease is not None
    assert lease.upstream.base_url == A.base_url


def test_a_success_resets_the_failure_streak_and_release_is_no_verdict() -> None:
    balancer = _balancer("round-robin", FakeClock(), eject_after=3)
    for verdict in ("failure", "failure", "success", "failure", "release", "failure"):
        lease = balancer.acquire("svc", exclude={"http://b", "http://c"})
        assert lease is not None
        getattr(lease, verdict)()
    assert not balancer.is_ejected(A)


def test_every_instance_ejected_still_serves() -> None:
    balancer = _balancer("round-robin", FakeClock(), eject_after=1)
    for base in ("http://a", "http://b", "http://c"):
        others = {"http://a", "http://b", "http://c"} - {base}
        lease = balancer.acquire("svc", exclude=others)
        assert lease is not None
        lease.failure()
    assert all(balancer.is_ejected(u) for u in (A, B, C))
    assert balancer.acquire("svc") is not None
    assert balancer.acquire("nobody") is None


def test_retry_budget_allows_a_share_of_requests() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, minimum=2, window_seconds=10, clock=clock)
    for _ in range(50):
        budget.record_request()
    spent = sum(budget.try_spend() for _ in range(20))
    assert spent == 10
    clock.now += 11
    assert sum(budget.try_spend() for _ in range(5)) == 2


def test_settings_refuse_an_inconsistent_table() -> None:
    with pytest.raises(ValidationError, match="duplicate prefixes"):
        GatewaySettings(
            routes=[RouteConfig(prefix="/a", service="x"), RouteConfig(prefix="/a/", service="y")]
        )
    with pytest.raises(ValidationError, match="rate-limit classes"):
        GatewaySettings(routes=[RouteConfig(prefix="/a", service="x", rate_limit="nope")])


def test_settings_refuse_any_origin_with_credentials() -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS may not contain"):
        GatewaySettings(cors_origins=("*",), cors_allow_credentials=True)
    assert GatewaySettings(cors_origins=("*",)).cors_origins == ("*",)


class StubDirectory:
    def __init__(self) -> None:
        self.view: dict[str, list[ServiceInstance]] = {}

    def instances(self, app_name: str) -> list[ServiceInstance]:
        return self.view.get(app_name.upper(), [])


def test_registry_instances_fall_back_to_static_urls() -> None:
    directory = StubDirectory()
    source = FallbackInstances(
        RegistryInstances(directory),  # type: ignore[arg-type]
        StaticInstances({"catalog": ["http://catalog:8102"]}),
    )
    assert [u.base_url for u in source.instances("catalog")] == ["http://catalog:8102"]
    directory.view["CATALOG"] = [
        ServiceInstance("CATALOG", "c1", "http://10.0.0.1:8102", InstanceStatus.UP),
        ServiceInstance("CATALOG", "c2", "http://10.0.0.2:8102", InstanceStatus.UP),
    ]
    found = source.instances("catalog")
    assert [(u.instance_id, u.base_url) for u in found] == [
        ("c1", "http://10.0.0.1:8102"),
        ("c2", "http://10.0.0.2:8102"),
    ]
    assert source.instances("catalog") is found
    assert source.instances("users") == ()
