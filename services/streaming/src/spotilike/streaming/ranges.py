"""Deciding how to answer a download request that carries ``Range`` (RFC 9110 section 14).

Why our own parser: the two candidates in our environment do not fit as a runtime piece.
Starlette 1.10 has a parser, but it is a private classmethod of ``FileResponse``
(``_parse_range_header``) that skips malformed parts instead of ignoring the whole field,
accepts ``int()`` spellings the ABNF forbids (``+5``, ``1_0``, non-ASCII digits), compares
If-Range dates as raw strings and answers disjoint ranges with multipart bodies.
``werkzeug.http.parse_range_header`` is a sound public parser, but werkzeug is only a
transitive dev dependency here, and a WSGI toolkit is a heavy runtime dependency for
one function that would still leave If-Range, coalescing and the refusal policy to us.

The planner only decides; the caller sends the bytes. It does not check the request
method: RFC 9110 defines Range for GET only, so callers pass ``None`` for other methods.

Policy, chosen so that one request never costs more than one copy of the file:

- Only the ``bytes`` unit is understood; any other unit, or a syntactically invalid
  field, is ignored and the whole file is served (200), as section 14.2 requires.
- Unsatisfiable specs in a list are dropped; if none is left the answer is 416 with
  ``Content-Range: bytes */size``.
- Satisfiable specs are sorted and overlapping or adjacent ones are merged. One range
  left is served as a single-part 206.
- Several disjoint ranges left, or more than ``max_ranges`` specs asked for, are answered
  with the whole file (200). We never produce ``multipart/byteranges``; a 416 would be
  wrong because the ranges *are* satisfiable (a client would take it as "file changed or
  too short"), while ignoring Range is always allowed (section 14.2) and a full body is
  bounded by the file size, so nothing can be amplified.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

__all__ = [
    "ByteRange",
    "RangeOutcome",
    "RangePlan",
    "content_range",
    "if_range_matches",
    "plan_range",
    "unsatisfied_range",
]

_OWS = " \t"
_DIGITS = re.compile(r"[0-9]+")
_UNIT = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Positions with more significant digits than this are beyond any real file size
# (10**19 > 2**63); clamping them avoids int() on arbitrarily long digit strings.
_MAX_DIGITS = 19
_BEYOND_ANY_SIZE: int = 10**_MAX_DIGITS

_Spec = tuple[str | None, str | None]
"""(first-pos digits, last-pos digits); first ``None`` is a suffix, last ``None`` open."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A run of bytes of the file; ``end`` is inclusive, as in ``Content-Range``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid byte range {self.start}-{self.end}")

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeOutcome(StrEnum):
    FULL = "full"
    """No Range field: 200 with the whole file."""
    IGNORED = "ignored"
    """Range was present but is not honoured (malformed, other unit, If-Range mismatch,
    disjoint or too many ranges): 200 with the whole file. Kept apart from FULL for
    logs and metrics."""
    PARTIAL = "partial"
    """206 with the bytes of ``byte_range``."""
    UNSATISFIABLE = "unsatisfiable"
    """416 with ``Content-Range: bytes */size``."""


@dataclass(frozen=True, slots=True)
class RangePlan:
    """What to answer; ``reason`` says why a Range field was not honoured."""

    outcome: RangeOutcome
    size: int
    byte_range: ByteRange | None = None
    reason: str | None = None

    @property
    def status_code(self) -> int:
        if self.outcome is RangeOutcome.PARTIAL:
            return 206
        if self.outcome is RangeOutcome.UNSATISFIABLE:
            return 416
        return 200

    @property
    def content_range(self) -> str | None:
        """Value of the ``Content-Range`` header, or ``None`` when none is sent."""
        if self.byte_range is not None:
            return content_range(self.byte_range, self.size)
        if self.outcome is RangeOutcome.UNSATISFIABLE:
            return unsatisfied_range(self.size)
        return None

    @property
    def content_length(self) -> int:
        """Number of body bytes to send (0 for a 416, whose body we leave empty)."""
        if self.byte_range is not None:
            return self.byte_range.length
        if self.outcome is RangeOutcome.UNSATISFIABLE:
            return 0
        return self.size


def content_range(r: ByteRange, size: int) -> str:
    return f"bytes {r.start}-{r.end}/{size}"


def unsatisfied_range(size: int) -> str:
    return f"bytes */{size}"


def plan_range(
    range_header: str | None,
    if_range: str | None = None,
    *,
    size: int,
    etag: str | None = None,
    last_modified: datetime | None = None,
    max_ranges: int = 8,
) -> RangePlan:
    """Decide between 200, 206 and 416 for a GET of a file of ``size`` bytes.

    ``etag`` is the file's current ETag as sent (``'"abc"'`` or ``'W/"abc"'``);
    ``last_modified`` its timezone-aware modification time. Both only matter when the
    request carries If-Range.
    """
    if size < 0:
        raise ValueError(f"size must not be negative, got {size}")
    if max_ranges < 1:
        raise ValueError(f"max_ranges must be at least 1, got {max_ranges}")
    if range_header is None:
        return RangePlan(RangeOutcome.FULL, size)
    if if_range is not None and not if_range_matches(
        if_range, etag=etag, last_modified=last_modified
    ):
        return _ignored(size, "If-Range does not match the current file")

    specs = _parse_byte_specs(range_header, max_ranges)
    if isinstance(specs, str):
        return _ignored(size, specs)
    return _plan_specs(specs, size)


def if_range_matches(if_range: str, *, etag: str | None, last_modified: datetime | None) -> bool:
    """Whether If-Range lets the Range field be honoured (RFC 9110 section 13.1.5).

    An entity tag needs a strong match: a weak tag on either side never matches. A date
    must equal Last-Modified exactly, to the second, not merely be later.
    """
    validator = if_range.strip(_OWS)
    if validator.startswith(('"', "W/")):
        return (
            etag is not None
            and _is_strong_etag(validator)
            and _is_strong_etag(etag)
            and validator == etag
        )
    if last_modified is None:
        return False
    if last_modified.tzinfo is None:
        raise ValueError("last_modified must be timezone-aware")
    try:
        stated = parsedate_to_datetime(validator)
    except (TypeError, ValueError):
        return False
    if stated.tzinfo is None:
        # asctime() dates carry no zone; HTTP-dates are always GMT.
        stated = stated.replace(tzinfo=UTC)
    elif stated.utcoffset() != timedelta(0):
        return False
    return stated == last_modified.replace(microsecond=0)


def _plan_specs(specs: list[_Spec], size: int) -> RangePlan:
    if size == 0:
        # A non-zero suffix is satisfiable (the "whole" empty file), yet no
        # Content-Range can describe zero bytes, so the empty file goes out as 200.
        if any(first is None for first, _ in specs):
            return _ignored(size, "empty file")
        return RangePlan(RangeOutcome.UNSATISFIABLE, size, reason="empty file")
    ranges = [r for r in (_resolve(spec, size) for spec in specs) if r is not None]
    if not ranges:
        return RangePlan(RangeOutcome.UNSATISFIABLE, size, reason="no range overlaps the file")
    merged = _coalesce(sorted(ranges, key=lambda r: r.start))
    if len(merged) > 1:
        return _ignored(size, "disjoint ranges (no multipart/byteranges)")
    return RangePlan(RangeOutcome.PARTIAL, size, byte_range=merged[0])


def _is_strong_etag(value: str) -> bool:
    return len(value) >= 2 and value[0] == '"' and value[-1] == '"' and '"' not in value[1:-1]


def _parse_byte_specs(header: str, max_ranges: int) -> list[_Spec] | str:
    """The specs of a ``bytes`` Range field, or the reason the field is ignored.

    Whitespace is allowed only where the ABNF allows it: around the field and around
    list elements; empty list elements are skipped (RFC 9110 section 5.6.1).
    """
    unit, equals, range_set = header.strip(_OWS).partition("=")
    if not equals or _UNIT.fullmatch(unit) is None:
        return "malformed Range"
    if unit.lower() != "bytes":
        return f"unsupported range unit {unit!r}"
    specs: list[_Spec] = []
    for raw_element in range_set.split(","):
        element = raw_element.strip(_OWS)
        if not element:
            continue
        if len(specs) == max_ranges:
            return f"more than {max_ranges} ranges"
        spec = _parse_spec(element)
        if spec is None:
            return "malformed Range"
        specs.append(spec)
    if not specs:
        return "malformed Range"
    return specs


def _parse_spec(element: str) -> _Spec | None:
    """One ``first-last``, ``first-`` or ``-suffix``, or ``None`` when it is invalid."""
    first, dash, last = element.partition("-")
    if not dash:
        return None
    if not first:
        return (None, last) if _DIGITS.fullmatch(last) else None
    if _DIGITS.fullmatch(first) is None:
        return None
    if not last:
        return (first, None)
    if _DIGITS.fullmatch(last) is None or _magnitude(last) < _magnitude(first):
        return None
    return (first, last)


def _magnitude(digits: str) -> tuple[int, str]:
    """Sort key equal to numeric order for ASCII digit strings of any length."""
    significant = digits.lstrip("0")
    return len(significant), significant


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    if len(significant) > _MAX_DIGITS:
        return _BEYOND_ANY_SIZE
    return int(significant or "0")


def _resolve(spec: _Spec, size: int) -> ByteRange | None:
    """The spec's bytes within a non-empty file, or ``None`` when it is unsatisfiable."""
    first, last = spec
    if first is None:
        assert last is not None
        suffix = _position(last)
        if suffix == 0:
            return None
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _position(first)
    if start >= size:
        return None
    end = size - 1 if last is None else min(_position(last), size - 1)
    return ByteRange(start, end)


def _coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    """Merge overlapping and adjacent ranges; ``ranges`` must be sorted."""
    merged = [ranges[0]]
    for r in ranges[1:]:
        current = merged[-1]
        if r.start <= current.end + 1:
            merged[-1] = ByteRange(current.start, max(current.end, r.end))
        else:
            merged.append(r)
    return merged


def _ignored(size: int, reason: str) -> RangePlan:
    return RangePlan(RangeOutcome.IGNORED, size, reason=reason)
