# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the key ranges of a single integer primary key (engine._KeyRanges): bounds, buckets, slices."""

from __future__ import annotations

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import engine
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import PostgresDialect, Side
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.normalize import Kind
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.typemap import ColumnInfo

INT8_MIN, INT8_MAX = -(2 ** 63), 2 ** 63 - 1


def test_cut_covers_every_value_once_in_equal_widths():
    assert engine._cut(1, 10, 3) == [(1, 4), (5, 8), (9, 10)]
    assert engine._cut(1, 9, 3) == [(1, 3), (4, 6), (7, 9)]
    assert engine._cut(5, 6, 64) == [(5, 5), (6, 6)]  # fewer ranges than asked when fewer values
    assert engine._cut(7, 7, 4) == [(7, 7)]
    assert engine._cut(0, -1, 4) == []  # both sides empty


def test_cut_at_the_int8_limits_stays_within_them():
    ranges = engine._cut(INT8_MIN, INT8_MAX, 1024)
    assert len(ranges) == 1024 and ranges[0][0] == INT8_MIN and ranges[-1][1] == INT8_MAX
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert all(INT8_MIN <= lo <= hi <= INT8_MAX for lo, hi in ranges)


def test_fine_ranges_nest_in_their_bucket():
    r = engine._KeyRanges(1, 1_000_000, 64, 8)
    assert len(r.bounds) == 8 * 64
    assert [r.bucket_of(i) for i in (0, 63, 64, 511)] == [0, 0, 1, 7]
    assert r.bounds[63][1] == 125_000 and r.bounds[64][0] == 125_001  # bucket 0 holds ids 1..125000 ...
    assert engine._KeyRanges(1, 1_000_000, 1, 8).bounds[0] == (1, 125_000)  # ... as in checksum mode
    # fine ranges hold at least MIN_FINE_WIDTH key values: fewer of them on a narrow key span
    assert len(engine._KeyRanges(1, 100_000, 64, 8).bounds) == 8 * 12
    assert len(engine._KeyRanges(1, 10_000, 64, 8).bounds) == 8
    # reported buckets: fine digests summed per bucket
    assert r.coarse({0: (2, 5), 63: (1, 2 ** 64 - 1), 64: (3, 7)}) == {0: (3, 4), 1: (3, 7)}


def test_ranges_follow_the_histogram_not_an_outlier():
    # 1..10000 dense plus one sentinel key 2**63 - 1: equal widths would put every row but one in the first range.
    assert engine._cut(1, INT8_MAX, 8)[0][1] > 10 ** 18
    histogram = list(range(1, 10_001, 100)) + [10_000]  # 100 equal-depth intervals, as ANALYZE samples them
    ranges = engine._coarse_ranges(1, INT8_MAX, 8, histogram)
    inner = [r for r in ranges if r[1] <= 10_000]
    assert len(inner) == 8 and all(1200 <= hi - lo + 1 <= 1300 for lo, hi in inner)
    assert ranges[0][0] == 1 and ranges[-1][1] == INT8_MAX and len(ranges) <= 8 + 8  # the tail: at most n more
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))


def test_ranges_beyond_the_histogram_get_its_average_width():
    # rows added below and above the sampled bounds since the last ANALYZE
    ranges = engine._coarse_ranges(-999, 2000, 10, [1, 250, 500, 750, 1000])
    assert ranges[0] == (-999, -900) and ranges[-1] == (1901, 2000) and len(ranges) == 30
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert engine._coarse_ranges(1, 100, 4, [50]) == engine._cut(1, 100, 4)  # no histogram to speak of
    assert engine._int_list("{1,20,-300}") == [1, 20, -300] and engine._int_list("{a,b}") == ()


def test_slices_are_contiguous_and_disjoint():
    r = engine._KeyRanges(1, 100, 1, 10)
    seen = []
    for part in range(3):
        _, params = r.digests(PostgresDialect(), _side(), part, 3)
        seen.append(params[0])
    assert seen == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    _, params = r.rows(PostgresDialect(), _side(), [2, 9])
    assert params == [[21, 91], [30, 100]]


def _side():
    return Side("public", "t", ((ColumnInfo("id", "int8"), Kind("int")),), ())
