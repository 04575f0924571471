"""The routing table: which service a request path goes to, and under which rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from spotilike.gateway.settings import RouteConfig

__all__ = ["Route", "RouteTable", "path_refusal"]


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    service: str
    timeout_seconds: float
    public: bool
    public_methods: frozenset[str]
    rate_limit: str | None
    strip_prefix: bool

    @classmethod
    def from_config(cls, config: RouteConfig) -> Route:
        return cls(
            prefix=config.prefix.rstrip("/") or "/",
            service=config.service,
            timeout_seconds=config.timeout_seconds,
            public=config.auth == "public",
            public_methods=frozenset(m.upper() for m in config.public_methods),
            rate_limit=config.rate_limit,
            strip_prefix=config.strip_prefix,
        )

    @property
    def path(self) -> str:
        """The label the kit's request metrics use for this route."""
        return self.prefix + "/*" if self.prefix != "/" else "/*"

    def matches(self, path: str) -> bool:
        """On a segment boundary: ``/catalog`` takes ``/catalog/x``, never ``/catalogue``."""
        if self.prefix == "/":
            return True
        return path == self.prefix or path.startswith(self.prefix + "/")

    def needs_token(self, method: str) -> bool:
        return not self.public and method not in self.public_methods

    def upstream_path(self, raw_path: str) -> str:
        """The path sent upstream, from the still percent-encoded request path."""
        if not self.strip_prefix or self.prefix == "/":
            return raw_path
        rest = raw_path[len(self.prefix) :] if raw_path.startswith(self.prefix) else raw_path
        return rest if rest.startswith("/") else "/" + rest


class RouteTable:
    """Longest prefix wins, so ``/ws/social`` can differ from a ``/ws`` route."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = sorted(routes, key=lambda route: -len(route.prefix))

    @classmethod
    def from_configs(cls, configs: Iterable[RouteConfig]) -> RouteTable:
        return cls(Route.from_config(config) for config in configs)

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    @property
    def services(self) -> frozenset[str]:
        return frozenset(route.service for route in self._routes)

    def match(self, path: str) -> Route | None:
        for route in self._routes:
            if route.matches(path):
                return route
        return None


_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f]")


def path_refusal(path: str) -> str | None:
    """Why a decoded request path is refused, or None when it may be routed.

    Routing is decided on the path as received. An upstream that normalised
    ``/catalog/../admin`` afterwards would run an admin route under the catalog's public
    rules, so ``.``/``..`` segments (also between backslashes) are refused instead of
    forwarded. Control characters are refused too: a service's route patterns end in
    ``$``, which also matches before a final newline, so ``/tracks/x%0A`` would reach the
    handler of ``/tracks/x``, and no legitimate URL of the platform holds one.
    """
    if _CONTROL_CHARACTERS.search(path):
        return "The path holds a control character (%00-%1F or %7F); remove it."
    if "." not in path:
        return None
    segments = path.replace("\\", "/").split("/")
    if any(segment in {".", ".."} for segment in segments):
        return "The path has '.' or '..' segments; send the normalised path."
    return None
