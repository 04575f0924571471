"""The response a :class:`~spotilike.kit.http.ServiceClient` call returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

__all__ = ["ServiceResponse"]


@dataclass(frozen=True, slots=True)
class ServiceResponse:
    """A fully read upstream response; 4xx and 5xx arrive here too, not as exceptions.

    ``attempts`` counts the requests sent to produce it (1 unless it was retried).
    """

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status < 400

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")
