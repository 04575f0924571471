from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotilike.streaming.ranges import (
    ByteRange,
    RangeOutcome,
    RangePlan,
    content_range,
    if_range_matches,
    plan_range,
    unsatisfied_range,
)

pytestmark = pytest.mark.unit

SIZE = 10_000
ETAG = '"v1-abc"'
MODIFIED = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
MODIFIED_IMF = "Sun, 06 Nov 1994 08:49:37 GMT"


def partial(header: str, size: int = SIZE) -> ByteRange:
    plan = plan_range(header, size=size)
    assert plan.outcome is RangeOutcome.PARTIAL, plan
    assert plan.byte_range is not None
    return plan.byte_range


def outcome(header: str | None, size: int = SIZE, max_ranges: int = 8) -> RangeOutcome:
    return plan_range(header, size=size, max_ranges=max_ranges).outcome


class TestByteRange:
    def test_length_counts_both_ends(self) -> None:
        assert ByteRange(0, 0).length == 1
        assert ByteRange(500, 999).length == 500

    @pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4)])
    def test_rejects_impossible_ranges(self, start: int, end: int) -> None:
        with pytest.raises(ValueError, match="invalid byte range"):
            ByteRange(start, end)


class TestHeaderValues:
    def test_content_range_rfc_example(self) -> None:
        assert content_range(ByteRange(42, 1233), 1234) == "bytes 42-1233/1234"

    def test_unsatisfied_range_rfc_example(self) -> None:
        assert unsatisfied_range(1234) == "bytes */1234"


class TestRfc9110Examples:
    """The byte-range examples of RFC 9110 sections 14.1.2, 14.2 and 15.3.7, size 10000."""

    @pytest.mark.parametrize(
        ("header", "start", "end"),
        [
            ("bytes=0-499", 0, 499),
            ("bytes=500-999", 500, 999),
            ("bytes=-500", 9500, 9999),
            ("bytes=9500-", 9500, 9999),
            ("bytes=7000-7999", 7000, 7999),
            ("bytes=500-600,601-999", 500, 999),
            ("bytes=500-700,601-999", 500, 999),
        ],
    )
    def test_single_or_coalesced_ranges(self, header: str, start: int, end: int) -> None:
        assert partial(header) == ByteRange(start, end)

    @pytest.mark.parametrize("header", ["bytes=0-0,-1", "bytes=0-999, 4500-5499, -1000"])
    def test_disjoint_ranges_get_the_whole_file(self, header: str) -> None:
        plan = plan_range(header, size=SIZE)
        assert plan.outcome is RangeOutcome.IGNORED
        assert (plan.status_code, plan.content_range, plan.content_length) == (200, None, SIZE)

    def test_single_part_206_headers(self) -> None:
        plan = plan_range("bytes=21010-47021", size=47022)
        assert plan.status_code == 206
        assert plan.content_range == "bytes 21010-47021/47022"
        assert plan.content_length == 47021 - 21010 + 1


class TestSingleRanges:
    def test_end_is_clamped_to_last_byte(self) -> None:
        assert partial("bytes=9000-20000") == ByteRange(9000, 9999)

    def test_suffix_longer_than_file_is_whole_file(self) -> None:
        assert partial("bytes=-20000") == ByteRange(0, 9999)

    def test_one_byte_ranges(self) -> None:
        assert partial("bytes=0-0") == ByteRange(0, 0)
        assert partial("bytes=9999-9999") == ByteRange(9999, 9999)
        assert partial("bytes=-1") == ByteRange(9999, 9999)

    def test_leading_zeros_are_plain_digits(self) -> None:
        assert partial("bytes=0010-0019") == ByteRange(10, 19)

    def test_unit_is_case_insensitive(self) -> None:
        assert partial("BYTES=1-2") == ByteRange(1, 2)
        assert partial("Bytes=1-2") == ByteRange(1, 2)


class TestUnsatisfiable:
    @pytest.mark.parametrize(
        "header", ["bytes=10000-", "bytes=10000-10005", "bytes=-0", "bytes=20000-30000"]
    )
    def test_416_with_star_content_range(self, header: str) -> None:
        plan = plan_range(header, size=SIZE)
        assert plan.outcome is RangeOutcome.UNSATISFIABLE
        assert plan.status_code == 416
        assert plan.content_range == "bytes */10000"
        assert plan.content_length == 0
        assert plan.byte_range is None

    def test_all_parts_unsatisfiable(self) -> None:
        assert outcome("bytes=-0, 10000-, 99999-100000") is RangeOutcome.UNSATISFIABLE

    def test_unsatisfiable_parts_are_dropped_when_one_fits(self) -> None:
        assert partial("bytes=20000-, 5-9, -0") == ByteRange(5, 9)

    def test_empty_file_non_suffix_is_unsatisfiable(self) -> None:
        plan = plan_range("bytes=0-", size=0)
        assert plan.outcome is RangeOutcome.UNSATISFIABLE
        assert plan.content_range == "bytes */0"

    def test_empty_file_with_suffix_is_served_whole(self) -> None:
        plan = plan_range("bytes=-5", size=0)
        assert (plan.status_code, plan.content_length, plan.content_range) == (200, 0, None)


class TestIgnoredHeaders:
    @pytest.mark.parametrize(
        "header",
        [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=-",
            "bytes=5",
            "bytes=a-b",
            "bytes=1-a",
            "bytes=5-4",
            "bytes=+1-5",
            "bytes=1_0-20",
            "bytes=\u0661-5",
            "bytes=1--5",
            "bytes=--5",
            "bytes=1-2-3",
            "bytes=0x10-20",
            "bytes = 0-1",
            "bytes= 0 -1",
            "bytes=0- 1",
            "=0-1",
            "by tes=0-1",
            "bytes=0-1;q=1",
            "bytes=0-1,5",
            "bytes=0-1, 4-2",
        ],
    )
    def test_malformed_is_ignored(self, header: str) -> None:
        plan = plan_range(header, size=SIZE)
        assert plan.outcome is RangeOutcome.IGNORED
        assert plan.reason == "malformed Range"
        assert (plan.status_code, plan.content_length, plan.byte_range) == (200, SIZE, None)

    @pytest.mark.parametrize("header", ["items=0-1", "none=0-1", "pages=1-"])
    def test_other_units_are_ignored(self, header: str) -> None:
        plan = plan_range(header, size=SIZE)
        assert plan.outcome is RangeOutcome.IGNORED
        assert plan.reason is not None
        assert "unit" in plan.reason

    def test_no_header_is_full(self) -> None:
        plan = plan_range(None, size=SIZE)
        assert plan == RangePlan(RangeOutcome.FULL, SIZE)
        assert (plan.status_code, plan.content_length, plan.content_range) == (200, SIZE, None)


class TestWhitespace:
    @pytest.mark.parametrize(
        "header",
        [
            " bytes=0-4 ",
            "\tbytes=0-4\t",
            "bytes=0-4 ,",
            "bytes=,0-4",
            "bytes=0-2 ,\t3-4",
            "bytes= 0-4",
            "bytes=0-1,,, 2-4",
        ],
    )
    def test_optional_whitespace_and_empty_elements(self, header: str) -> None:
        assert partial(header) == ByteRange(0, 4)


class TestManyRanges:
    def test_overlapping_many_is_one_range_not_amplified(self) -> None:
        header = "bytes=" + ",".join(["0-9999"] * 8)
        plan = plan_range(header, size=SIZE)
        assert plan.byte_range == ByteRange(0, 9999)
        assert plan.content_length == SIZE

    def test_adjacent_ranges_in_any_order_coalesce(self) -> None:
        assert partial("bytes=20-29, 0-9, 10-19") == ByteRange(0, 29)

    def test_suffix_and_open_ranges_coalesce(self) -> None:
        assert partial("bytes=9000-, -500, 8000-9000") == ByteRange(8000, 9999)

    def test_more_than_max_ranges_is_ignored_even_if_overlapping(self) -> None:
        header = "bytes=" + ",".join(["0-1"] * 9)
        plan = plan_range(header, size=SIZE)
        assert plan.outcome is RangeOutcome.IGNORED
        assert plan.reason == "more than 8 ranges"

    def test_max_ranges_limit_is_inclusive_and_configurable(self) -> None:
        header = "bytes=0-1,2-3,4-5"
        assert outcome(header, max_ranges=3) is RangeOutcome.PARTIAL
        assert outcome(header, max_ranges=2) is RangeOutcome.IGNORED

    def test_empty_elements_do_not_count_towards_the_limit(self) -> None:
        assert partial("bytes=0-1" + "," * 50, size=SIZE) == ByteRange(0, 1)

    def test_huge_range_list_is_ignored(self) -> None:
        header = "bytes=" + ",".join(f"{i * 2}-{i * 2}" for i in range(10_000))
        assert outcome(header) is RangeOutcome.IGNORED

    @pytest.mark.parametrize("bad_limit", [0, -1])
    def test_max_ranges_must_be_positive(self, bad_limit: int) -> None:
        with pytest.raises(ValueError, match="max_ranges"):
            plan_range("bytes=0-1", size=SIZE, max_ranges=bad_limit)


class TestHugeNumbers:
    def test_huge_start_is_unsatisfiable(self) -> None:
        assert outcome(f"bytes={2**64}-") is RangeOutcome.UNSATISFIABLE
        assert outcome(f"bytes={'9' * 5000}-{'9' * 5001}") is RangeOutcome.UNSATISFIABLE

    def test_huge_end_is_clamped(self) -> None:
        assert partial(f"bytes=100-{2**63}") == ByteRange(100, 9999)
        assert partial(f"bytes=100-{'9' * 10_000}") == ByteRange(100, 9999)

    def test_huge_suffix_is_whole_file(self) -> None:
        assert partial(f"bytes=-{2**64 + 1}") == ByteRange(0, 9999)

    def test_huge_numbers_keep_their_order(self) -> None:
        # Both ends are beyond any size but last < first: invalid, not unsatisfiable.
        header = f"bytes={'9' * 30}-{'9' * 29}8"
        assert outcome(header) is RangeOutcome.IGNORED

    def test_long_leading_zeros_are_small_numbers(self) -> None:
        assert partial(f"bytes={'0' * 5000}7-{'0' * 5000}8") == ByteRange(7, 8)

    def test_file_larger_than_2_to_63(self) -> None:
        size = 2**63 + 10
        assert partial("bytes=-5", size=size) == ByteRange(size - 5, size - 1)

    def test_negative_size_is_refused(self) -> None:
        with pytest.raises(ValueError, match="size"):
            plan_range("bytes=0-1", size=-1)


class TestIfRange:
    def plan(self, if_range: str, *, etag: str | None = ETAG) -> RangePlan:
        return plan_range("bytes=0-99", if_range, size=SIZE, etag=etag, last_modified=MODIFIED)

    def test_matching_strong_etag_honours_range(self) -> None:
        assert self.plan(ETAG).byte_range == ByteRange(0, 99)

    def test_etag_with_surrounding_whitespace(self) -> None:
        assert self.plan(f" {ETAG}\t").outcome is RangeOutcome.PARTIAL

    @pytest.mark.parametrize(
        ("if_range", "etag"),
        [
            ('"v2-abc"', ETAG),
            ('W/"v1-abc"', ETAG),
            (ETAG, 'W/"v1-abc"'),
            ('W/"v1-abc"', 'W/"v1-abc"'),
            ('"v1-ABC"', ETAG),
            ("v1-abc", ETAG),
            ('"v1-abc', '"v1-abc'),
            ('"v1"abc"', '"v1"abc"'),
            (ETAG, None),
        ],
    )
    def test_other_or_weak_etags_serve_full(self, if_range: str, etag: str | None) -> None:
        plan = self.plan(if_range, etag=etag)
        assert plan.outcome is RangeOutcome.IGNORED
        assert plan.reason == "If-Range does not match the current file"
        assert (plan.status_code, plan.content_length) == (200, SIZE)

    @pytest.mark.parametrize(
        "if_range",
        [MODIFIED_IMF, "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
    )
    def test_exact_date_in_any_http_date_format_honours_range(self, if_range: str) -> None:
        assert self.plan(if_range).outcome is RangeOutcome.PARTIAL

    @pytest.mark.parametrize(
        "if_range",
        [
            "Sun, 06 Nov 1994 08:49:38 GMT",
            "Sun, 06 Nov 1994 08:49:36 GMT",
            "Sun, 06 Nov 1994 10:49:37 +0200",
            "yesterday",
            "",
        ],
    )
    def test_other_dates_serve_full(self, if_range: str) -> None:
        assert self.plan(if_range).outcome is RangeOutcome.IGNORED

    def test_subsecond_last_modified_matches_its_http_date(self) -> None:
        precise = MODIFIED + timedelta(microseconds=123_456)
        assert if_range_matches(MODIFIED_IMF, etag=ETAG, last_modified=precise)

    def test_last_modified_in_other_zone_compares_as_instant(self) -> None:
        local = MODIFIED.astimezone(timezone(timedelta(hours=-5)))
        assert if_range_matches(MODIFIED_IMF, etag=None, last_modified=local)

    def test_date_without_last_modified_never_matches(self) -> None:
        assert not if_range_matches(MODIFIED_IMF, etag=ETAG, last_modified=None)

    def test_naive_last_modified_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            if_range_matches(MODIFIED_IMF, etag=None, last_modified=datetime(1994, 11, 6))

    def test_if_range_without_range_is_full(self) -> None:
        plan = plan_range(None, '"other"', size=SIZE, etag=ETAG)
        assert plan.outcome is RangeOutcome.FULL

    def test_matching_if_range_still_reports_unsatisfiable(self) -> None:
        plan = plan_range("bytes=20000-", ETAG, size=SIZE, etag=ETAG)
        assert plan.outcome is RangeOutcome.UNSATISFIABLE


HEADER_ALPHABET = st.sampled_from(list('bytesBYTES=-,0123456789 \t;xW/"+_\u0661'))
spec_strategy = st.one_of(
    st.tuples(st.integers(0, 2**70), st.integers(0, 2**70)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.integers(0, 2**70).map(lambda n: f"{n}-"),
    st.integers(0, 2**70).map(lambda n: f"-{n}"),
)
structured_header = st.lists(spec_strategy, min_size=1, max_size=12).map(
    lambda specs: "bytes=" + " , ".join(specs)
)
any_header = st.one_of(
    st.text(), st.text(HEADER_ALPHABET), st.text(HEADER_ALPHABET).map("bytes=".__add__)
)
sizes = st.one_of(st.integers(0, 50), st.integers(0, 2**64))


def check_invariants(plan: RangePlan, size: int) -> None:
    assert plan.size == size
    if plan.outcome is RangeOutcome.PARTIAL:
        assert plan.byte_range is not None
        assert 0 <= plan.byte_range.start <= plan.byte_range.end < size
        assert plan.status_code == 206
        assert plan.content_length <= size
    else:
        assert plan.byte_range is None
        assert plan.status_code in (200, 416)
        assert plan.content_length in (0, size)


@given(header=st.one_of(any_header, structured_header), size=sizes, if_range=st.none() | st.text())
def test_planner_never_raises_and_stays_in_bounds(
    header: str, size: int, if_range: str | None
) -> None:
    plan = plan_range(header, if_range, size=size, etag=ETAG, last_modified=MODIFIED)
    check_invariants(plan, size)


@given(first=st.integers(0, 120), last=st.integers(0, 120), size=st.integers(1, 100))
def test_single_range_matches_python_slicing(first: int, last: int, size: int) -> None:
    plan = plan_range(f"bytes={first}-{last}", size=size)
    data = bytes(range(size))
    if last < first:
        assert plan.outcome is RangeOutcome.IGNORED
    elif first >= size:
        assert plan.outcome is RangeOutcome.UNSATISFIABLE
    else:
        assert plan.byte_range is not None
        r = plan.byte_range
        assert data[r.start : r.end + 1] == data[first : last + 1]


@given(suffix=st.integers(0, 120), size=st.integers(1, 100))
def test_suffix_range_matches_python_slicing(suffix: int, size: int) -> None:
    plan = plan_range(f"bytes=-{suffix}", size=size)
    data = bytes(range(size))
    if suffix == 0:
        assert plan.outcome is RangeOutcome.UNSATISFIABLE
    else:
        assert plan.byte_range is not None
        r = plan.byte_range
        assert data[r.start : r.end + 1] == data[-suffix:]


@given(
    pairs=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=8),
    size=st.integers(1, 50),
)
def test_multi_range_plan_covers_exactly_the_requested_bytes(
    pairs: list[tuple[int, int]], size: int
) -> None:
    specs = [(min(a, b), max(a, b)) for a, b in pairs]
    header = "bytes=" + ",".join(f"{a}-{b}" for a, b in specs)
    wanted = {i for a, b in specs for i in range(a, min(b, size - 1) + 1)}
    plan = plan_range(header, size=size)
    if not wanted:
        assert plan.outcome is RangeOutcome.UNSATISFIABLE
    elif max(wanted) - min(wanted) + 1 == len(wanted):
        assert plan.byte_range == ByteRange(min(wanted), max(wanted))
    else:
        assert plan.outcome is RangeOutcome.IGNORED
        assert plan.content_length == size
