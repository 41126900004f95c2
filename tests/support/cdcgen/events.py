"""Pure encoding of Debezium 3.6 SQL Server change events as Kafka's JsonConverter (``schemas.enable=true``)
writes them.

No I/O and no state here: callers pass rows, LSNs and timestamps; this module returns the record
``(topic, key bytes, value bytes or None)`` byte for byte as Kafka Connect would produce it.

Sources (cited in docs/type-mapping.md as well):

- event key/value layout, ``op`` codes, tombstones, ``event_serial_no``: Debezium SQL Server connector documentation,
  https://debezium.io/documentation/reference/3.6/connectors/sqlserver.html ("Data change events", "Change event
  keys", "Change event values", "Data type mappings"); source file
  ``documentation/modules/ROOT/pages/connectors/sqlserver.adoc`` in github.com/debezium/debezium. Its examples
  predate 2.x in places (``snapshot`` boolean, no ``ts_us``/``ts_ns``, no ``transaction``), so field lists and
  order here follow the code:
- ``io.debezium.data.Envelope`` (SCHEMA_VERSION = 2; fields before, after, source, transaction, op, ts_ms, ts_us,
  ts_ns), ``io.debezium.connector.AbstractSourceInfoStructMaker`` (version, connector, name, ts_ms, snapshot, db,
  sequence, ts_us, ts_ns), ``io.debezium.connector.sqlserver.SqlServerSourceInfoStructMaker`` (+ schema, table,
  change_lsn, commit_lsn, event_serial_no), ``io.debezium.pipeline.txmetadata.TransactionStructMaker``
  (``event.block``: id, total_order, data_collection_order) and ``SqlServerValueConverters``/``JdbcValueConverters``
  for the column types. Every shape below was checked byte for byte against the 3.6.1.Final jars of
  ``artifacts/debezium-connector-sqlserver-3.6.1.Final-plugin.tar.gz`` driven through ``SqlServerChangeRecordEmitter``
  and ``org.apache.kafka.connect.json.JsonConverter`` 4.3.0 (tests/unit/generator pins the results).
"""
from __future__ import annotations

import base64
import datetime as _dt
import decimal
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple

from .schema import EPOCH, EPOCH_DATE, XML_LOGICAL_NAME, Column, Table, float32, nanos_of

DEBEZIUM_VERSION = "3.6.1.Final"  # versions.env DEBEZIUM_VERSION: goes into source.version
CONNECTOR = "sqlserver"

OP_READ, OP_CREATE, OP_UPDATE, OP_DELETE = "r", "c", "u", "d"

# source.snapshot: io.debezium.connector.SnapshotRecord, lower-cased, as an io.debezium.data.Enum.
SNAPSHOT_VALUES = ("true", "first", "first_in_data_collection", "last_in_data_collection", "last", "false",
                   "incremental")


class Record(NamedTuple):
    """One Kafka record: topic, key bytes, value bytes (None for a tombstone)."""

    topic: str
    key: bytes
    value: bytes | None


# --------------------------------------------------------------------------------------------------------------
# JSON exactly as Jackson (jackson-databind 2.21, used by Kafka 4.3 JsonConverter) writes it
# --------------------------------------------------------------------------------------------------------------
class JavaDouble(float):
    """A float64 value: written like java.lang.Double.toString (``1.0E7``, ``0.001``, ``1.0E-4``)."""


class JavaFloat(float):
    """A float32 value: written like java.lang.Float.toString (shortest digits that identify the float)."""


def _java_number(sign: str, digits: str, exp10: int) -> str:
    """Format digits (no leading/trailing zeros) times 10**exp10 the way Double.toString/Float.toString do."""
    point = len(digits) + exp10  # position of the decimal point relative to the digit string
    magnitude = point - 1        # scientific exponent
    if -3 <= magnitude < 7:
        if point <= 0:
            text = "0." + "0" * (-point) + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
    else:
        text = digits[0] + "." + (digits[1:] or "0") + "E" + str(magnitude)
    return sign + text


def _shortest(value: float, max_digits: int, roundtrip) -> tuple[str, str, int]:
    if value == 0:
        return ("-" if str(value).startswith("-") else ""), "0", 0
    for prec in range(1, max_digits + 1):
        text = f"{value:.{prec - 1}e}"
        if roundtrip(float(text)) == value:
            break
    mantissa, exp = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    return sign, digits, int(exp) - len(digits) + 1


def java_double(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("NaN/infinity cannot be written as JSON here")
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign, digits, exp10 = _shortest(value, 17, lambda f: f)
    return _java_number(sign, digits, exp10)


def java_float(value: float) -> str:
    value = float32(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("NaN/infinity cannot be written as JSON here")
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"

    def roundtrip(candidate: float):
        try:
            return float32(candidate)
        except ValueError:  # a candidate just above the largest float
            return None

    sign, digits, exp10 = _shortest(value, 9, roundtrip)
    return _java_number(sign, digits, exp10)


_ESCAPE = re.compile(r'["\\\x00-\x1f\U00010000-\U0010ffff]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _escape_char(match: re.Match) -> str:
    c = match.group()
    if c in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[c]
    code = ord(c)
    if code < 0x20:
        return f"\\u{code:04X}"
    # Jackson writes characters outside the BMP as an escaped UTF-16 surrogate pair.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"


def json_string(text: str) -> str:
    return '"' + _ESCAPE.sub(_escape_char, text) + '"'


def dumps(obj) -> str:
    """Compact JSON as Jackson writes it (key order preserved, no spaces, non-ASCII BMP characters raw)."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, str):
        return json_string(obj)
    if isinstance(obj, JavaFloat):
        return java_float(obj)
    if isinstance(obj, JavaDouble):
        return java_double(obj)
    if isinstance(obj, int):
        return str(int(obj))
    if isinstance(obj, float):
        raise TypeError("wrap floats in JavaDouble or JavaFloat so they are written like Java does")
    if isinstance(obj, Mapping):
        return "{" + ",".join(json_string(k) + ":" + dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


# --------------------------------------------------------------------------------------------------------------
# LSNs: io.debezium.connector.sqlserver.Lsn.toString — three lower-case hex groups of a 10-byte log sequence number
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Lsn:
    vlf: int      # virtual log file sequence number (4 bytes)
    block: int    # log block offset (4 bytes)
    slot: int     # slot in the log block (2 bytes)

    def __post_init__(self):
        if not (0 <= self.vlf < 2 ** 32 and 0 <= self.block < 2 ** 32 and 0 <= self.slot < 2 ** 16):
            raise ValueError(f"LSN parts out of range: {self.vlf}, {self.block}, {self.slot}")

    def __str__(self) -> str:
        return f"{self.vlf:08x}:{self.block:08x}:{self.slot:04x}"

    @classmethod
    def parse(cls, text: str) -> "Lsn":
        parts = text.split(":")
        if len(parts) != 3 or [len(p) for p in parts] != [8, 8, 4]:
            raise ValueError(f"not an LSN: {text!r}")
        return cls(*(int(p, 16) for p in parts))

    def next(self) -> "Lsn":
        """The next slot; the next log block when the slot field is exhausted."""
        if self.slot < 0xFFFF:
            return Lsn(self.vlf, self.block, self.slot + 1)
        if self.block < 2 ** 32 - 1:
            return Lsn(self.vlf, self.block + 1, 1)
        return Lsn(self.vlf + 1, 0, 1)


# --------------------------------------------------------------------------------------------------------------
# Kafka Connect schemas as JsonConverter writes them (key order: type, optional, name, version, parameters, default)
# --------------------------------------------------------------------------------------------------------------
def _schema(type_: str, optional: bool, name: str | None = None, version: int | None = None,
            parameters: Mapping | None = None, **extra) -> dict:
    s = {"type": type_, "optional": optional}
    if name is not None:
        s["name"] = name
    if version is not None:
        s["version"] = version
    if parameters is not None:
        s["parameters"] = dict(parameters)
    s.update(extra)
    return s


def _struct(fields: Iterable[tuple[str, dict]], optional: bool, name: str | None = None,
            version: int | None = None) -> dict:
    s = {"type": "struct", "fields": [dict(schema, field=fname) for fname, schema in fields], "optional": optional}
    if name is not None:
        s["name"] = name
    if version is not None:
        s["version"] = version
    return s


def _temporal_name(fsp: int, kind: str) -> tuple[str, str]:
    """time.precision.mode=adaptive: (schema type, logical name) by fractional-second precision."""
    if kind == "time":
        if fsp <= 3:
            return "int32", "io.debezium.time.Time"
        return "int64", "io.debezium.time.MicroTime" if fsp <= 6 else "io.debezium.time.NanoTime"
    if fsp <= 3:
        return "int64", "io.debezium.time.Timestamp"
    return "int64", "io.debezium.time.MicroTimestamp" if fsp <= 6 else "io.debezium.time.NanoTimestamp"


def column_schema(column: Column, optional: bool | None = None) -> dict:
    """The Connect schema Debezium 3.6 gives a SQL Server column (adaptive time precision, precise decimals)."""
    opt = column.nullable if optional is None else optional
    t = column.type
    if t == "bit":
        return _schema("boolean", opt)
    if t in ("tinyint", "smallint"):
        return _schema("int16", opt)
    if t == "int":
        return _schema("int32", opt)
    if t == "bigint":
        return _schema("int64", opt)
    if column.is_decimal:
        return _schema("bytes", opt, "org.apache.kafka.connect.data.Decimal", 1,
                       {"scale": str(column.decimal_scale), "connect.decimal.precision": str(column.precision)})
    if t == "float":
        return _schema("double", opt)
    if t == "real":
        return _schema("float", opt)
    if t == "date":
        return _schema("int32", opt, "io.debezium.time.Date", 1)
    if t in ("time", "datetime", "datetime2"):
        kind, name = _temporal_name(column.fsp, "time" if t == "time" else "timestamp")
        return _schema(kind, opt, name, 1)
    if t == "datetimeoffset":
        return _schema("string", opt, "io.debezium.time.ZonedTimestamp", 1)
    if t == "varbinary":
        return _schema("bytes", opt)
    if t == "xml" and XML_LOGICAL_NAME:
        return _schema("string", opt, "io.debezium.data.Xml", 1)
    return _schema("string", opt)  # char, varchar, nchar, nvarchar, uniqueidentifier, xml


SOURCE_SCHEMA = _struct([
    ("version", _schema("string", False)),
    ("connector", _schema("string", False)),
    ("name", _schema("string", False)),
    ("ts_ms", _schema("int64", False)),
    ("snapshot", _schema("string", True, "io.debezium.data.Enum", 1, {"allowed": ",".join(SNAPSHOT_VALUES)},
                         default="false")),
    ("db", _schema("string", False)),
    ("sequence", _schema("string", True)),
    ("ts_us", _schema("int64", True)),
    ("ts_ns", _schema("int64", True)),
    ("schema", _schema("string", False)),
    ("table", _schema("string", False)),
    ("change_lsn", _schema("string", True)),
    ("commit_lsn", _schema("string", True)),
    ("event_serial_no", _schema("int64", True)),
], optional=False, name="io.debezium.connector.sqlserver.Source", version=1)

TRANSACTION_SCHEMA = _struct([
    ("id", _schema("string", False)),
    ("total_order", _schema("int64", False)),
    ("data_collection_order", _schema("int64", False)),
], optional=True, name="event.block", version=1)


def topic_name(prefix: str, database: str, schema: str, table: str) -> str:
    """``<topic.prefix>.<database>.<schema>.<table>`` (SchemaTopicNamingStrategy in multi-partition mode)."""
    return f"{prefix}.{database}.{schema}.{table}"


def key_schema(table: Table, prefix: str, database: str, schema: str) -> dict:
    return _struct([(c.name, column_schema(c, optional=False)) for c in table.key_columns], optional=False,
                   name=topic_name(prefix, database, schema, table.name) + ".Key")


def value_schema(table: Table, prefix: str, database: str, schema: str) -> dict:
    """The row struct used for ``before`` and ``after``."""
    return _struct([(c.name, column_schema(c)) for c in table.columns], optional=True,
                   name=topic_name(prefix, database, schema, table.name) + ".Value")


def envelope_schema(table: Table, prefix: str, database: str, schema: str) -> dict:
    row = value_schema(table, prefix, database, schema)
    return _struct([
        ("before", row),
        ("after", row),
        ("source", SOURCE_SCHEMA),
        ("transaction", TRANSACTION_SCHEMA),
        ("op", _schema("string", False)),
        ("ts_ms", _schema("int64", True)),
        ("ts_us", _schema("int64", True)),
        ("ts_ns", _schema("int64", True)),
    ], optional=False, name=topic_name(prefix, database, schema, table.name) + ".Envelope", version=2)


# --------------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------------
def decimal_bytes(value: decimal.Decimal, scale: int) -> bytes:
    """org.apache.kafka.connect.data.Decimal: the unscaled value as minimal big-endian two's complement
    (java.math.BigInteger.toByteArray)."""
    unscaled = int(value.scaleb(scale).to_integral_exact(context=decimal.Context(prec=80)))
    bits = unscaled.bit_length() if unscaled >= 0 else (~unscaled).bit_length()
    return unscaled.to_bytes(bits // 8 + 1, "big", signed=True)


def _epoch_nanos(value: _dt.datetime) -> int:
    """Nanoseconds since 1970-01-01T00:00 (naive values are read as UTC, as Debezium does)."""
    delta = value - (EPOCH if value.tzinfo is None else EPOCH.replace(tzinfo=_dt.timezone.utc))
    return ((delta.days * 86400 + delta.seconds) * 10 ** 6 + delta.microseconds) * 1000 + nanos_of(value)


def zoned_timestamp(value: _dt.datetime) -> str:
    """io.debezium.time.ZonedTimestamp for a datetimeoffset, as SqlServerValueConverters builds it.

    The value keeps its own offset (not converted to UTC); the fraction has as many digits as needed (trailing
    zeros dropped, none for whole seconds); ``Z`` for +00:00. Like Debezium 3.6.1 it rebuilds the local time from
    ``Timestamp.getTime() / 1000`` (Java division truncates toward zero), so an instant before 1970-01-01T00:00Z
    with a fractional second comes out one second later than it is (pinned by a test; see docs/type-mapping.md).
    """
    total = _epoch_nanos(value)
    seconds, nanos = divmod(total, 10 ** 9)            # java.time.Instant: floor seconds, nanos >= 0
    millis = seconds * 1000 + nanos // 10 ** 6         # java.sql.Timestamp.getTime()
    seconds = -(-millis // 1000) if millis < 0 else millis // 1000  # Java long division
    offset = value.utcoffset()
    offset_seconds = offset.days * 86400 + offset.seconds
    local = EPOCH + _dt.timedelta(seconds=seconds + offset_seconds)
    text = (f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
            f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    if offset_seconds == 0:
        return text + "Z"
    sign = "+" if offset_seconds > 0 else "-"
    hours, rest = divmod(abs(offset_seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return text + f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


class _Unavailable:
    """Marks a column value Debezium replaced with ``unavailable.value.placeholder``."""

    __slots__ = ()

    def __repr__(self):
        return "UNAVAILABLE"


UNAVAILABLE = _Unavailable()
UNAVAILABLE_PLACEHOLDER = "__debezium_unavailable_value"  # unavailable.value.placeholder default


def encode_value(column: Column, value):
    """One normalized column value as the JSON value Debezium + JsonConverter write (None stays None)."""
    if value is None:
        return None
    if value is UNAVAILABLE:
        return UNAVAILABLE_PLACEHOLDER if column.type != "varbinary" else \
            base64.b64encode(UNAVAILABLE_PLACEHOLDER.encode()).decode("ascii")
    t = column.type
    if t == "bit":
        return bool(value)
    if t in ("tinyint", "smallint", "int", "bigint"):
        return int(value)
    if column.is_decimal:
        return base64.b64encode(decimal_bytes(value, column.decimal_scale)).decode("ascii")
    if t == "float":
        return JavaDouble(value)
    if t == "real":
        return JavaFloat(value)
    if t == "date":
        return (value - EPOCH_DATE).days
    if t == "time":
        nanos = ((value.hour * 60 + value.minute) * 60 + value.second) * 10 ** 9 + value.microsecond * 1000 \
            + nanos_of(value)
        return _scale_nanos(nanos, column.fsp)
    if t in ("datetime", "datetime2"):
        if column.fsp > 6:
            return _nano_timestamp(value)
        return _scale_nanos(_epoch_nanos(value), column.fsp)
    if t == "datetimeoffset":
        return zoned_timestamp(value)
    if t == "varbinary":
        return base64.b64encode(value).decode("ascii")
    if t == "uniqueidentifier":
        return str(value).upper()  # mssql-jdbc returns uniqueidentifier as an upper-case string
    return value  # char, varchar, nchar, nvarchar, xml: already padded by normalize()


_LONG_MIN, _LONG_MAX = -(2 ** 63), 2 ** 63 - 1


def _nano_timestamp(value: _dt.datetime) -> int | None:
    """io.debezium.time.NanoTimestamp: Math.addExact(Math.multiplyExact(epochDay, NANOS_PER_DAY), nanoOfDay).

    A Java long of nanoseconds only reaches 1677-09-21 .. 2262-04-11; outside that the conversion throws and
    Debezium (default event.converting.failure.handling.mode) writes null.
    """
    day_nanos = (value.date() - EPOCH_DATE).days * 86_400 * 10 ** 9
    total = day_nanos + ((value.hour * 60 + value.minute) * 60 + value.second) * 10 ** 9 \
        + value.microsecond * 1000 + nanos_of(value)
    if not (_LONG_MIN <= day_nanos <= _LONG_MAX and _LONG_MIN <= total <= _LONG_MAX):
        return None
    return total


def _scale_nanos(nanos: int, fsp: int) -> int:
    """Values are already rounded to the column precision, so these divisions are exact."""
    if fsp <= 3:
        return nanos // 10 ** 6      # Time / Timestamp: milliseconds
    if fsp <= 6:
        return nanos // 10 ** 3      # MicroTime / MicroTimestamp
    return nanos                     # NanoTime / NanoTimestamp


def encode_row(table: Table, row: Mapping | None) -> dict | None:
    if row is None:
        return None
    return {c.name: encode_value(c, row[c.name]) for c in table.columns}


def encode_key(table: Table, key: tuple) -> dict:
    return {c.name: encode_value(c, v) for c, v in zip(table.key_columns, key)}


def lob_images(table: Table, before: Mapping, after: Mapping) -> tuple[dict, dict]:
    """The before/after rows of an update event as Debezium 3.6 emits them, given the true rows.

    SQL Server CDC leaves a large-object column (xml, (n)varchar(max), varbinary(max)) NULL in the update's old-value
    row unless the update changed it; SqlServerChangeTablePointer then replaces a NULL large-object value of an update
    row whose column was not changed with ``unavailable.value.placeholder``. So for an unchanged LOB column, ``before``
    carries the placeholder, and so does ``after`` when the value is NULL. "Changed" is taken as "value differs"
    (CDC's __$update_mask). Of the supported types only xml is such a column (it reaches Debezium as LONGNVARCHAR).
    """
    lob = [c.name for c in table.columns if c.is_lob]
    if not lob:
        return before, after
    before, after = dict(before), dict(after)
    for name in lob:
        if before[name] == after[name]:
            before[name] = UNAVAILABLE
            if after[name] is None:
                after[name] = UNAVAILABLE
    return before, after


def value_writer(column: Column):
    """A function writing one normalized value of ``column`` as JSON text; the same text as
    ``dumps(encode_value(column, value))``, without the generic recursion (the generator's hot path)."""
    t = column.type
    if t == "bit":
        return lambda v: "null" if v is None else ("true" if v else "false")
    if t in ("tinyint", "smallint", "int", "bigint"):
        return lambda v: "null" if v is None else str(v)
    if t in ("char", "varchar", "nchar", "nvarchar"):
        return lambda v: "null" if v is None else json_string(v)
    if t == "uniqueidentifier":
        return lambda v: "null" if v is None else '"' + str(v).upper() + '"'

    def write(v):
        return dumps(encode_value(column, v))

    return write


# --------------------------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceInfo:
    """The ``source`` block. ``ts_ms``: commit time (streaming) or table snapshot start (snapshot)."""

    name: str
    db: str
    schema: str
    table: str
    ts_ms: int
    snapshot: str = "false"
    change_lsn: str | None = None
    commit_lsn: str | None = None
    event_serial_no: int | None = None
    version: str = DEBEZIUM_VERSION

    def __post_init__(self):
        if self.snapshot not in SNAPSHOT_VALUES:
            raise ValueError(f"snapshot must be one of {SNAPSHOT_VALUES}")

    def payload(self) -> dict:
        # The source time comes from SQL Server at millisecond precision: ts_us/ts_ns are ts_ms scaled.
        return {
            "version": self.version, "connector": CONNECTOR, "name": self.name, "ts_ms": self.ts_ms,
            "snapshot": self.snapshot, "db": self.db, "sequence": None, "ts_us": self.ts_ms * 1000,
            "ts_ns": self.ts_ms * 1_000_000, "schema": self.schema, "table": self.table,
            "change_lsn": self.change_lsn, "commit_lsn": self.commit_lsn, "event_serial_no": self.event_serial_no,
        }

    def json(self) -> str:
        """``dumps(self.payload())``, written directly."""
        ms = self.ts_ms
        return (f'{{"version":{json_string(self.version)},"connector":"{CONNECTOR}","name":{json_string(self.name)},'
                f'"ts_ms":{ms},"snapshot":"{self.snapshot}","db":{json_string(self.db)},"sequence":null,'
                f'"ts_us":{ms * 1000},"ts_ns":{ms * 1_000_000},"schema":{json_string(self.schema)},'
                f'"table":{json_string(self.table)},'
                f'"change_lsn":{"null" if self.change_lsn is None else json_string(self.change_lsn)},'
                f'"commit_lsn":{"null" if self.commit_lsn is None else json_string(self.commit_lsn)},'
                f'"event_serial_no":{"null" if self.event_serial_no is None else self.event_serial_no}}}')


class _Compiled(NamedTuple):
    topic: str
    key_schema: str
    envelope_schema: str
    key_writers: tuple
    row_writers: tuple


class EventEncoder:
    """Encodes events for one (prefix, database, schema); caches each table's schema JSON and value writers."""

    def __init__(self, tables: Mapping[str, Table], prefix: str = "sluice", database: str = "sluice_demo",
                 schema: str = "dbo"):
        self.tables = tables
        self.prefix, self.database, self.schema = prefix, database, schema
        self._cache: dict[str, _Compiled] = {}

    def _compiled(self, table: str) -> _Compiled:
        compiled = self._cache.get(table)
        if compiled is None:
            t = self.tables[table]
            args = (t, self.prefix, self.database, self.schema)
            compiled = _Compiled(
                topic_name(self.prefix, self.database, self.schema, t.name),
                dumps(key_schema(*args)), dumps(envelope_schema(*args)),
                tuple((json_string(c.name) + ":", value_writer(c)) for c in t.key_columns),
                tuple((c.name, json_string(c.name) + ":", value_writer(c)) for c in t.columns))
            self._cache[table] = compiled
        return compiled

    def topic(self, table: str) -> str:
        return self._compiled(table).topic

    def key(self, table: str, key: tuple) -> bytes:
        c = self._compiled(table)
        payload = ",".join(name + write(v) for (name, write), v in zip(c.key_writers, key))
        return ('{"schema":' + c.key_schema + ',"payload":{' + payload + "}}").encode("utf-8")

    @staticmethod
    def _row(c: _Compiled, row: Mapping | None) -> str:
        if row is None:
            return "null"
        return "{" + ",".join(quoted + write(row[name]) for name, quoted, write in c.row_writers) + "}"

    def change(self, table: str, op: str, before: Mapping | None, after: Mapping | None, source: SourceInfo,
               ts_ns: int, transaction: Mapping | None = None, key: tuple | None = None) -> Record:
        """A data change event. ``before``/``after`` are normalized rows; ``ts_ns`` the connector's processing time
        (``payload.ts_ms``/``ts_us``/``ts_ns``; Debezium's clock has microsecond resolution); ``key`` the row's key
        tuple if the caller has it already."""
        if op not in (OP_READ, OP_CREATE, OP_UPDATE, OP_DELETE):
            raise ValueError(f"unknown op {op!r}")
        c = self._compiled(table)
        row = after if after is not None else before
        if row is None:
            raise ValueError("an event needs a before or an after row")
        key_bytes = self.key(table, self.tables[table].key_of(row) if key is None else key)
        micros = ts_ns // 1000
        value = ('{"schema":' + c.envelope_schema + ',"payload":{"before":' + self._row(c, before)
                 + ',"after":' + self._row(c, after) + ',"source":' + source.json()
                 + ',"transaction":' + dumps(transaction) + ',"op":"' + op + '","ts_ms":' + str(micros // 1000)
                 + ',"ts_us":' + str(micros) + ',"ts_ns":' + str(micros * 1000) + "}}")
        return Record(c.topic, key_bytes, value.encode("utf-8"))

    def tombstone(self, table: str, key: tuple) -> Record:
        """The record that follows a delete (``tombstones.on.delete=true``): same key, null value."""
        return Record(self.topic(table), self.key(table, key), None)
