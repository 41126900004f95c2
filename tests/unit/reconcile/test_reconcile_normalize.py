# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for reconcile/normalize.py (canonical encoding, the reference) and reconcile/typemap.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import struct
import uuid
from decimal import Decimal

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import normalize as n
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.typemap import ColumnInfo, Incompatible, pair
from tests.support.cdcgen.schema import PreciseDateTime, PreciseTime

K = n.Kind


def enc(kind, value, **kw):
    return n.encode_value(K(kind, **kw), value)


def q(i):
    return struct.pack(">q", i)


# --- integers, decimals, floats -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (0, q(0)), (-1, b"\xff" * 8), (2 ** 63 - 1, b"\x7f" + b"\xff" * 7), (-2 ** 63, b"\x80" + b"\x00" * 7),
    (True, q(1)), (False, q(0)), (Decimal("12"), q(12)),
])
def test_int(value, expected):
    assert enc("int", value) == expected


def test_int_refuses_fractions():
    with pytest.raises(ValueError):
        enc("int", Decimal("1.5"))


@pytest.mark.parametrize("value, scale, expected", [
    (Decimal("1.5"), 2, b"1.50"), (Decimal("1.50"), 2, b"1.50"), (Decimal("-0.5"), 2, b"-0.50"),
    (Decimal("-0.00"), 2, b"0.00"), (Decimal("0"), 0, b"0"), (Decimal("19.99"), 4, b"19.9900"),
    (Decimal("1E+3"), 1, b"1000.0"), (Decimal("-922337203685477.5808"), 4, b"-922337203685477.5808"),
    (7, 2, b"7.00"), ("2.5", 0, b"3"), (1.25, 1, b"1.3"),
    (Decimal("1.500"), None, b"1.5"), (Decimal("100.00"), None, b"100"), (Decimal("-0.0"), None, b"0"),
    (Decimal("1E+2"), None, b"100"), (Decimal("NaN"), None, b"NaN"), (Decimal("-Infinity"), 2, b"-Infinity"),
])
def test_decimal_explicit_scale(value, scale, expected):
    assert enc("decimal", value, scale=scale) == expected


@pytest.mark.parametrize("value, bits", [
    (1.0, 0x3FF0000000000000), (-0.0, 0), (0.0, 0), (float("nan"), 0x7FF8000000000000),
    (-float("nan"), 0x7FF8000000000000), (struct.unpack(">d", struct.pack(">Q", 0x7FF0000000000001))[0],
                                          0x7FF8000000000000),
    (float("inf"), 0x7FF0000000000000), (5e-324, 1), (Decimal("2.5"), 0x4004000000000000), (3, 0x4008000000000000),
])
def test_float_bits(value, bits):
    assert enc("float", value) == struct.pack(">Q", bits)


# --- temporal -----------------------------------------------------------------------------------------------------
def test_date():
    assert enc("date", dt.date(1970, 1, 1)) == q(0)
    assert enc("date", dt.date(1969, 12, 31)) == q(-1)
    assert enc("date", dt.date(2024, 1, 2)) == q(19724)
    with pytest.raises(TypeError):
        enc("date", dt.datetime(2024, 1, 2))


@pytest.mark.parametrize("value, micros", [
    (dt.time(0, 0), 0), (dt.time(23, 59, 59, 999999), 86_399_999_999),
    (PreciseTime(1, 0, 0, 5, nanosecond=500), 3_600_000_006),  # time(7): half-up to µs
    (PreciseTime(1, 0, 0, 5, nanosecond=499), 3_600_000_005),
    (PreciseTime(23, 59, 59, 999999, nanosecond=500), 0),      # pgjdbc: 23:59:59.9999995 becomes 00:00:00
    (dt.timedelta(hours=1, microseconds=3), 3_600_000_003),
])
def test_time(value, micros):
    assert enc("time", value) == q(micros)


Y2K = 946_684_800_000_000  # µs from 1970-01-01 to 2000-01-01, the canonical timestamp epoch


@pytest.mark.parametrize("value, micros", [
    (dt.datetime(2000, 1, 1), 0), (dt.datetime(1999, 12, 31, 23, 59, 59, 999999), -1),
    (dt.datetime(1970, 1, 1), -Y2K),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 123456), 1_704_164_645_123_456 - Y2K),
    (PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, nanosecond=700), 1_704_164_645_123_457 - Y2K),
    (PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, nanosecond=400), 1_704_164_645_123_456 - Y2K),
    (PreciseDateTime(1999, 12, 31, 23, 59, 59, 999999, nanosecond=500), 0),
    (dt.datetime(1, 1, 1), -62_135_596_800_000_000 - Y2K),
])
def test_timestamp_epoch_micros(value, micros):
    assert enc("timestamp", value) == q(micros)


def test_timestamptz_is_the_utc_instant():
    plus2 = dt.datetime(2024, 1, 2, 5, 4, 5, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    utc = dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone.utc)
    assert enc("timestamptz", plus2) == enc("timestamptz", utc) == q(1_704_164_645_500_000 - Y2K)
    with pytest.raises(TypeError):
        enc("timestamptz", dt.datetime(2024, 1, 1))
    with pytest.raises(TypeError):
        enc("timestamp", utc)
    with pytest.raises(TypeError):
        enc("timestamp", dt.date(2024, 1, 1))


# --- text, uuid, bytes --------------------------------------------------------------------------------------------
def test_uuid_is_upper_case_text():
    u = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    expected = b"6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert enc("uuid", u) == enc("uuid", str(u)) == enc("uuid", str(u).upper()) == expected


def test_text_utf8_nfc_optional():
    nfd, nfc = "Zoe\u0308", "Zo\u00eb"
    assert enc("text", nfd) != enc("text", nfc)
    assert enc("text", nfd, nfc=True) == enc("text", nfc, nfc=True) == nfc.encode()
    assert enc("text", "😀") == b"\xf0\x9f\x98\x80"
    assert enc("text", "abc  ") == b"abc  "  # only CHAR loses trailing spaces
    with pytest.raises(TypeError):
        enc("text", b"x")


def test_char_right_trims_spaces_only():
    assert enc("char", "abc       ") == enc("char", "abc") == b"abc"
    assert enc("char", " x\t ") == b" x\t"
    assert enc("char", "   ") == b""


def test_bytes_raw():
    assert enc("bytes", b"\x00\xff") == b"\x00\xff"
    assert enc("bytes", bytearray(b"a")) == enc("bytes", memoryview(b"a")) == b"a"
    with pytest.raises(TypeError):
        enc("bytes", "a")


def test_unknown_kind():
    with pytest.raises(ValueError):
        K("json")


# --- framing and hashes -------------------------------------------------------------------------------------------
def test_null_and_empty_frames_differ():
    assert n.encode_value(K("text"), None) is None
    assert n.frame(None) == b"\x00"
    assert n.frame(b"") == b"\x01\x00\x00\x00\x00"
    assert n.frame(b"ab") == b"\x01\x00\x00\x00\x02ab"
    # Length prefixes keep ('ab', 'c') apart from ('a', 'bc').
    kinds = (K("text"), K("text"))
    assert n.frames(kinds, ("ab", "c")) != n.frames(kinds, ("a", "bc"))
    assert n.frames(kinds, (None, "")) != n.frames(kinds, ("", None))


def test_hashes():
    kf = n.frames((K("int"),), (1,))
    khash = n.key_hash(kf)
    assert khash == hashlib.md5(kf).digest()
    # A single integer key is its own bucket source; any other key hashes (first 4 bytes, unsigned).
    assert n.bucket_source((K("int"),), (-9,), kf) == -9
    assert n.bucket_of(-9, 7) == 5  # non-negative, as the SQL ((s % N) + N) % N computes it
    assert n.bucket_source((K("int"),), (None,), n.frames((K("int"),), (None,))) == 0
    tkf = n.frames((K("text"),), ("a",))
    assert n.bucket_source((K("text"),), ("a",), tkf) == int.from_bytes(hashlib.md5(tkf).digest()[:4], "big")
    two = n.frames((K("int"), K("int")), (1, 2))
    assert n.bucket_source((K("int"), K("int")), (1, 2), two) == int.from_bytes(n.key_hash(two)[:4], "big")
    cf = n.frames((K("text"),), ("x",))
    assert n.row_hash(kf, cf) == struct.unpack(">q", hashlib.md5(kf + cf).digest()[:8])[0]
    assert n.column_hash(K("text"), "x") == hashlib.md5(cf).digest()
    assert n.digest_sum([2 ** 63 - 1, 2 ** 63 - 1, 2]) == 0
    assert n.digest_sum([-1]) == 2 ** 64 - 1


def test_display():
    assert n.display(None) is None and n.display(True) is True and n.display(3) == 3
    assert n.display(Decimal("1.50")) == "1.50"
    assert n.display(float("nan")) == "nan" and n.display(1.5) == 1.5
    assert n.display(b"\x00\xff") == "00ff" and n.display(memoryview(b"a")) == "61"
    assert n.display(uuid.UUID(int=255)) == "00000000-0000-0000-0000-0000000000FF"
    assert n.display(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05"
    assert n.display(dt.time(1, 2)) == "01:02:00"
    assert n.display(dt.timedelta(seconds=1)) == "0:00:01"


# --- type map -----------------------------------------------------------------------------------------------------
def ci(name, type_, scale=None):
    return ColumnInfo(name, type_, scale)


@pytest.mark.parametrize("src, dst, kind, scale", [
    (ci("a", "int"), ci("a", "int4"), "int", None),
    (ci("a", "bit"), ci("a", "bool"), "int", None),
    (ci("a", "tinyint"), ci("a", "int2"), "int", None),
    (ci("a", "decimal", 2), ci("a", "numeric", 2), "decimal", 2),
    (ci("a", "money", 4), ci("a", "numeric", 4), "decimal", 4),
    (ci("a", "numeric", 0), ci("a", "int4"), "decimal", 0),
    (ci("a", "decimal", 1), ci("a", "numeric", 3), "decimal", 3),
    (ci("a", "decimal", 1), ci("a", "numeric", None), "decimal", None),
    (ci("a", "real"), ci("a", "float4"), "float", None),
    (ci("a", "datetime2"), ci("a", "timestamp"), "timestamp", None),
    (ci("a", "datetime"), ci("a", "timestamp"), "timestamp", None),
    (ci("a", "datetimeoffset"), ci("a", "timestamptz"), "timestamptz", None),
    (ci("a", "time"), ci("a", "time"), "time", None),
    (ci("a", "char"), ci("a", "text"), "char", None),
    (ci("a", "nchar"), ci("a", "bpchar"), "char", None),
    (ci("a", "nvarchar"), ci("a", "text"), "text", None),
    (ci("a", "xml"), ci("a", "text"), "text", None),
    (ci("a", "uniqueidentifier"), ci("a", "text"), "uuid", None),
    (ci("a", "varbinary"), ci("a", "bytea"), "bytes", None),
])
def test_pairs_from_sqlserver_to_postgresql(src, dst, kind, scale):
    p = pair("sqlserver", src, "postgresql", dst)
    assert (p.kind.name, p.kind.scale, p.name) == (kind, scale, "a")
    assert (p.source, p.target) == (src, dst)


def test_nfc_applies_to_text_only():
    assert pair("postgresql", ci("a", "text"), "postgresql", ci("a", "text"), nfc=True).kind.nfc
    assert not pair("postgresql", ci("a", "int4"), "postgresql", ci("a", "int4"), nfc=True).kind.nfc


@pytest.mark.parametrize("src, dst, reason", [
    (ci("a", "int"), ci("a", "text"), "sqlserver int (int) is not comparable with postgresql text (text)"),
    (ci("a", "datetime2"), ci("a", "timestamptz"), "is not comparable"),
    (ci("a", "float"), ci("a", "numeric", 2), "is not comparable"),
    (ci("a", "geography"), ci("a", "text"), "unsupported sqlserver type geography"),
    (ci("a", "int"), ci("a", "jsonb"), "unsupported postgresql type jsonb"),
])
def test_incompatible_pairs_name_the_reason(src, dst, reason):
    with pytest.raises(Incompatible, match=re.escape(reason)):
        pair("sqlserver", src, "postgresql", dst)
