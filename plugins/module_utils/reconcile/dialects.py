# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Every SQL statement of the reconciler, per dialect: PostgreSQL (psycopg 3) and SQL Server (pyodbc).

Each method returns ``(sql, params)``: identifiers are quoted here and nowhere else, values are always bound.
The per-row canonical encoding (``normalize.py``) is computed server-side so that only per-bucket aggregates
cross the network; the expressions produce the exact bytes of ``normalize.encode_value`` + ``frame``.

The WHERE filter of a table is trusted SQL text from the configuration (like a playbook's SQL), inserted as is.

SQL Server requirements: 2019 or later (the ``Latin1_General_100_BIN2_UTF8`` collation turns nvarchar into UTF-8
bytes; ``DATEDIFF_BIG``; ``STRING_AGG``; ``OPENJSON``, which needs compatibility level 130 or higher). The ``nfc``
option has no SQL Server equivalent (no Unicode normalization function).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import itertools
import json
import math
import struct
import uuid
from dataclasses import dataclass

from .normalize import FIXED_WIDTH
from .typemap import ColumnInfo

SQL_SS_TIMESTAMPOFFSET = -155  # pyodbc/ODBC type code of datetimeoffset


class Unsupported(ValueError):
    """The dialect cannot compute this comparison server-side."""


@dataclass(frozen=True)
class Side:
    """What one side selects: table, key and compared columns (each a (ColumnInfo, Kind)), optional filter."""

    schema: str
    table: str
    key: tuple
    columns: tuple
    where: str | None = None


class Dialect:
    name = ""
    placeholder = ""
    max_list = 0  # values per bound list (the engine chunks longer lists)

    # --- identifiers -------------------------------------------------------------------------------------------
    def quote(self, name: str) -> str:
        raise NotImplementedError

    def table_ref(self, side_or_schema, table: str | None = None) -> str:
        if isinstance(side_or_schema, Side):
            side_or_schema, table = side_or_schema.schema, side_or_schema.table
        return f"{self.quote(side_or_schema)}.{self.quote(table)}"

    # --- per-row expressions (subclasses) ---------------------------------------------------------------------
    def encode(self, column: str, info: ColumnInfo, kind) -> str:
        """SQL for the canonical bytes of a non-NULL value of the (quoted) column."""
        raise NotImplementedError

    def framed(self, column: str, info: ColumnInfo, kind) -> str:
        raise NotImplementedError

    # --- statements ---------------------------------------------------------------------------------------------
    MOD = "%"  # the modulo operator as written in a statement

    def _where(self, side: Side, extra: str | None = None) -> str:
        conditions = [f"({c})" for c in (side.where, extra) if c]
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    # --- bucket source ------------------------------------------------------------------------------------------
    # A single integer key is its own bucket source: no hash per row in the checksum scan (an MD5 costs about as
    # much as all of a row's encodings). Any other key: the first 4 bytes of md5(key frames), unsigned.
    # bucket = ((source % N) + N) % N: non-negative, Python's source % N, for a negative integer key too.
    @staticmethod
    def integer_key(side: Side) -> bool:
        return len(side.key) == 1 and side.key[0][1].name == "int"

    def int8(self, column: str, info: ColumnInfo) -> str:
        """SQL for the (quoted) integer column as a 64-bit integer."""
        raise NotImplementedError

    def _key_bucket_source(self, side: Side) -> str:
        """The bucket source of an integer key, from the raw column (NULL only under a user-chosen key)."""
        c, _ = side.key[0]
        return f"COALESCE({self.int8(self.quote(c.name), c)}, 0)"

    def _partition(self, side: Side, buckets: int, part: int, parts: int):
        """One of ``parts`` slices of a table's digest scan: the rows whose bucket mod parts is ``part``.
        Returns (filter on the raw row, filter on the inner query's _bs, params). An integer key is filtered in the
        scan itself, so another slice's rows are neither encoded nor hashed."""
        if parts <= 1:
            return None, None, []
        p = self.placeholder
        return (*self._bucket_filter(side, f"{self.MOD} {p} = {p}"), [buckets, buckets, buckets, parts, part])

    def _bucket(self, source: str = "_bs") -> str:
        """The bucket of a bucket source; binds the bucket count three times."""
        p, mod = self.placeholder, self.MOD
        return f"(({source} {mod} {p} + {p}) {mod} {p})"

    def _bucket_filter(self, side: Side, membership: str):
        """(scan filter, outer filter): ``bucket <membership>`` on the raw key for an integer key (the scan skips
        the other rows before encoding them), else on the inner query's _bs."""
        if self.integer_key(side):
            return f"{self._bucket(self._key_bucket_source(side))} {membership}", None
        return None, f"{self._bucket()} {membership}"

    def _inner(self, side: Side, raw_keys=False, raw_columns=False, scan_filter=None, ranged=False) -> str:
        """Per-row frames: _kf (key frames), _bs (bucket source; not in a ranged scan), _c0.._cN (column frames),
        optionally the raw values."""
        key = self.concat([self.framed(self.quote(c.name), c, k) for c, k in side.key])
        source = self._key_bucket_source(side) if self.integer_key(side) else self._hashed_bucket_source(key)
        parts = [f"{key} AS _kf"] + ([] if ranged else [f"{source} AS _bs"])
        parts += [f"{self.framed(self.quote(c.name), c, k)} AS _c{i}" for i, (c, k) in enumerate(side.columns)]
        if raw_keys:
            parts += [f"{self.quote(c.name)} AS _k{i}" for i, (c, _) in enumerate(side.key)]
        if raw_columns:
            parts += [f"{self.quote(c.name)} AS _v{i}" for i, (c, _) in enumerate(side.columns)]
        return f"SELECT {', '.join(parts)} FROM {self.table_ref(side)}{self._where(side, scan_filter)}"

    def _row_frames(self, side: Side) -> str:
        return self.concat(["_kf"] + [f"_c{i}" for i in range(len(side.columns))])

    # --- key ranges (a single integer primary key) ----------------------------------------------------------------
    # Integers order alike on every engine, so such a table is cut into contiguous key ranges and each range is
    # digested in key order: one MD5 over the range's concatenated row frames instead of one MD5 per row (that
    # per-row MD5 was half of a scan's cost). Each range is read through the key's index, which is cheap only when
    # the rows are stored in about key order (key_order). A primary key only: a NULL key would fall outside every
    # range.
    RANGE = "_sr"  # alias of the ranges' row source (lo, hi: inclusive bounds)

    def key_order(self, side: Side):
        """One row: how closely the rows' physical order follows the key, 0..1 (1: in key order), or NULL when
        unknown; and the key's histogram (equal-depth bounds, PostgreSQL's array text) or NULL."""
        raise NotImplementedError

    def key_bounds(self, side: Side):
        """(MIN(key), MAX(key)) of the rows selected."""
        k = self.quote(side.key[0][0].name)
        return f"SELECT MIN({k}), MAX({k}) FROM {self.table_ref(side)}{self._where(side)}", []

    def _ranged_inner(self, side: Side, **kw) -> str:
        k = self.quote(side.key[0][0].name)
        return self._inner(side, raw_keys=True, scan_filter=f"{k} BETWEEN {self.RANGE}.lo AND {self.RANGE}.hi",
                           ranged=True, **kw)

    def range_digests(self, side: Side, ranges):
        """Rows (range id, row count, signed 64-bit digest: ``normalize.range_digest``) for each non-empty range
        of ``ranges`` ((id, lo, hi) each)."""
        raise NotImplementedError

    def rows_in_ranges(self, side: Side, ranges, raw_columns: bool = False):
        """Like rows_in_buckets, for the rows of the given ranges ((lo, hi) each)."""
        raise NotImplementedError

    def count(self, side: Side):
        return f"SELECT COUNT(*) FROM {self.table_ref(side)}{self._where(side)}", []

    def bucket_digests(self, side: Side, buckets: int, part: int = 0, parts: int = 1):
        """Rows (bucket, row count, sum of signed 64-bit row hashes) for every non-empty bucket (of the slice
        ``part`` of ``parts``, see ``_partition``)."""
        raise NotImplementedError

    def _detail_columns(self, side: Side, raw_columns: bool) -> str:
        """The drill-down row: key hash, row md5, column md5s, raw keys [, raw column values]."""
        cols = [f"{self.md5('_kf')} AS _kh", f"{self.md5(self._row_frames(side))} AS _rh"]
        cols += [f"{self.md5(f'_c{i}')} AS _h{i}" for i in range(len(side.columns))]
        cols += [f"_k{i}" for i in range(len(side.key))]
        if raw_columns:
            cols += [f"_v{i}" for i in range(len(side.columns))]
        return ", ".join(cols)

    def rows_in_buckets(self, side: Side, buckets: int, bucket_ids, raw_columns: bool = False):
        """Rows (key hash, row md5, column md5s..., raw key values... [, raw column values...]) of the given
        buckets, ordered by key hash."""
        raise NotImplementedError

    def _hashed_bucket_source(self, key_frames: str) -> str:
        raise NotImplementedError

    def canonical_rows(self, side: Side):
        """Rows (key frames, row frames, key hash, bucket source, row hash): to test against normalize.py."""
        raise NotImplementedError

    # --- repair (repair.py) ---------------------------------------------------------------------------------------
    def current_database(self):
        raise NotImplementedError

    def data_collection(self, database: str | None, schema: str, table: str) -> str:
        """Debezium's name of a table in signals (``signal.data.collection`` style)."""
        raise NotImplementedError

    def signal_insert(self, signal_table: str):
        """INSERT of one signal row (id, type, data) into the Debezium signal table "schema.table"."""
        schema, dot, table = signal_table.partition(".")
        ref = self.table_ref(schema, table) if dot else self.table_ref(self.default_schema, signal_table)
        p = self.placeholder
        return f"INSERT INTO {ref} (id, type, data) VALUES ({p}, {p}, {p})"

    def literal(self, value, info: ColumnInfo) -> str:
        """A key value as SQL literal text, for Debezium's snapshot filter (which is SQL text, not bound)."""
        raise NotImplementedError

    def key_filter(self, key_infos, key_values) -> str:
        """SQL selecting exactly the given keys: ``k IN (...)``, or ``(a = .. AND b = ..) OR ...``."""
        names = [self.quote(c.name) for c in key_infos]
        if len(names) == 1:
            return f"{names[0]} IN ({', '.join(self.literal(k[0], key_infos[0]) for k in key_values)})"
        return " OR ".join("(" + " AND ".join(f"{n} = {self.literal(v, c)}" for n, v, c in zip(names, k, key_infos))
                           + ")" for k in key_values)

    def upsert(self, schema: str, table: str, key_names, column_names) -> str:
        raise Unsupported(f"direct repair writes to PostgreSQL targets only, not {self.name}")

    def delete(self, schema: str, table: str, key_names) -> str:
        raise Unsupported(f"direct repair writes to PostgreSQL targets only, not {self.name}")

    # --- catalog ------------------------------------------------------------------------------------------------
    def catalog_columns(self, schema: str, table: str):
        raise NotImplementedError

    def catalog_primary_key(self, schema: str, table: str):
        raise NotImplementedError

    # --- connections and values ---------------------------------------------------------------------------------
    default_schema = ""

    def prepare(self, conn) -> None:
        """Session setup after connecting."""

    def stream_cursor(self, conn):
        """A cursor that fetches a large result in batches instead of all at once."""
        return conn.cursor()

    def python_value(self, info: ColumnInfo, value):
        """A fetched value adjusted to what the server-side expression encodes (for the Python reference)."""
        return value


def _fixed_frame(null_check: str, encoded: str, null: str, prefix: str, concat) -> str:
    return f"CASE WHEN {null_check} IS NULL THEN {null} ELSE {concat([prefix, encoded])} END"


class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"
    max_list = 50_000  # one bound array; chunked only to bound statement memory
    default_schema = "public"
    _cursor_ids = itertools.count(1)  # next() on a count is atomic under the GIL: safe across table workers

    WORK_MEM = "64MB"

    def prepare(self, conn) -> None:
        # Session setting: the bucket digests are one hash aggregate of up to buckets x 64 groups (full mode, ~350
        # bytes each); with the default work_mem (4MB) it spills to disk and doubles the statement's time.
        cur = conn.cursor()
        try:
            cur.execute(f"SET work_mem = '{self.WORK_MEM}'")
        finally:
            cur.close()

    def stream_cursor(self, conn):
        # A named (server-side) cursor: psycopg's client cursor would hold the whole result in memory.
        cur = conn.cursor(name=f"sluice_reconcile_{next(self._cursor_ids)}")
        cur.itersize = 5000
        return cur

    def quote(self, name: str) -> str:
        if not name or "\x00" in name:
            raise ValueError(f"invalid identifier {name!r}")
        return '"' + name.replace('"', '""') + '"'

    MOD = "%%"  # psycopg's escaped %

    def _where(self, side: Side, extra: str | None = None) -> str:
        # psycopg reads % as a placeholder marker whenever parameters are passed: a LIKE 'a%' must be doubled.
        user = side.where.replace('%', '%%') if side.where else None
        conditions = [f"({c})" for c in (user, extra) if c]
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    @staticmethod
    def concat(parts) -> str:
        return " || ".join(parts) if parts else "''::bytea"

    @staticmethod
    def md5(expr: str) -> str:
        return f"decode(md5({expr}), 'hex')"

    def encode(self, column, info, kind):
        k = kind.name
        if k == "int":
            return f"int8send({column}::int::int8)" if info.type == "bool" else f"int8send({column}::int8)"
        if k == "decimal":
            value = (f"trim_scale({column}::numeric)" if kind.scale is None
                     else f"round({column}::numeric, {kind.scale:d})")
            return f"convert_to({value}::text, 'UTF8')"
        if k == "float":
            # Every NaN equals 'NaN' in PostgreSQL, and -0 = 0: both collapse to one bit pattern.
            x = f"{column}::float8"
            return (f"float8send(CASE WHEN {x} = 0 THEN 0::float8 WHEN {x} = 'NaN'::float8 THEN 'NaN'::float8 "
                    f"ELSE {x} END)")
        if k == "date":
            return f"int8send(({column} - DATE '1970-01-01')::int8)"
        if k == "time":
            # The binary send formats are the canonical ones: time as int8 microseconds since midnight, timestamp
            # as int8 microseconds since 2000-01-01 (timestamptz: of the UTC instant). No arithmetic per row.
            return f"time_send({column}::time)"
        if k == "timestamp":
            return f"timestamp_send({column}::timestamp)"
        if k == "timestamptz":
            return f"timestamptz_send({column}::timestamptz)"
        if k == "uuid":
            return f"convert_to(upper({column}::text), 'UTF8')"
        if k in ("text", "char"):
            value = f"{column}::text"
            if k == "char":
                value = f"rtrim({value}, ' ')"
            if kind.nfc:
                value = f"normalize({value}, NFC)"
            return f"convert_to({value}, 'UTF8')"
        if k == "bytes":
            return column
        raise Unsupported(f"kind {k}")

    def framed(self, column, info, kind):
        e = self.encode(column, info, kind)
        if kind.name in FIXED_WIDTH:
            prefix = "'\\x0100000008'::bytea"
        else:
            prefix = f"'\\x01'::bytea || int4send(octet_length({e}))"
        return f"CASE WHEN {column} IS NULL THEN '\\x00'::bytea ELSE {prefix} || {e} END"

    def int8(self, column, info):
        return f"{column}::int::int8" if info.type == "bool" else f"{column}::int8"

    # The hashed bucket source (first 4 bytes of md5(key frames), unsigned) and the row hash (first 8, signed)
    # are read straight from md5's hex text: an explicit cast to bit(n) keeps the first n bits.
    def _hashed_bucket_source(self, key_frames):
        return f"('x' || md5({key_frames}))::bit(32)::int8"


    @staticmethod
    def _hash64(expr: str) -> str:
        return f"('x' || md5({expr}))::bit(64)::int8"

    def _frame_of(self, value: str, kind) -> str:
        """Frame of an already encoded value (a column of the inner subquery: computed once per row)."""
        if kind.name in FIXED_WIDTH:
            return f"CASE WHEN {value} IS NULL THEN '\\x00'::bytea ELSE '\\x0100000008'::bytea || {value} END"
        return (f"CASE WHEN {value} IS NULL THEN '\\x00'::bytea "
                f"ELSE '\\x01'::bytea || int4send(length({value})) || {value} END")

    def _inner(self, side, raw_keys=False, raw_columns=False, scan_filter=None, ranged=False):
        """Two levels. The innermost computes each value's canonical bytes once (encodings are strict: NULL in,
        NULL out), behind OFFSET 0 so that they are not re-evaluated where the frames use them twice (length
        prefix and bytes). The frames level is cheap (CASE and || over plain columns) and is flattened into the
        statement: no OFFSET 0 there, which leaves the scan and aggregate free to be planned as usual.
        ``ranged``: no bucket source, rows in key order (see range_digests)."""
        q = self.quote
        bucket = self.integer_key(side) and not ranged
        enc = [f"{self.encode(q(c.name), c, k)} AS _ek{i}" for i, (c, k) in enumerate(side.key)]
        enc += [f"{self.encode(q(c.name), c, k)} AS _e{i}" for i, (c, k) in enumerate(side.columns)]
        enc += [f"{self._key_bucket_source(side)} AS _bs"] if bucket else []
        raw = [f"{q(c.name)} AS _k{i}" for i, (c, _) in enumerate(side.key)] if raw_keys else []
        raw += [f"{q(c.name)} AS _v{i}" for i, (c, _) in enumerate(side.columns)] if raw_columns else []
        key = self.concat([self._frame_of(f'_ek{i}', k) for i, (_, k) in enumerate(side.key)])
        frames = [f"{key} AS _kf"]
        if not ranged:
            frames += ["_bs" if bucket else f"{self._hashed_bucket_source(key)} AS _bs"]
        frames += [f"{self._frame_of(f'_e{i}', k)} AS _c{i}" for i, (_, k) in enumerate(side.columns)]
        frames += [f"_k{i}" for i in range(len(side.key))] if raw_keys else []
        frames += [f"_v{i}" for i in range(len(side.columns))] if raw_columns else []
        order = f" ORDER BY {q(side.key[0][0].name)}" if ranged else ""
        return (f"SELECT {', '.join(frames)} FROM (SELECT {', '.join(enc + raw)} FROM {self.table_ref(side)}"
                f"{self._where(side, scan_filter)}{order} OFFSET 0) e")

    def bucket_digests(self, side, buckets, part=0, parts=1):
        scan_filter, bucket_filter, params = self._partition(side, buckets, part, parts)
        sql = (f"SELECT {self._bucket()} AS b, count(*), sum({self._hash64(self._row_frames(side))}) "
               f"FROM ({self._inner(side, scan_filter=scan_filter)}) r"
               f"{f' WHERE {bucket_filter}' if bucket_filter else ''} GROUP BY 1 ORDER BY 1")
        return sql, [buckets] * 3 + params

    def rows_in_buckets(self, side, buckets, bucket_ids, raw_columns=False):
        cols = self._detail_columns(side, raw_columns)
        scan_filter, outer_filter = self._bucket_filter(side, "= ANY(%s)")
        inner = self._inner(side, raw_keys=True, raw_columns=raw_columns, scan_filter=scan_filter)
        sql = f"SELECT {cols} FROM ({inner}) r{f' WHERE {outer_filter}' if outer_filter else ''} ORDER BY 1"
        return sql, [buckets] * 3 + [list(bucket_ids)]

    def canonical_rows(self, side):
        sql = (f"SELECT _kf, {self._row_frames(side)}, {self.md5('_kf')}, _bs, {self._hash64(self._row_frames(side))} "
               f"FROM ({self._inner(side)}) r ORDER BY 3")
        return sql, []

    def key_order(self, side):
        # The planner's statistics (from ANALYZE; autovacuum keeps them current): NULL before the first ANALYZE.
        sql = ("SELECT max(abs(correlation)), max(histogram_bounds::text) FROM pg_stats WHERE schemaname = %s "
               "AND tablename = %s AND attname = %s")
        return sql, [side.schema, side.table, side.key[0][0].name]

    def range_digests(self, side, ranges):
        # string_agg has no ORDER BY: it reads the rows in the order of the subquery (ORDER BY key behind OFFSET
        # 0; a lateral subquery is never split across parallel workers). In PostgreSQL 15 an ORDER BY inside the
        # aggregate would sort every range again: a quarter of the scan's time. The integration tests prove the
        # digests on a table whose physical order is not its key order.
        ids, los, his = (list(v) for v in zip(*ranges)) if ranges else ([], [], [])
        digest = self._hash64(f"string_agg({self._row_frames(side)}, ''::bytea)")
        r = self.RANGE
        sql = (f"SELECT {r}.i, x.n, x.h FROM unnest(%s::int4[], %s::int8[], %s::int8[]) AS {r}(i, lo, hi) "
               f"CROSS JOIN LATERAL (SELECT count(*) AS n, {digest} AS h FROM ({self._ranged_inner(side)}) r) x "
               "WHERE x.n > 0 ORDER BY 1")
        return sql, [ids, los, his]

    def rows_in_ranges(self, side, ranges, raw_columns=False):
        los, his = (list(v) for v in zip(*ranges)) if ranges else ([], [])
        cols = self._detail_columns(side, raw_columns)
        sql = (f"SELECT {cols} FROM unnest(%s::int8[], %s::int8[]) AS {self.RANGE}(lo, hi) "
               f"CROSS JOIN LATERAL ({self._ranged_inner(side, raw_columns=raw_columns)}) r ORDER BY 1")
        return sql, [los, his]

    def current_database(self):
        return "SELECT current_database()", []

    def data_collection(self, database, schema, table):
        return f"{schema}.{table}"  # Debezium's PostgreSQL connector: schema.table

    def literal(self, value, info):
        # psycopg renders literals with the server's quoting rules (E'' escapes, ::type casts where needed).
        from psycopg import sql  # noqa: PLC0415 - the driver is needed only here
        if isinstance(value, float) and value != value:
            raise Unsupported(f"key column {info.name}: NaN cannot be selected by a filter")
        return sql.Literal(value).as_string(None)

    def upsert(self, schema, table, key_names, column_names):
        q = self.quote
        names = [q(n) for n in list(key_names) + list(column_names)]
        update = (f"DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in column_names)}"
                  if column_names else "DO NOTHING")
        return (f"INSERT INTO {self.table_ref(schema, table)} ({', '.join(names)}) "
                f"VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT ({', '.join(q(k) for k in key_names)}) "
                f"{update}")

    def delete(self, schema, table, key_names):
        where = " AND ".join(f"{self.quote(k)} = %s" for k in key_names)
        return f"DELETE FROM {self.table_ref(schema, table)} WHERE {where}"

    def catalog_columns(self, schema, table):
        # Domains are not resolved to their base type: reported as unsupported rather than guessed.
        sql = ("SELECT a.attname, t.typname, CASE WHEN t.typname = 'numeric' AND a.atttypmod >= 4 "
               "THEN (a.atttypmod - 4) & 65535 END "
               "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
               "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
        return sql, [self.table_ref(schema, table)]

    def catalog_primary_key(self, schema, table):
        sql = ("SELECT a.attname FROM pg_index i "
               "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
               "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
               "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.ord")
        return sql, [self.table_ref(schema, table)]

    def python_value(self, info, value):
        if info.type == "float4" and value is not None:
            # Text protocol: '3.14' parses to the nearest double, not to the float4 the server widens exactly.
            return struct.unpack(">f", struct.pack(">f", value))[0]
        return value


class SqlServerDialect(Dialect):
    name = "sqlserver"
    placeholder = "?"
    max_list = 2000  # SQL Server accepts at most 2100 parameters per statement
    default_schema = "dbo"

    UTF8_COLLATION = "Latin1_General_100_BIN2_UTF8"
    _DAY_US = "CAST(86400000000 AS bigint)"  # a bare literal this large would be numeric, not bigint

    def quote(self, name: str) -> str:
        # QUOTENAME: brackets, ] doubled; QUOTENAME returns NULL beyond 128 characters, so refuse those.
        if not name or "\x00" in name or len(name) > 128:
            raise ValueError(f"invalid identifier {name!r}")
        return "[" + name.replace("]", "]]") + "]"

    @staticmethod
    def concat(parts) -> str:
        return " + ".join(parts) if parts else "0x"

    @staticmethod
    def md5(expr: str) -> str:
        return f"HASHBYTES('MD5', {expr})"

    def _utf8(self, nvarchar: str) -> str:
        return f"CAST(CAST({nvarchar} COLLATE {self.UTF8_COLLATION} AS varchar(max)) AS varbinary(max))"

    def _datetime2(self, column, info) -> str:
        if info.type == "datetime":
            # datetime keeps 1/300 s; the pipeline (mssql-jdbc) reads it as whole milliseconds.
            return f"CAST(CAST({column} AS datetime2(3)) AS datetime2(7))"
        if info.type == "datetimeoffset":
            return f"CAST(SWITCHOFFSET({column}, '+00:00') AS datetime2(7))"
        return f"CAST({column} AS datetime2(7))"

    def encode(self, column, info, kind):
        k = kind.name
        if kind.nfc:
            raise Unsupported("SQL Server has no Unicode normalization function: the nfc option needs "
                              "PostgreSQL on both sides")
        if k == "int":
            return f"CAST(CAST({column} AS bigint) AS binary(8))"
        if k == "decimal":
            if kind.scale is not None:
                return f"CAST(CONVERT(varchar(66), CAST({column} AS decimal(38, {kind.scale:d}))) AS varbinary(66))"
            text = f"CONVERT(varchar(66), CAST({column} AS decimal(38, {info.scale or 0:d})))"
            return f"CAST({self._trim_scale(text)} AS varbinary(66))"
        if k == "float":
            x = f"CAST({column} AS float)"
            return f"CAST(CASE WHEN {x} = 0 THEN CAST(0 AS float) ELSE {x} END AS binary(8))"
        if k == "date":
            return f"CAST(CAST(DATEDIFF(day, CAST('19700101' AS date), {column}) AS bigint) AS binary(8))"
        if k == "time":
            # 100 ns -> µs rounded half-up; 23:59:59.9999995 wraps to 00:00:00 like pgjdbc's time(6).
            ns = f"DATEDIFF_BIG(nanosecond, CAST('00:00:00' AS time(7)), CAST({column} AS time(7)))"
            return f"CAST(CAST(({ns} + 500) / 1000 % {self._DAY_US} AS bigint) AS binary(8))"
        if k in ("timestamp", "timestamptz"):
            # Days and nanoseconds within the day separately: DATEDIFF_BIG in ns from 2000 overflows in 2292.
            v = self._datetime2(column, info)
            days = f"CAST(DATEDIFF(day, CAST('20000101' AS date), CAST({v} AS date)) AS bigint)"
            ns = f"DATEDIFF_BIG(nanosecond, CAST(CAST({v} AS date) AS datetime2(7)), {v})"
            return f"CAST(CAST({days} * {self._DAY_US} + ({ns} + 500) / 1000 AS bigint) AS binary(8))"
        if k == "uuid":
            if info.type == "uniqueidentifier":
                return f"CAST(CONVERT(char(36), {column}) AS varbinary(36))"  # upper case
            return self._utf8(f"UPPER(CAST({column} AS nvarchar(max)))")
        if k in ("text", "char"):
            value = f"CAST({column} AS nvarchar(max))"
            if k == "char":
                value = f"RTRIM({value})"  # removes U+0020 only, like rstrip(' ')
            return self._utf8(value)
        if k == "bytes":
            return f"CAST({column} AS varbinary(max))"
        raise Unsupported(f"kind {k}")

    @staticmethod
    def _trim_scale(text: str) -> str:
        """T-SQL for trim_scale on a decimal's text: trailing fractional zeros, then a trailing point, removed."""
        zeros = f"LEFT({text}, LEN({text}) - PATINDEX('%[^0]%', REVERSE({text})) + 1)"
        trimmed = f"CASE WHEN RIGHT({zeros}, 1) = '.' THEN LEFT({zeros}, LEN({zeros}) - 1) ELSE {zeros} END"
        return f"CASE WHEN CHARINDEX('.', {text}) > 0 THEN {trimmed} ELSE {text} END"

    def framed(self, column, info, kind):
        e = self.encode(column, info, kind)
        if kind.name in FIXED_WIDTH:
            prefix = "0x0100000008"
        else:
            prefix = f"0x01 + CAST(CAST(DATALENGTH({e}) AS int) AS binary(4))"
        return f"CASE WHEN {column} IS NULL THEN 0x00 ELSE {prefix} + {e} END"

    def int8(self, column, info):
        return f"CAST({column} AS bigint)"

    def _hashed_bucket_source(self, key_frames):
        return f"CAST(SUBSTRING(HASHBYTES('MD5', {key_frames}), 1, 4) AS bigint)"


    @staticmethod
    def _hash64(expr: str) -> str:
        return f"CAST(SUBSTRING(HASHBYTES('MD5', {expr}), 1, 8) AS bigint)"

    def bucket_digests(self, side, buckets, part=0, parts=1):
        # SUM over bigint would overflow: decimal(38,0) holds 10**12 rows of 2**63; reduced mod 2**64 by the caller.
        scan_filter, bucket_filter, params = self._partition(side, buckets, part, parts)
        sql = (f"SELECT b, COUNT_BIG(*), SUM(CAST(h AS decimal(38, 0))) FROM ("
               f"SELECT {self._bucket()} AS b, {self._hash64(self._row_frames(side))} AS h "
               f"FROM ({self._inner(side, scan_filter=scan_filter)}) r"
               f"{f' WHERE {bucket_filter}' if bucket_filter else ''}) s GROUP BY b ORDER BY b")
        return sql, [buckets] * 3 + params

    def rows_in_buckets(self, side, buckets, bucket_ids, raw_columns=False):
        ids = list(bucket_ids)
        cols = self._detail_columns(side, raw_columns)
        scan_filter, outer_filter = self._bucket_filter(side, f"IN ({', '.join('?' * len(ids))})")
        inner = self._inner(side, raw_keys=True, raw_columns=raw_columns, scan_filter=scan_filter)
        sql = f"SELECT {cols} FROM ({inner}) r{f' WHERE {outer_filter}' if outer_filter else ''} ORDER BY 1"
        return sql, [buckets] * 3 + ids

    def canonical_rows(self, side):
        sql = (f"SELECT _kf, {self._row_frames(side)}, {self.md5('_kf')}, _bs, {self._hash64(self._row_frames(side))} "
               f"FROM ({self._inner(side)}) r ORDER BY 3")
        return sql, []

    def key_order(self, side):
        # A clustered primary key stores the rows in key order (SQL Server's default); a heap or a nonclustered
        # key does not.
        sql = ("SELECT CAST(COUNT(*) AS float), NULL FROM sys.indexes WHERE object_id = OBJECT_ID(?) "
               "AND is_primary_key = 1 AND type = 1")
        return sql, [self.table_ref(side)]

    # The ranges travel as one JSON parameter (a statement takes at most 2100 parameters). STRING_AGG takes no
    # varbinary: the frames are aggregated as hex text and turned back into bytes before HASHBYTES, so the digest
    # is the MD5 of the same bytes as in PostgreSQL.
    def range_digests(self, side, ranges):
        rows = f"STRING_AGG(CONVERT(varchar(max), {self._row_frames(side)}, 2), '') WITHIN GROUP (ORDER BY _k0)"
        digest = self._hash64(f"CONVERT(varbinary(max), {rows}, 2)")
        r = self.RANGE
        sql = (f"SELECT {r}.i, x.n, x.h FROM OPENJSON(?) WITH (i int '$[0]', lo bigint '$[1]', hi bigint '$[2]') "
               f"AS {r} CROSS APPLY (SELECT COUNT_BIG(*) AS n, {digest} AS h FROM ({self._ranged_inner(side)}) r) x "
               f"WHERE x.n > 0 ORDER BY {r}.i")
        return sql, [json.dumps([list(x) for x in ranges])]

    def rows_in_ranges(self, side, ranges, raw_columns=False):
        cols = self._detail_columns(side, raw_columns)
        sql = (f"SELECT {cols} FROM OPENJSON(?) WITH (lo bigint '$[0]', hi bigint '$[1]') AS {self.RANGE} "
               f"CROSS APPLY ({self._ranged_inner(side, raw_columns=raw_columns)}) r ORDER BY 1")
        return sql, [json.dumps([list(x) for x in ranges])]

    def current_database(self):
        return "SELECT DB_NAME()", []

    def data_collection(self, database, schema, table):
        if not database:
            raise ValueError("the SQL Server data collection name needs the database name")
        return f"{database}.{schema}.{table}"  # Debezium's SQL Server connector: database.schema.table

    def literal(self, value, info):
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, decimal.Decimal) and value.is_finite():
            return format(value, "f")
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        if isinstance(value, str):
            if "\x00" in value:
                raise Unsupported(f"key column {info.name}: a NUL character cannot be written as a literal")
            return "N'" + value.replace("'", "''") + "'"
        if isinstance(value, uuid.UUID):
            return f"'{value}'"
        if isinstance(value, _dt.datetime):
            return f"'{value.isoformat(timespec='microseconds')}'"
        if isinstance(value, (_dt.date, _dt.time)):
            return f"'{value.isoformat()}'"
        if isinstance(value, (bytes, bytearray, memoryview)):
            return "0x" + bytes(value).hex().upper()
        raise Unsupported(f"key column {info.name}: no SQL Server literal for {type(value).__name__} {value!r}")

    def catalog_columns(self, schema, table):
        # TYPE_NAME(system_type_id): alias types resolve to their base type; money's scale is 4.
        sql = ("SELECT c.name, TYPE_NAME(c.system_type_id), "
               "CASE WHEN TYPE_NAME(c.system_type_id) IN ('decimal', 'numeric') THEN CAST(c.scale AS int) "
               "WHEN TYPE_NAME(c.system_type_id) IN ('money', 'smallmoney') THEN 4 END "
               "FROM sys.columns c WHERE c.object_id = OBJECT_ID(?) ORDER BY c.column_id")
        return sql, [self.table_ref(schema, table)]

    def catalog_primary_key(self, schema, table):
        sql = ("SELECT c.name FROM sys.indexes i "
               "JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id "
               "JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
               "WHERE i.is_primary_key = 1 AND i.object_id = OBJECT_ID(?) ORDER BY ic.key_ordinal")
        return sql, [self.table_ref(schema, table)]

    def prepare(self, conn) -> None:
        conn.add_output_converter(SQL_SS_TIMESTAMPOFFSET, datetimeoffset_from_odbc)

    def python_value(self, info, value):
        if value is None:
            return None
        if info.type == "datetime":
            # pyodbc gives 1/300 s as .003333; the pipeline carries whole milliseconds, rounded.
            us = (value.microsecond + 500) // 1000 * 1000
            return value.replace(microsecond=0) + _dt.timedelta(microseconds=us)
        if info.type == "real":
            return struct.unpack(">f", struct.pack(">f", value))[0]
        return value


def datetimeoffset_from_odbc(raw: bytes) -> _dt.datetime:
    """pyodbc output converter for SQL_SS_TIMESTAMPOFFSET_STRUCT: an aware datetime, rounded half-up to µs.

    Without it pyodbc raises (unknown type -155). The struct carries nanoseconds; datetime holds microseconds,
    rounded half-up as the pipeline (pgjdbc) rounds datetimeoffset(7) into timestamptz.
    """
    year, month, day, hour, minute, second, nanos, tz_hour, tz_minute = struct.unpack("<6hI2h", raw)
    tz = _dt.timezone(_dt.timedelta(hours=tz_hour, minutes=tz_minute))
    base = _dt.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    return base + _dt.timedelta(microseconds=(nanos + 500) // 1000)


DIALECTS = {d.name: d for d in (PostgresDialect(), SqlServerDialect())}
