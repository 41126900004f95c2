"""The sample tables of database ``sluice_demo`` (schema ``dbo``) and the SQL Server column types cdcgen can encode.

A :class:`Column` knows three things about its SQL Server type:

- the DDL type (``Column.sql``) written into ``sql/sqlserver/sample_schema.sql``;
- the column metadata the Microsoft JDBC driver (mssql-jdbc 12.4.2, the one in the Debezium 3.6.1 SQL Server plugin)
  reports through ``DatabaseMetaData.getColumns`` (``Column.jdbc_metadata``): Debezium builds its Kafka Connect
  schema from exactly this (``JdbcConnection.readTableColumn``), so e.g. ``money`` arrives as ``DECIMAL(19,4)`` and
  ``xml`` as ``LONGNVARCHAR`` (see docs/type-mapping.md);
- how SQL Server stores a value (``Column.normalize``): decimals rounded to their scale, ``char``/``nchar`` padded,
  ``real`` rounded to single precision, temporal values rounded to the column's fractional-second precision,
  ``datetime`` rounded to its 1/300 s ticks. The generator's intended state holds normalized values, i.e. what a
  ``SELECT`` on SQL Server would return.

Row values are Python natives: ``bool``, ``int``, ``decimal.Decimal``, ``float``, ``datetime.date``,
``datetime.time``, ``datetime.datetime`` (naive for datetime/datetime2, aware for datetimeoffset), ``str``,
``bytes``, ``uuid.UUID``. Python's datetime/time stop at microseconds; for the 7th fractional digit of
``time(7)``/``datetime2(7)``/``datetimeoffset(7)`` use :class:`PreciseTime` / :class:`PreciseDateTime`.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import struct
import uuid
from dataclasses import dataclass
from typing import Mapping

# java.sql.Types / microsoft.sql.Types codes (as reported by mssql-jdbc getColumns, after its DataTypeFilter).
JDBC_TYPES = {
    "BIT": -7, "TINYINT": -6, "SMALLINT": 5, "INTEGER": 4, "BIGINT": -5, "DECIMAL": 3, "NUMERIC": 2, "DOUBLE": 8,
    "REAL": 7, "DATE": 91, "TIME": 92, "TIMESTAMP": 93, "DATETIMEOFFSET": -155, "CHAR": 1, "VARCHAR": 12,
    "NCHAR": -15, "NVARCHAR": -9, "LONGNVARCHAR": -16, "VARBINARY": -3,
}

# The Debezium docs list xml as STRING + io.debezium.data.Xml, but the column reaches Debezium as LONGNVARCHAR
# (mssql-jdbc maps ODBC SQL_SS_XML to SSType.XML's JDBC type, LONGNVARCHAR), and JdbcValueConverters gives
# LONGNVARCHAR a plain string schema; io.debezium.data.Xml is only used for java.sql.Types.SQLXML. Flip this if an
# end-to-end run against a real SQL Server shows the logical name (docs/type-mapping.md, "Uncertain").
XML_LOGICAL_NAME = False

EPOCH_DATE = _dt.date(1970, 1, 1)
EPOCH = _dt.datetime(1970, 1, 1)

INTEGER_RANGES = {
    "tinyint": (0, 255),
    "smallint": (-(2 ** 15), 2 ** 15 - 1),
    "int": (-(2 ** 31), 2 ** 31 - 1),
    "bigint": (-(2 ** 63), 2 ** 63 - 1),
}
MONEY_RANGES = {
    "money": (decimal.Decimal("-922337203685477.5808"), decimal.Decimal("922337203685477.5807")),
    "smallmoney": (decimal.Decimal("-214748.3648"), decimal.Decimal("214748.3647")),
}
# Default precision/scale SQL Server gives a type written without them.
DEFAULT_FSP = 7
CHAR_TYPES = ("char", "varchar", "nchar", "nvarchar")
SUPPORTED_TYPES = (
    "bit", "tinyint", "smallint", "int", "bigint", "decimal", "numeric", "money", "smallmoney", "float", "real",
    "date", "time", "datetime", "datetime2", "datetimeoffset", "char", "varchar", "nchar", "nvarchar", "varbinary",
    "uniqueidentifier", "xml",
)
# Non-unicode char/varchar use the code page of the database collation; the sample database uses the SQL Server
# default SQL_Latin1_General_CP1_CI_AS, i.e. Windows-1252 (one byte per character).
CHAR_ENCODING = "cp1252"


class PreciseDateTime(_dt.datetime):
    """A datetime that also carries the digits below the microsecond (``nanosecond``: 0-999).

    SQL Server's datetime2(7)/datetimeoffset(7) keep 100 ns; Python's datetime keeps 1 µs. Arithmetic and
    ``replace`` may return instances without the extra digits (``nanosecond`` reads 0 there); comparison and
    hashing take ``nanosecond`` into account.
    """

    __slots__ = ("nanosecond",)

    def __new__(cls, *args, nanosecond: int = 0, **kwargs):
        if not 0 <= nanosecond <= 999:
            raise ValueError("nanosecond must be in 0..999")
        self = super().__new__(cls, *args, **kwargs)
        self.nanosecond = nanosecond
        return self

    @classmethod
    def of(cls, value: _dt.datetime, nanosecond: int = 0) -> "PreciseDateTime":
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
                   value.tzinfo, fold=value.fold, nanosecond=nanosecond)

    def __eq__(self, other):
        if isinstance(other, _dt.datetime):
            return super().__eq__(other) and nanos_of(self) == nanos_of(other)
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((super().__hash__(), nanos_of(self)))

    def __repr__(self):
        return f"{super().__repr__()[:-1]}, nanosecond={nanos_of(self)})"

    def __reduce_ex__(self, protocol):
        return (_precise_datetime, (self.year, self.month, self.day, self.hour, self.minute, self.second,
                                    self.microsecond, self.tzinfo, self.fold, nanos_of(self)))


def _precise_datetime(year, month, day, hour, minute, second, microsecond, tzinfo, fold, nanosecond):
    return PreciseDateTime(year, month, day, hour, minute, second, microsecond, tzinfo, fold=fold,
                           nanosecond=nanosecond)


class PreciseTime(_dt.time):
    """A time of day that also carries the digits below the microsecond (``nanosecond``: 0-999), for time(7)."""

    __slots__ = ("nanosecond",)

    def __new__(cls, *args, nanosecond: int = 0, **kwargs):
        if not 0 <= nanosecond <= 999:
            raise ValueError("nanosecond must be in 0..999")
        self = super().__new__(cls, *args, **kwargs)
        self.nanosecond = nanosecond
        return self

    @classmethod
    def of(cls, value: _dt.time, nanosecond: int = 0) -> "PreciseTime":
        return cls(value.hour, value.minute, value.second, value.microsecond, value.tzinfo, fold=value.fold,
                   nanosecond=nanosecond)

    def __eq__(self, other):
        if isinstance(other, _dt.time):
            return super().__eq__(other) and nanos_of(self) == nanos_of(other)
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((super().__hash__(), nanos_of(self)))

    def __repr__(self):
        return f"{super().__repr__()[:-1]}, nanosecond={nanos_of(self)})"

    def __reduce_ex__(self, protocol):
        return (_precise_time, (self.hour, self.minute, self.second, self.microsecond, self.tzinfo, self.fold,
                                nanos_of(self)))


def _precise_time(hour, minute, second, microsecond, tzinfo, fold, nanosecond):
    return PreciseTime(hour, minute, second, microsecond, tzinfo, fold=fold, nanosecond=nanosecond)


def nanos_of(value) -> int:
    """Sub-microsecond nanoseconds carried by a Precise* value (0 for plain datetime/time)."""
    return getattr(value, "nanosecond", 0)


def float32(value: float) -> float:
    """Round a float to IEEE single precision (what a SQL Server ``real`` stores)."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        raise ValueError(f"{value!r} is out of range for real") from None


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units: the unit of nchar(n)/nvarchar(n) lengths."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Column:
    """One column. ``length``: n of (n)char/(n)varchar/varbinary, precision of decimal/numeric.
    ``scale``: scale of decimal/numeric, fractional-second precision of time/datetime2/datetimeoffset."""

    name: str
    type: str
    length: int | None = None
    scale: int | None = None
    nullable: bool = True

    def __post_init__(self):
        if self.type not in SUPPORTED_TYPES:
            raise ValueError(f"column {self.name}: unsupported SQL Server type {self.type!r}")
        if self.type in CHAR_TYPES + ("varbinary",) and not self.length:
            raise ValueError(f"column {self.name}: {self.type} needs a length")
        if self.type in ("decimal", "numeric") and self.length is None:
            raise ValueError(f"column {self.name}: {self.type} needs a precision")

    # --- type facts -------------------------------------------------------------------------------------------
    @property
    def precision(self) -> int:
        """Decimal precision (decimal/numeric/money/smallmoney)."""
        return {"money": 19, "smallmoney": 10}.get(self.type, self.length)

    @property
    def decimal_scale(self) -> int:
        if self.type in ("money", "smallmoney"):
            return 4
        return self.scale or 0

    @property
    def fsp(self) -> int:
        """Fractional-second precision as the driver reports it (DECIMAL_DIGITS): datetime is 3."""
        if self.type == "datetime":
            return 3
        return DEFAULT_FSP if self.scale is None else self.scale

    @property
    def is_lob(self) -> bool:
        """A large-object column for SQL Server CDC and for Debezium's "max column" test (jdbc type LONG*)."""
        return self.type == "xml"

    @property
    def is_decimal(self) -> bool:
        return self.type in ("decimal", "numeric", "money", "smallmoney")

    @property
    def sql(self) -> str:
        """The column's type as written in DDL."""
        if self.type in ("decimal", "numeric"):
            return f"{self.type}({self.length},{self.scale or 0})"
        if self.type in CHAR_TYPES + ("varbinary",):
            return f"{self.type}({self.length})"
        if self.type in ("time", "datetime2", "datetimeoffset"):
            return f"{self.type}({self.fsp})"
        return self.type

    @property
    def jdbc_metadata(self) -> tuple[int, int, int | None]:
        """(DATA_TYPE, COLUMN_SIZE, DECIMAL_DIGITS) as mssql-jdbc's getColumns reports them."""
        t = self.type
        if t in INTEGER_RANGES:
            code = {"tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT"}[t]
            return JDBC_TYPES[code], {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}[t], 0
        if t == "bit":
            return JDBC_TYPES["BIT"], 1, None
        if self.is_decimal:
            return JDBC_TYPES["NUMERIC" if t == "numeric" else "DECIMAL"], self.precision, self.decimal_scale
        if t == "float":
            return JDBC_TYPES["DOUBLE"], 53, None
        if t == "real":
            return JDBC_TYPES["REAL"], 24, None
        if t == "date":
            return JDBC_TYPES["DATE"], 10, None
        if t == "time":
            return JDBC_TYPES["TIME"], 8 + (self.fsp + 1 if self.fsp else 0), self.fsp
        if t == "datetime":
            return JDBC_TYPES["TIMESTAMP"], 23, 3
        if t == "datetime2":
            return JDBC_TYPES["TIMESTAMP"], 19 + (self.fsp + 1 if self.fsp else 0), self.fsp
        if t == "datetimeoffset":
            return JDBC_TYPES["DATETIMEOFFSET"], 26 + (self.fsp + 1 if self.fsp else 0), self.fsp
        if t == "uniqueidentifier":
            return JDBC_TYPES["CHAR"], 36, None
        if t == "xml":
            return JDBC_TYPES["LONGNVARCHAR"], 2147483647, None  # reported as (max)
        code = {"char": "CHAR", "varchar": "VARCHAR", "nchar": "NCHAR", "nvarchar": "NVARCHAR",
                "varbinary": "VARBINARY"}[t]
        return JDBC_TYPES[code], self.length, None

    # --- values -----------------------------------------------------------------------------------------------
    def normalize(self, value):
        """Return ``value`` as SQL Server stores it in this column; ValueError/TypeError if it cannot hold it."""
        if value is None:
            if not self.nullable:
                raise ValueError(f"column {self.name} is NOT NULL")
            return None
        try:
            return getattr(self, "_norm_" + self.type.replace("datetime2", "datetime2_"))(value)
        except (ValueError, TypeError, decimal.InvalidOperation) as exc:
            raise type(exc)(f"column {self.name} ({self.sql}): {exc}") from None

    def _norm_bit(self, v):
        if isinstance(v, bool) or v in (0, 1):
            return bool(v)
        raise TypeError(f"bit needs a bool, got {v!r}")

    def _norm_int_type(self, v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"needs an int, got {v!r}")
        low, high = INTEGER_RANGES[self.type]
        if not low <= v <= high:
            raise ValueError(f"{v} is out of range {low}..{high}")
        return v

    _norm_tinyint = _norm_smallint = _norm_int = _norm_bigint = _norm_int_type

    def _norm_decimal_type(self, v):
        if isinstance(v, bool) or not isinstance(v, (int, str, decimal.Decimal, float)):
            raise TypeError(f"needs a Decimal, got {v!r}")
        d = decimal.Decimal(str(v) if isinstance(v, float) else v)
        if not d.is_finite():
            raise ValueError(f"{v!r} is not finite")
        # SQL Server rounds half away from zero when a value has more digits than the scale.
        q = d.quantize(decimal.Decimal(1).scaleb(-self.decimal_scale), rounding=decimal.ROUND_HALF_UP,
                       context=decimal.Context(prec=60))
        if self.type in MONEY_RANGES:
            low, high = MONEY_RANGES[self.type]
            if not low <= q <= high:
                raise ValueError(f"{v} is out of range for {self.type}")
        elif len(q.as_tuple().digits) > self.precision and q != 0:
            raise ValueError(f"{v} needs more than {self.precision} digits")
        return q

    _norm_decimal = _norm_numeric = _norm_money = _norm_smallmoney = _norm_decimal_type

    def _norm_float(self, v):
        if isinstance(v, bool) or not isinstance(v, (int, float, decimal.Decimal)):
            raise TypeError(f"float needs a number, got {v!r}")
        f = float(v)
        if f != f or f in (float("inf"), float("-inf")):
            raise ValueError("SQL Server float cannot hold NaN or infinity")
        return f

    def _norm_real(self, v):
        f = self._norm_float(v)
        r = float32(f)
        if r in (float("inf"), float("-inf")):
            raise ValueError(f"{v!r} is out of range for real")
        return r

    def _norm_date(self, v):
        if isinstance(v, _dt.datetime) or not isinstance(v, _dt.date):
            raise TypeError(f"date needs a datetime.date, got {v!r}")
        return v

    def _norm_time(self, v):
        if not isinstance(v, _dt.time) or v.tzinfo is not None:
            raise TypeError(f"time needs a naive datetime.time, got {v!r}")
        nanos = ((v.hour * 60 + v.minute) * 60 + v.second) * 10 ** 9 + v.microsecond * 1000 + nanos_of(v)
        nanos = _round_nanos(nanos, self.fsp)
        if nanos >= 86400 * 10 ** 9:
            raise ValueError(f"{v} rounds past midnight at precision {self.fsp}")
        return _time_from_nanos(nanos)

    def _norm_datetime(self, v):
        dt = self._naive_datetime(v)
        if not _dt.datetime(1753, 1, 1) <= dt:
            raise ValueError("datetime starts at 1753-01-01")
        # datetime keeps 1/300 s ticks; mssql-jdbc reads them back as whole milliseconds ((ticks * 10 + 1) / 3).
        micros_in_day = (dt.hour * 3600 + dt.minute * 60 + dt.second) * 10 ** 6 + dt.microsecond
        ticks = (micros_in_day * 300 + nanos_of(v) * 300 // 1000 + 500_000) // 1_000_000
        millis = (ticks * 10 + 1) // 3
        try:
            return _dt.datetime(dt.year, dt.month, dt.day) + _dt.timedelta(milliseconds=millis)
        except OverflowError:
            raise ValueError("datetime ends at 9999-12-31 23:59:59.997") from None

    def _norm_datetime2_(self, v):
        return _round_datetime(self._naive_datetime(v), nanos_of(v), self.fsp)

    def _norm_datetimeoffset(self, v):
        if not isinstance(v, _dt.datetime) or v.tzinfo is None or v.utcoffset() is None:
            raise TypeError(f"datetimeoffset needs an aware datetime.datetime, got {v!r}")
        offset = v.utcoffset()
        if offset % _dt.timedelta(minutes=1) or abs(offset) > _dt.timedelta(hours=14):
            raise ValueError(f"offset {offset} is not whole minutes within ±14:00")
        local = _round_datetime(v.replace(tzinfo=None), nanos_of(v), self.fsp)
        tz = _dt.timezone(offset)
        aware = _dt.datetime(local.year, local.month, local.day, local.hour, local.minute, local.second,
                             local.microsecond, tz)
        return PreciseDateTime.of(aware, nanos_of(local)) if nanos_of(local) else aware

    @staticmethod
    def _naive_datetime(v):
        if not isinstance(v, _dt.datetime) or v.tzinfo is not None:
            raise TypeError(f"needs a naive datetime.datetime, got {v!r}")
        return v

    def _norm_char_type(self, v):
        if not isinstance(v, str):
            raise TypeError(f"needs a str, got {v!r}")
        if self.type in ("char", "varchar"):
            try:
                size = len(v.encode(CHAR_ENCODING))
            except UnicodeEncodeError:
                raise ValueError(f"{v!r} does not fit the {CHAR_ENCODING} code page of {self.type}; "
                                 "use nchar/nvarchar") from None
        else:
            size = utf16_units(v)
        if size > self.length:
            raise ValueError(f"{v!r} is longer than {self.length}")
        if self.type in ("char", "nchar"):
            v = v + " " * (self.length - size)
        return v

    _norm_char = _norm_varchar = _norm_nchar = _norm_nvarchar = _norm_char_type

    def _norm_varbinary(self, v):
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise TypeError(f"varbinary needs bytes, got {v!r}")
        b = bytes(v)
        if len(b) > self.length:
            raise ValueError(f"{len(b)} bytes is longer than {self.length}")
        return b

    def _norm_uniqueidentifier(self, v):
        if isinstance(v, uuid.UUID):
            return v
        if isinstance(v, str):
            return uuid.UUID(v)
        raise TypeError(f"uniqueidentifier needs a uuid.UUID, got {v!r}")

    def _norm_xml(self, v):
        # SQL Server re-serializes XML (attribute quotes, empty elements, declarations); cdcgen passes the text
        # through, so sample values must already be in the form SQL Server returns (e.g. <a b="1" />).
        if not isinstance(v, str):
            raise TypeError(f"xml needs a str, got {v!r}")
        return v


def _round_nanos(nanos: int, fsp: int) -> int:
    """Round to ``fsp`` fractional digits, half up (SQL Server rounds, it does not truncate)."""
    unit = 10 ** (9 - fsp)
    return (nanos + unit // 2) // unit * unit


def _time_from_nanos(nanos: int) -> _dt.time:
    micros, sub = divmod(nanos, 1000)
    seconds, micro = divmod(micros, 10 ** 6)
    t = _dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)
    return PreciseTime.of(t, sub) if sub else t


def _round_datetime(dt: _dt.datetime, sub_micro: int, fsp: int) -> _dt.datetime:
    """Round a naive datetime (+ nanoseconds below its microsecond) to ``fsp`` digits; plain or Precise result."""
    rounded = _round_nanos(dt.microsecond * 1000 + sub_micro, fsp)
    base = _dt.datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
    try:
        result = base + _dt.timedelta(microseconds=rounded // 1000)
    except OverflowError:
        raise ValueError(f"{dt} rounds past 9999-12-31") from None
    sub = rounded % 1000
    return PreciseDateTime.of(result, sub) if sub else result


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    def __post_init__(self):
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        for k in self.primary_key:
            if k not in names:
                raise ValueError(f"table {self.name}: key column {k} is not a column")
            if self.column(k).nullable:
                raise ValueError(f"table {self.name}: key column {k} must be NOT NULL")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        return tuple(self.column(k) for k in self.primary_key)

    def normalize_row(self, row: Mapping) -> dict:
        """A full row (every column, in table order) as SQL Server stores it. Missing nullable columns are NULL."""
        unknown = set(row) - set(self.column_names)
        if unknown:
            raise KeyError(f"table {self.name} has no column(s) {sorted(unknown)}")
        return {c.name: c.normalize(row.get(c.name)) for c in self.columns}

    def key_of(self, row_or_key) -> tuple:
        """The key tuple of a row (a mapping) or of a key given as a tuple, a mapping or a single value."""
        if isinstance(row_or_key, Mapping):
            missing = [k for k in self.primary_key if k not in row_or_key]
            if missing:
                raise KeyError(f"table {self.name}: key column(s) {missing} missing")
            values = [row_or_key[k] for k in self.primary_key]
        elif isinstance(row_or_key, tuple):
            values = list(row_or_key)
        else:
            values = [row_or_key]
        if len(values) != len(self.primary_key):
            raise ValueError(f"table {self.name}: key has {len(self.primary_key)} column(s)")
        return tuple(c.normalize(v) for c, v in zip(self.key_columns, values))

    def ddl(self, schema: str = "dbo") -> str:
        """CREATE TABLE statement (T-SQL) for this table."""
        lines = [f"    {c.name} {c.sql} {'NULL' if c.nullable else 'NOT NULL'}" for c in self.columns]
        lines.append(f"    CONSTRAINT PK_{self.name} PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE {schema}.{self.name} (\n" + ",\n".join(lines) + "\n);"


def _table(name, key, *columns):
    return Table(name, tuple(columns), tuple(key))


C = Column
TABLES: dict[str, Table] = {
    t.name: t for t in (
        _table("customers", ["id"],
               C("id", "int", nullable=False),
               C("email", "nvarchar", 255, nullable=False),
               C("full_name", "nvarchar", 200),
               C("created_at", "datetime2", scale=7),
               C("is_active", "bit")),
        _table("orders", ["id"],
               C("id", "int", nullable=False),
               C("customer_id", "int"),
               C("status", "varchar", 20),
               C("total", "decimal", 12, 2),
               C("ordered_at", "datetimeoffset", scale=7)),
        _table("line_items", ["id"],
               C("id", "bigint", nullable=False),
               C("order_id", "int"),
               C("sku", "varchar", 40),
               C("quantity", "int"),
               C("unit_price", "money")),
        _table("inventory_levels", ["warehouse_id", "sku"],
               C("warehouse_id", "int", nullable=False),
               C("sku", "varchar", 40, nullable=False),
               C("on_hand", "int"),
               C("updated_at", "datetime2", scale=3)),
        _table("all_types", ["id"],
               C("id", "int", nullable=False),
               C("c_bit", "bit"),
               C("c_tinyint", "tinyint"),
               C("c_smallint", "smallint"),
               C("c_int", "int"),
               C("c_bigint", "bigint"),
               C("c_decimal", "decimal", 18, 4),
               C("c_numeric", "numeric", 10, 0),
               C("c_money", "money"),
               C("c_smallmoney", "smallmoney"),
               C("c_float", "float"),
               C("c_real", "real"),
               C("c_date", "date"),
               C("c_time", "time", scale=7),
               C("c_datetime", "datetime"),
               C("c_datetime2", "datetime2", scale=7),
               C("c_datetimeoffset", "datetimeoffset", scale=7),
               C("c_char", "char", 10),
               C("c_varchar", "varchar", 100),
               C("c_nchar", "nchar", 10),
               C("c_nvarchar", "nvarchar", 100),
               C("c_varbinary", "varbinary", 64),
               C("c_uniqueidentifier", "uniqueidentifier"),
               C("c_xml", "xml")),
    )
}
del C

TABLE_ORDER = tuple(TABLES)  # customers, orders, line_items, inventory_levels, all_types

# The heartbeat table (docs/sqlserver.md): one row, id 1, whose ts the source connector's heartbeat.action.query
# sets to SYSUTCDATETIME() every heartbeat.interval.ms. Not one of the sample TABLES: the random workload never
# touches it; state.Heartbeat emits its change stream.
HEARTBEAT_TABLE = Table("sluice_heartbeat", (Column("id", "int", nullable=False),
                                             Column("ts", "datetime2", scale=7, nullable=False)), ("id",))
