"""Which address a request comes from, for rate limits and X-Forwarded-For.

Each proxy appends the address it saw to X-Forwarded-For, so everything left of the first
hop we do not trust was written by the client and may be forged. Walking from the right,
the first address outside the trusted proxies is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["ClientAddressResolver", "NetworkSet"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class NetworkSet:
    """IP addresses and CIDR ranges from configuration; ``address in networks`` asks."""

    def __init__(self, entries: Iterable[str], *, what: str) -> None:
        networks: list[_Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"{what} {entry!r} is neither an IP address nor a CIDR range"
                ) from exc
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, address: object) -> bool:
        parsed = _address(address) if isinstance(address, str) else None
        return parsed is not None and any(parsed in network for network in self.networks)


class ClientAddressResolver:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted = NetworkSet(trusted_proxies, what="trusted proxy")
        self._networks = self._trusted.networks

    @property
    def trusts_anyone(self) -> bool:
        return bool(self._networks)

    def is_trusted(self, address: str) -> bool:
        return address in self._trusted

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        """The client address: ``peer`` unless it is a trusted proxy.

        Behind trusted proxies it is the rightmost X-Forwarded-For entry that is not one
        of them. An unreadable entry ends the walk at the last good hop: a trusted proxy
        writes addresses, so whatever is not one was written by the client.
        """
        if not self._networks or not forwarded_for or not self.is_trusted(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            parsed = _address(entry)
            if parsed is None:
                return client
            client = str(parsed)
            if not any(parsed in network for network in self._networks):
                return client
        return client
