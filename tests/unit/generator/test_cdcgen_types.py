"""Each SQL Server type's Kafka Connect schema and value, as Debezium 3.6 writes them with time.precision.mode=adaptive
and decimal.handling.mode=precise (Debezium SQL Server docs, "Data type mappings",
https://debezium.io/documentation/reference/3.6/connectors/sqlserver.html#sqlserver-data-types).

Expected values were produced by the real 3.6.1.Final jars (SqlServerValueConverters + JsonConverter) for the same
inputs; see docs/type-mapping.md.
"""
import base64
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from cdcgen_testlib import payload

from tests.support.cdcgen import Column, PreciseDateTime, PreciseTime
from tests.support.cdcgen.events import (column_schema, decimal_bytes, dumps, encode_value, value_writer,
                                         zoned_timestamp)
from tests.support.cdcgen.schema import TABLES


def tz(minutes):
    return dt.timezone(dt.timedelta(minutes=minutes))


def col(type_, length=None, scale=None):
    return Column("c", type_, length, scale)


def encode(column, value):
    return encode_value(column, column.normalize(value))


# --- schemas -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("column, schema", [
    (col("bit"), {"type": "boolean", "optional": True}),
    (col("tinyint"), {"type": "int16", "optional": True}),
    (col("smallint"), {"type": "int16", "optional": True}),
    (col("int"), {"type": "int32", "optional": True}),
    (col("bigint"), {"type": "int64", "optional": True}),
    (col("float"), {"type": "double", "optional": True}),
    (col("real"), {"type": "float", "optional": True}),
    (col("decimal", 12, 2), {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                             "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "12"}}),
    (col("numeric", 10, 0), {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                             "version": 1, "parameters": {"scale": "0", "connect.decimal.precision": "10"}}),
    (col("money"), {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                    "version": 1, "parameters": {"scale": "4", "connect.decimal.precision": "19"}}),
    (col("smallmoney"), {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                         "version": 1, "parameters": {"scale": "4", "connect.decimal.precision": "10"}}),
    (col("date"), {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "version": 1}),
    (col("time", scale=3), {"type": "int32", "optional": True, "name": "io.debezium.time.Time", "version": 1}),
    (col("time", scale=5), {"type": "int64", "optional": True, "name": "io.debezium.time.MicroTime", "version": 1}),
    (col("time", scale=7), {"type": "int64", "optional": True, "name": "io.debezium.time.NanoTime", "version": 1}),
    (col("datetime"), {"type": "int64", "optional": True, "name": "io.debezium.time.Timestamp", "version": 1}),
    (col("datetimeoffset"), {"type": "string", "optional": True, "name": "io.debezium.time.ZonedTimestamp",
                             "version": 1}),
    (col("char", 10), {"type": "string", "optional": True}),
    (col("nvarchar", 10), {"type": "string", "optional": True}),
    (col("varbinary", 64), {"type": "bytes", "optional": True}),
    (col("uniqueidentifier"), {"type": "string", "optional": True}),
    (col("xml"), {"type": "string", "optional": True}),  # see XML_LOGICAL_NAME in schema.py
])
def test_column_schemas(column, schema):
    assert column_schema(column) == schema
    assert list(column_schema(column)) == list(schema)  # JsonConverter's key order


@pytest.mark.parametrize("fsp, name", [(0, "Timestamp"), (1, "Timestamp"), (2, "Timestamp"), (3, "Timestamp"),
                                       (4, "MicroTimestamp"), (5, "MicroTimestamp"), (6, "MicroTimestamp"),
                                       (7, "NanoTimestamp")])
def test_datetime2_logical_type_by_precision(fsp, name):
    assert column_schema(col("datetime2", scale=fsp))["name"] == "io.debezium.time." + name


def test_not_null_columns_are_not_optional():
    assert column_schema(Column("id", "int", nullable=False)) == {"type": "int32", "optional": False}
    schema = json.loads(dumps(column_schema(TABLES["customers"].column("email"))))
    assert schema == {"type": "string", "optional": False}


# --- decimals ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, scale, b64", [
    (Decimal("0"), 2, "AA=="),
    (Decimal("0.0001"), 4, "AQ=="),
    (Decimal("-0.0001"), 4, "/w=="),
    (Decimal("-1.5"), 4, "xWg="),                       # -15000 = 0xC568
    (Decimal("128"), 4, "E4gA"),                        # 1280000 = 0x138800
    (Decimal("-128"), 4, "7HgA"),
    (Decimal("-128.0001"), 4, "7Hf/"),
    (Decimal("127"), 0, "fw=="),
    (Decimal("128"), 0, "AIA="),                        # needs a leading 0x00 sign byte
    (Decimal("-128"), 0, "gA=="),
    (Decimal("-129"), 0, "/38="),
    (Decimal("922337203685477.5807"), 4, "f/////////8="),
    (Decimal("-922337203685477.5808"), 4, "gAAAAAAAAAA="),
    (Decimal("9999999999"), 0, "AlQL4/8="),
    (Decimal("-99999999999999.9999"), 4, "8h9JTFicAAE="),
])
def test_decimal_bytes_big_endian_twos_complement(value, scale, b64):
    assert base64.b64encode(decimal_bytes(value, scale)).decode() == b64
    unscaled = int.from_bytes(base64.b64decode(b64), "big", signed=True)
    assert Decimal(unscaled).scaleb(-scale) == value


def test_decimal_values_are_rescaled_and_rounded_like_sql_server():
    total = TABLES["orders"].column("total")
    assert total.normalize(Decimal("12.5")) == Decimal("12.50")
    assert total.normalize(Decimal("1.005")) == Decimal("1.01")     # half away from zero
    assert total.normalize(Decimal("-1.005")) == Decimal("-1.01")
    assert total.normalize(7) == Decimal("7.00")
    assert encode(total, Decimal("12.5")) == base64.b64encode((1250).to_bytes(2, "big")).decode()
    with pytest.raises(ValueError):
        total.normalize(Decimal("12345678901.12"))  # 13 digits do not fit decimal(12,2)
    assert total.normalize(Decimal("9999999999.99")) == Decimal("9999999999.99")
    money = TABLES["line_items"].column("unit_price")
    assert money.normalize("19.99") == Decimal("19.9900")
    with pytest.raises(ValueError):
        money.normalize(Decimal("922337203685477.5808"))
    with pytest.raises(ValueError):
        Column("m", "smallmoney").normalize(Decimal("214748.3648"))


# --- dates and times -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, days", [(dt.date(1970, 1, 1), 0), (dt.date(1969, 12, 31), -1),
                                         (dt.date(2024, 2, 29), 19782), (dt.date(1, 1, 1), -719162),
                                         (dt.date(9999, 12, 31), 2932896)])
def test_date_is_days_since_epoch(value, days):
    assert encode(col("date"), value) == days


def test_date_refuses_datetimes():
    with pytest.raises(TypeError):
        col("date").normalize(dt.datetime(2024, 1, 1))


@pytest.mark.parametrize("fsp, value, expected", [
    (7, PreciseTime(23, 59, 59, 999999, nanosecond=900), 86_399_999_999_900),   # NanoTime
    (7, dt.time(0, 0), 0),
    (7, dt.time(1, 2, 3, 456789), 3_723_456_789_000),
    (5, dt.time(1, 2, 3, 456780), 3_723_456_780),                                 # MicroTime
    (3, dt.time(1, 2, 3, 456000), 3_723_456),                                     # Time (int32 millis)
    (3, dt.time(1, 2, 3, 456500), 3_723_457),                                     # rounded to time(3) first
])
def test_time_by_precision(fsp, value, expected):
    assert encode(col("time", scale=fsp), value) == expected


def test_time_refuses_aware_times_and_midnight_overflow():
    with pytest.raises(TypeError):
        col("time", scale=7).normalize(dt.time(1, tzinfo=dt.timezone.utc))
    with pytest.raises(ValueError):
        col("time", scale=0).normalize(dt.time(23, 59, 59, 600000))


@pytest.mark.parametrize("fsp, value, expected", [
    (7, PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, nanosecond=700), 1_704_164_645_123_456_700),  # NanoTimestamp
    (7, dt.datetime(1969, 12, 31, 23, 59, 59, 500000), -500_000_000),
    (7, dt.datetime(1677, 9, 22), -9_223_286_400_000_000_000),
    (7, dt.datetime(1677, 9, 21, 0, 12, 43, 145225), None),  # epochDay * NANOS_PER_DAY alone overflows first
    (7, dt.datetime(9999, 12, 31), None),        # beyond a Java long of nanoseconds: Debezium writes null
    (7, dt.datetime(1, 1, 1), None),
    (5, dt.datetime(1969, 12, 31, 23, 59, 59, 123450), -876_550),                   # MicroTimestamp
    (6, dt.datetime(9999, 12, 31, 23, 59, 59, 999999), 253_402_300_799_999_999),
    (3, dt.datetime(2024, 1, 1, 0, 0, 0, 123000), 1_704_067_200_123),               # Timestamp (millis)
    (3, dt.datetime(2024, 1, 1, 0, 0, 0, 999600), 1_704_067_201_000),               # rounds into the next second
    (0, dt.datetime(2024, 1, 1, 0, 0, 0, 500000), 1_704_067_201_000),
])
def test_datetime2_by_precision(fsp, value, expected):
    assert encode(col("datetime2", scale=fsp), value) == expected


@pytest.mark.parametrize("value, millis_in_second", [
    (dt.datetime(2024, 1, 1, 0, 0, 0, 1000), 0), (dt.datetime(2024, 1, 1, 0, 0, 0, 2000), 3),
    (dt.datetime(2024, 1, 1, 0, 0, 0, 4000), 3), (dt.datetime(2024, 1, 1, 0, 0, 0, 5000), 7),
    (dt.datetime(2024, 1, 1, 0, 0, 0, 8000), 7), (dt.datetime(2024, 1, 1, 0, 0, 0, 9000), 10),
    (dt.datetime(2024, 1, 1, 0, 0, 0, 990000), 990), (dt.datetime(2024, 1, 1, 0, 0, 0, 992000), 993),
    (dt.datetime(2024, 1, 1, 0, 0, 0, 995000), 997), (dt.datetime(2024, 1, 1, 0, 0, 0, 999000), 1000),
])
def test_datetime_rounds_to_its_300_ticks_per_second(value, millis_in_second):
    assert encode(col("datetime"), value) == 1_704_067_200_000 + millis_in_second


def test_datetime_range():
    assert encode(col("datetime"), dt.datetime(1753, 1, 1)) == -6_847_804_800_000
    with pytest.raises(ValueError):
        col("datetime").normalize(dt.datetime(1752, 12, 31))


@pytest.mark.parametrize("value, text", [
    (PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, tz(120), nanosecond=700), "2024-01-02T03:04:05.1234567+02:00"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tz(330)), "2024-01-02T03:04:05.12+05:30"),   # trailing zeros dropped
    (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz(0)), "2024-01-02T03:04:05Z"),              # no fraction, Z
    (dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tz(-480)), "2024-01-02T03:04:05.5-08:00"),  # keeps its own offset
    (dt.datetime(2024, 6, 30, 23, 0, tzinfo=tz(-30)), "2024-06-30T23:00:00-00:30"),
    (dt.datetime(1, 1, 1, 14, 0, 0, 100, tz(840)), "0001-01-01T14:00:00.0001+14:00"),
    (dt.datetime(1969, 12, 31, 23, 59, 58, tzinfo=tz(60)), "1969-12-31T23:59:58+01:00"),
    # Debezium 3.6.1 rebuilds the time from Timestamp.getTime() / 1000: before the epoch, a fractional second moves
    # the value one second later (what the real connector emits; see docs/type-mapping.md).
    (dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tz(0)), "1970-01-01T00:00:00.5Z"),
])
def test_datetimeoffset_zoned_timestamp(value, text):
    assert encode(col("datetimeoffset"), value) == text


def test_datetimeoffset_rounds_to_its_precision_and_needs_an_offset():
    value = PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, tz(0), nanosecond=750)
    assert col("datetimeoffset", scale=7).normalize(value) == PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, tz(0),
                                                                              nanosecond=800)
    assert encode(col("datetimeoffset", scale=3), value) == "2024-01-02T03:04:05.123Z"
    with pytest.raises(TypeError):
        col("datetimeoffset").normalize(dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        col("datetimeoffset").normalize(dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))))
    assert zoned_timestamp(dt.datetime(2024, 1, 1, tzinfo=tz(-754))) == "2024-01-01T00:00:00-12:34"


# --- strings, binary, identifiers ----------------------------------------------------------------------------------
def test_char_is_padded_as_sql_server_stores_it():
    assert encode(col("char", 10), "abc") == "abc       "
    assert encode(col("char", 10), "café") == "café      "          # Windows-1252: one byte per character
    assert encode(col("varchar", 10), "abc ") == "abc "               # varchar keeps what was written
    assert encode(col("nchar", 10), "😀") == "😀" + " " * 8            # nchar counts UTF-16 code units
    assert encode(col("nchar", 10), "e\u0301") == "e\u0301" + " " * 8   # a combining mark is a code unit of its own
    with pytest.raises(ValueError):
        col("char", 10).normalize("😀")                                # not in the varchar code page
    with pytest.raises(ValueError):
        col("varchar", 3).normalize("abcd")
    with pytest.raises(ValueError):
        col("nvarchar", 3).normalize("a😀b")                            # 4 code units


def test_unicode_text_survives_the_json(gen):
    text = "Zoë 😀🚀 e\u0301 n\u0303 日本語 👩🏽‍💻"
    (record,) = gen.insert("all_types", {"id": 1, "c_nvarchar": text, "c_nchar": "😀e\u0301"})
    after = payload(record)["after"]
    assert after["c_nvarchar"] == text
    assert after["c_nchar"] == "😀e\u0301" + " " * 6
    assert "e\u0301".encode() in record.value                  # combining mark written raw (UTF-8 CC 81)
    assert b"\\uD83D\\uDE00" in record.value                    # emoji written as an escaped surrogate pair
    assert "\u00e9".encode() not in record.value.split(b'"payload"')[1].split(b"c_nvarchar")[1][:40]  # not composed


def test_varbinary_is_base64():
    assert encode(col("varbinary", 64), bytes(range(4)) + b"\xff") == "AAECA/8="
    assert encode(col("varbinary", 64), b"") == ""
    assert encode(col("varbinary", 64), bytearray(b"\x00")) == "AA=="
    with pytest.raises(ValueError):
        col("varbinary", 2).normalize(b"abc")


def test_uniqueidentifier_is_an_upper_case_string():
    value = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    assert encode(col("uniqueidentifier"), value) == "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert encode(col("uniqueidentifier"), "6f9619ff-8b86-d011-b42d-00c04fc964ff") == \
        "6F9619FF-8B86-D011-B42D-00C04FC964FF"


def test_xml_passes_through():
    assert encode(col("xml"), '<a b="1" />') == '<a b="1" />'


# --- numbers -------------------------------------------------------------------------------------------------------
def test_integers_and_bit():
    assert encode(col("tinyint"), 255) == 255
    assert encode(col("bigint"), -2 ** 63) == -2 ** 63
    assert encode(col("bit"), 1) is True
    for column, bad in ((col("tinyint"), -1), (col("smallint"), 32768), (col("int"), 2 ** 31), (col("bit"), 2)):
        with pytest.raises((ValueError, TypeError)):
            column.normalize(bad)
    with pytest.raises(TypeError):
        col("int").normalize(True)


def test_real_is_single_precision():
    real = col("real")
    assert real.normalize(3.14) == 3.140000104904175
    assert dumps(encode(real, 3.14)) == "3.14"
    assert dumps(encode(real, 1e10)) == "1.0E10"
    with pytest.raises(ValueError):
        real.normalize(1e39)
    assert dumps(encode(col("float"), 1e7)) == "1.0E7"
    with pytest.raises(ValueError):
        col("float").normalize(float("nan"))


def test_fast_writers_match_the_generic_encoding():
    """EventEncoder writes values with value_writer(); it must agree with dumps(encode_value()) for every type."""
    from tests.support.cdcgen import Generator, RandomWorkload, SteppingClock

    g = Generator(clock=SteppingClock())
    w = RandomWorkload(g, seed=7, tables=["all_types"])
    rows = [w.new_row("all_types") for _ in range(200)]
    table = TABLES["all_types"]
    for row in rows:
        normalized = table.normalize_row(row)
        for c in table.columns:
            assert value_writer(c)(normalized[c.name]) == dumps(encode_value(c, normalized[c.name])), c.name
