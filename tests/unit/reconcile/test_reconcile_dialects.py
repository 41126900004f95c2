# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for reconcile/dialects.py: exact SQL text and bound parameters per dialect, identifier quoting,
SQL Server value handling (pyodbc types, the datetimeoffset output converter). No database needed.

The pinned SQL below was reviewed once by hand; PostgreSQL's is proven on a real server by
tests/integration/reconcile (byte-for-byte against normalize.py). SQL Server's is not yet run on a server.
"""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import normalize as n
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import (
    DIALECTS,
    SQL_SS_TIMESTAMPOFFSET,
    PostgresDialect,
    Side,
    SqlServerDialect,
    Unsupported,
    datetimeoffset_from_odbc,
)
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.normalize import Kind
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.typemap import ColumnInfo

PG, MS = PostgresDialect(), SqlServerDialect()
Y2K = 946_684_800_000_000  # µs from 1970-01-01 to 2000-01-01, the canonical timestamp epoch

PG_ENCODE = [
    ('bool', 'int', None,
     'int8send("c"::int::int8)'),
    ('int4', 'int', None,
     'int8send("c"::int8)'),
    ('numeric', 'decimal', 2,
     'convert_to(round("c"::numeric, 2)::text, \'UTF8\')'),
    ('numeric', 'decimal', None,
     'convert_to(trim_scale("c"::numeric)::text, \'UTF8\')'),
    ('float4', 'float', None,
     'float8send(CASE WHEN "c"::float8 = 0 THEN 0::float8 WHEN "c"::float8 = \'NaN\'::float8 THEN '
     '\'NaN\'::float8 ELSE "c"::float8 END)'),
    ('date', 'date', None,
     'int8send(("c" - DATE \'1970-01-01\')::int8)'),
    ('time', 'time', None,
     'time_send("c"::time)'),
    ('timestamp', 'timestamp', None,
     'timestamp_send("c"::timestamp)'),
    ('timestamptz', 'timestamptz', None,
     'timestamptz_send("c"::timestamptz)'),
    ('uuid', 'uuid', None,
     'convert_to(upper("c"::text), \'UTF8\')'),
    ('bpchar', 'char', None,
     'convert_to(rtrim("c"::text, \' \'), \'UTF8\')'),
    ('text', 'text', None,
     'convert_to("c"::text, \'UTF8\')'),
    ('bytea', 'bytes', None,
     '"c"'),
]
PG_STATEMENTS = {
    'count': (
        'SELECT COUNT(*) FROM "dbo"."we]ird""t" WHERE (id > 5)',
        []),
    'bucket_digests': (
        "SELECT ((_bs %% %s + %s) %% %s) AS b, count(*), sum(('x' || md5(_kf || _c0))::bit(64)::int8)"
        " FROM (SELECT CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x0100000008'::bytea || _ek0 E"
        "ND AS _kf, _bs, CASE WHEN _e0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(leng"
        'th(_e0)) || _e0 END AS _c0 FROM (SELECT int8send("id"::int8) AS _ek0, convert_to("na]me"::te'
        'xt, \'UTF8\') AS _e0, COALESCE("id"::int8, 0) AS _bs FROM "dbo"."we]ird""t" WHERE (id > 5) OFF'
        'SET 0) e) r GROUP BY 1 ORDER BY 1',
        [16, 16, 16]),
    'rows_in_buckets': (
        "SELECT decode(md5(_kf), 'hex') AS _kh, decode(md5(_kf || _c0), 'hex') AS _rh, decode(md5(_c0"
        "), 'hex') AS _h0, _k0 FROM (SELECT CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x0100000"
        "008'::bytea || _ek0 END AS _kf, _bs, CASE WHEN _e0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::b"
        'ytea || int4send(length(_e0)) || _e0 END AS _c0, _k0 FROM (SELECT int8send("id"::int8) AS _e'
        'k0, convert_to("na]me"::text, \'UTF8\') AS _e0, COALESCE("id"::int8, 0) AS _bs, "id" AS _k0 FR'
        'OM "dbo"."we]ird""t" WHERE (id > 5) AND (((COALESCE("id"::int8, 0) %% %s + %s) %% %s) = ANY('
        '%s)) OFFSET 0) e) r ORDER BY 1',
        [16, 16, 16, [1, 2]]),
    'canonical_rows': (
        "SELECT _kf, _kf || _c0, decode(md5(_kf), 'hex'), _bs, ('x' || md5(_kf || _c0))::bit(64)::int"
        "8 FROM (SELECT CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x0100000008'::bytea || _ek0 "
        "END AS _kf, _bs, CASE WHEN _e0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(len"
        'gth(_e0)) || _e0 END AS _c0 FROM (SELECT int8send("id"::int8) AS _ek0, convert_to("na]me"::t'
        'ext, \'UTF8\') AS _e0, COALESCE("id"::int8, 0) AS _bs FROM "dbo"."we]ird""t" WHERE (id > 5) OF'
        'FSET 0) e) r ORDER BY 3',
        []),
    'key_order': (
        'SELECT max(abs(correlation)), max(histogram_bounds::text) FROM pg_stats WHERE schemaname = %s '
        'AND tablename = %s AND attname = %s',
        ['dbo', 'we]ird"t', 'id']),
    'key_bounds': (
        'SELECT MIN("id"), MAX("id") FROM "dbo"."we]ird""t" WHERE (id > 5)',
        []),
    'range_digests': (
        'SELECT _sr.i, x.n, x.h FROM unnest(%s::int4[], %s::int8[], %s::int8[]) AS _sr(i, lo, hi) CROSS'
        " JOIN LATERAL (SELECT count(*) AS n, ('x' || md5(string_agg(_kf || _c0, ''::bytea)))::bit(64):"
        ":int8 AS h FROM (SELECT CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x0100000008'::bytea |"
        "| _ek0 END AS _kf, CASE WHEN _e0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(len"
        'gth(_e0)) || _e0 END AS _c0, _k0 FROM (SELECT int8send("id"::int8) AS _ek0, convert_to("na]me"'
        '::text, \'UTF8\') AS _e0, "id" AS _k0 FROM "dbo"."we]ird""t" WHERE (id > 5) AND ("id" BETWEEN _s'
        'r.lo AND _sr.hi) ORDER BY "id" OFFSET 0) e) r) x WHERE x.n > 0 ORDER BY 1',
        [[0, 1], [1, 11], [10, 20]]),
    'rows_in_ranges': (
        "SELECT decode(md5(_kf), 'hex') AS _kh, decode(md5(_kf || _c0), 'hex') AS _rh, decode(md5(_c0),"
        " 'hex') AS _h0, _k0 FROM unnest(%s::int8[], %s::int8[]) AS _sr(lo, hi) CROSS JOIN LATERAL (SEL"
        "ECT CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x0100000008'::bytea || _ek0 END AS _kf, C"
        "ASE WHEN _e0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(length(_e0)) || _e0 END"
        ' AS _c0, _k0 FROM (SELECT int8send("id"::int8) AS _ek0, convert_to("na]me"::text, \'UTF8\') AS _'
        'e0, "id" AS _k0 FROM "dbo"."we]ird""t" WHERE (id > 5) AND ("id" BETWEEN _sr.lo AND _sr.hi) ORD'
        'ER BY "id" OFFSET 0) e) r ORDER BY 1',
        [[1, 21], [10, 30]]),
    'catalog_columns': (
        "SELECT a.attname, t.typname, CASE WHEN t.typname = 'numeric' AND a.atttypmod >= 4 THEN (a.at"
        'ttypmod - 4) & 65535 END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.at'
        'trelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum',
        ['"dbo"."t"']),
    'catalog_primary_key': (
        'SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(at'
        'tnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.in'
        'drelid = %s::regclass AND i.indisprimary ORDER BY k.ord',
        ['"dbo"."t"']),
}

MS_ENCODE = [
    ('bit', 'int', None,
     'CAST(CAST([c] AS bigint) AS binary(8))'),
    ('money', 'decimal', 4,
     'CAST(CONVERT(varchar(66), CAST([c] AS decimal(38, 4))) AS varbinary(66))'),
    ('decimal', 'decimal', None,
     "CAST(CASE WHEN CHARINDEX('.', CONVERT(varchar(66), CAST([c] AS decimal(38, 2)))) > 0 THEN "
     'CASE WHEN RIGHT(LEFT(CONVERT(varchar(66), CAST([c] AS decimal(38, 2))), LEN(CONVERT(varcha'
     "r(66), CAST([c] AS decimal(38, 2)))) - PATINDEX('%[^0]%', REVERSE(CONVERT(varchar(66), CAS"
     "T([c] AS decimal(38, 2))))) + 1), 1) = '.' THEN LEFT(LEFT(CONVERT(varchar(66), CAST([c] AS"
     " decimal(38, 2))), LEN(CONVERT(varchar(66), CAST([c] AS decimal(38, 2)))) - PATINDEX('%[^0"
     "]%', REVERSE(CONVERT(varchar(66), CAST([c] AS decimal(38, 2))))) + 1), LEN(LEFT(CONVERT(va"
     'rchar(66), CAST([c] AS decimal(38, 2))), LEN(CONVERT(varchar(66), CAST([c] AS decimal(38, '
     "2)))) - PATINDEX('%[^0]%', REVERSE(CONVERT(varchar(66), CAST([c] AS decimal(38, 2))))) + 1"
     ')) - 1) ELSE LEFT(CONVERT(varchar(66), CAST([c] AS decimal(38, 2))), LEN(CONVERT(varchar(6'
     "6), CAST([c] AS decimal(38, 2)))) - PATINDEX('%[^0]%', REVERSE(CONVERT(varchar(66), CAST(["
     'c] AS decimal(38, 2))))) + 1) END ELSE CONVERT(varchar(66), CAST([c] AS decimal(38, 2))) E'
     'ND AS varbinary(66))'),
    ('real', 'float', None,
     'CAST(CASE WHEN CAST([c] AS float) = 0 THEN CAST(0 AS float) ELSE CAST([c] AS float) END AS'
     ' binary(8))'),
    ('date', 'date', None,
     "CAST(CAST(DATEDIFF(day, CAST('19700101' AS date), [c]) AS bigint) AS binary(8))"),
    ('time', 'time', None,
     "CAST(CAST((DATEDIFF_BIG(nanosecond, CAST('00:00:00' AS time(7)), CAST([c] AS time(7))) + 5"
     '00) / 1000 % CAST(86400000000 AS bigint) AS bigint) AS binary(8))'),
    ('datetime2', 'timestamp', None,
     "CAST(CAST(CAST(DATEDIFF(day, CAST('20000101' AS date), CAST(CAST([c] AS datetime2(7)) AS d"
     'ate)) AS bigint) * CAST(86400000000 AS bigint) + (DATEDIFF_BIG(nanosecond, CAST(CAST(CAST('
     '[c] AS datetime2(7)) AS date) AS datetime2(7)), CAST([c] AS datetime2(7))) + 500) / 1000 A'
     'S bigint) AS binary(8))'),
    ('datetime', 'timestamp', None,
     "CAST(CAST(CAST(DATEDIFF(day, CAST('20000101' AS date), CAST(CAST(CAST([c] AS datetime2(3))"
     ' AS datetime2(7)) AS date)) AS bigint) * CAST(86400000000 AS bigint) + (DATEDIFF_BIG(nanos'
     'econd, CAST(CAST(CAST(CAST([c] AS datetime2(3)) AS datetime2(7)) AS date) AS datetime2(7))'
     ', CAST(CAST([c] AS datetime2(3)) AS datetime2(7))) + 500) / 1000 AS bigint) AS binary(8))'),
    ('smalldatetime', 'timestamp', None,
     "CAST(CAST(CAST(DATEDIFF(day, CAST('20000101' AS date), CAST(CAST([c] AS datetime2(7)) AS d"
     'ate)) AS bigint) * CAST(86400000000 AS bigint) + (DATEDIFF_BIG(nanosecond, CAST(CAST(CAST('
     '[c] AS datetime2(7)) AS date) AS datetime2(7)), CAST([c] AS datetime2(7))) + 500) / 1000 A'
     'S bigint) AS binary(8))'),
    ('datetimeoffset', 'timestamptz', None,
     "CAST(CAST(CAST(DATEDIFF(day, CAST('20000101' AS date), CAST(CAST(SWITCHOFFSET([c], '+00:00"
     "') AS datetime2(7)) AS date)) AS bigint) * CAST(86400000000 AS bigint) + (DATEDIFF_BIG(nan"
     "osecond, CAST(CAST(CAST(SWITCHOFFSET([c], '+00:00') AS datetime2(7)) AS date) AS datetime2"
     "(7)), CAST(SWITCHOFFSET([c], '+00:00') AS datetime2(7))) + 500) / 1000 AS bigint) AS binar"
     'y(8))'),
    ('uniqueidentifier', 'uuid', None,
     'CAST(CONVERT(char(36), [c]) AS varbinary(36))'),
    ('varchar', 'uuid', None,
     'CAST(CAST(UPPER(CAST([c] AS nvarchar(max))) COLLATE Latin1_General_100_BIN2_UTF8 AS varcha'
     'r(max)) AS varbinary(max))'),
    ('nchar', 'char', None,
     'CAST(CAST(RTRIM(CAST([c] AS nvarchar(max))) COLLATE Latin1_General_100_BIN2_UTF8 AS varcha'
     'r(max)) AS varbinary(max))'),
    ('nvarchar', 'text', None,
     'CAST(CAST(CAST([c] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max))'
     ' AS varbinary(max))'),
    ('varbinary', 'bytes', None,
     'CAST([c] AS varbinary(max))'),
]
MS_STATEMENTS = {
    'count': (
        'SELECT COUNT(*) FROM [dbo].[we]]ird"t] WHERE (id > 5)',
        []),
    'bucket_digests': (
        'SELECT b, COUNT_BIG(*), SUM(CAST(h AS decimal(38, 0))) FROM (SELECT ((_bs % ? + ?) % ?) AS b'
        ", CAST(SUBSTRING(HASHBYTES('MD5', _kf + _c0), 1, 8) AS bigint) AS h FROM (SELECT CASE WHEN ["
        'id] IS NULL THEN 0x00 ELSE 0x0100000008 + CAST(CAST([id] AS bigint) AS binary(8)) END AS _kf'
        ', COALESCE(CAST([id] AS bigint), 0) AS _bs, CASE WHEN [na]]me] IS NULL THEN 0x00 ELSE 0x01 +'
        ' CAST(CAST(DATALENGTH(CAST(CAST(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1_General_100_B'
        'IN2_UTF8 AS varchar(max)) AS varbinary(max))) AS int) AS binary(4)) + CAST(CAST(CAST([na]]me'
        '] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max))'
        ' END AS _c0 FROM [dbo].[we]]ird"t] WHERE (id > 5)) r) s GROUP BY b ORDER BY b',
        [16, 16, 16]),
    'rows_in_buckets': (
        "SELECT HASHBYTES('MD5', _kf) AS _kh, HASHBYTES('MD5', _kf + _c0) AS _rh, HASHBYTES('MD5', _c"
        '0) AS _h0, _k0 FROM (SELECT CASE WHEN [id] IS NULL THEN 0x00 ELSE 0x0100000008 + CAST(CAST(['
        'id] AS bigint) AS binary(8)) END AS _kf, COALESCE(CAST([id] AS bigint), 0) AS _bs, CASE WHEN'
        ' [na]]me] IS NULL THEN 0x00 ELSE 0x01 + CAST(CAST(DATALENGTH(CAST(CAST(CAST([na]]me] AS nvar'
        'char(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max))) AS int)'
        ' AS binary(4)) + CAST(CAST(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_U'
        'TF8 AS varchar(max)) AS varbinary(max)) END AS _c0, [id] AS _k0 FROM [dbo].[we]]ird"t] WHERE'
        ' (id > 5) AND (((COALESCE(CAST([id] AS bigint), 0) % ? + ?) % ?) IN (?, ?))) r ORDER BY 1',
        [16, 16, 16, 1, 2]),
    'canonical_rows': (
        "SELECT _kf, _kf + _c0, HASHBYTES('MD5', _kf), _bs, CAST(SUBSTRING(HASHBYTES('MD5', _kf + _c0"
        '), 1, 8) AS bigint) FROM (SELECT CASE WHEN [id] IS NULL THEN 0x00 ELSE 0x0100000008 + CAST(C'
        'AST([id] AS bigint) AS binary(8)) END AS _kf, COALESCE(CAST([id] AS bigint), 0) AS _bs, CASE'
        ' WHEN [na]]me] IS NULL THEN 0x00 ELSE 0x01 + CAST(CAST(DATALENGTH(CAST(CAST(CAST([na]]me] AS'
        ' nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max))) AS'
        ' int) AS binary(4)) + CAST(CAST(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1_General_100_B'
        'IN2_UTF8 AS varchar(max)) AS varbinary(max)) END AS _c0 FROM [dbo].[we]]ird"t] WHERE (id > 5'
        ')) r ORDER BY 3',
        []),
    'key_order': (
        'SELECT CAST(COUNT(*) AS float), NULL FROM sys.indexes WHERE object_id = OBJECT_ID(?) AND is_pr'
        'imary_key = 1 AND type = 1',
        ['[dbo].[we]]ird"t]']),
    'key_bounds': (
        'SELECT MIN([id]), MAX([id]) FROM [dbo].[we]]ird"t] WHERE (id > 5)',
        []),
    'range_digests': (
        "SELECT _sr.i, x.n, x.h FROM OPENJSON(?) WITH (i int '$[0]', lo bigint '$[1]', hi bigint '$[2]'"
        ") AS _sr CROSS APPLY (SELECT COUNT_BIG(*) AS n, CAST(SUBSTRING(HASHBYTES('MD5', CONVERT(varbin"
        "ary(max), STRING_AGG(CONVERT(varchar(max), _kf + _c0, 2), '') WITHIN GROUP (ORDER BY _k0), 2))"
        ', 1, 8) AS bigint) AS h FROM (SELECT CASE WHEN [id] IS NULL THEN 0x00 ELSE 0x0100000008 + CAST'
        '(CAST([id] AS bigint) AS binary(8)) END AS _kf, CASE WHEN [na]]me] IS NULL THEN 0x00 ELSE 0x01'
        ' + CAST(CAST(DATALENGTH(CAST(CAST(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1_General_100_B'
        'IN2_UTF8 AS varchar(max)) AS varbinary(max))) AS int) AS binary(4)) + CAST(CAST(CAST([na]]me] '
        'AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max)) END'
        ' AS _c0, [id] AS _k0 FROM [dbo].[we]]ird"t] WHERE (id > 5) AND ([id] BETWEEN _sr.lo AND _sr.hi'
        ')) r) x WHERE x.n > 0 ORDER BY _sr.i',
        ['[[0, 1, 10], [1, 11, 20]]']),
    'rows_in_ranges': (
        "SELECT HASHBYTES('MD5', _kf) AS _kh, HASHBYTES('MD5', _kf + _c0) AS _rh, HASHBYTES('MD5', _c0)"
        " AS _h0, _k0 FROM OPENJSON(?) WITH (lo bigint '$[0]', hi bigint '$[1]') AS _sr CROSS APPLY (SE"
        'LECT CASE WHEN [id] IS NULL THEN 0x00 ELSE 0x0100000008 + CAST(CAST([id] AS bigint) AS binary('
        '8)) END AS _kf, CASE WHEN [na]]me] IS NULL THEN 0x00 ELSE 0x01 + CAST(CAST(DATALENGTH(CAST(CAS'
        'T(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS var'
        'binary(max))) AS int) AS binary(4)) + CAST(CAST(CAST([na]]me] AS nvarchar(max)) COLLATE Latin1'
        '_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max)) END AS _c0, [id] AS _k0 FROM [dbo].'
        '[we]]ird"t] WHERE (id > 5) AND ([id] BETWEEN _sr.lo AND _sr.hi)) r ORDER BY 1',
        ['[[1, 10], [21, 30]]']),
    'catalog_columns': (
        "SELECT c.name, TYPE_NAME(c.system_type_id), CASE WHEN TYPE_NAME(c.system_type_id) IN ('decim"
        "al', 'numeric') THEN CAST(c.scale AS int) WHEN TYPE_NAME(c.system_type_id) IN ('money', 'sma"
        "llmoney') THEN 4 END FROM sys.columns c WHERE c.object_id = OBJECT_ID(?) ORDER BY c.column_i"
        'd',
        ['[dbo].[t]']),
    'catalog_primary_key': (
        'SELECT c.name FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id AND'
        ' ic.index_id = i.index_id JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id ='
        ' ic.column_id WHERE i.is_primary_key = 1 AND i.object_id = OBJECT_ID(?) ORDER BY ic.key_ordi'
        'nal',
        ['[dbo].[t]']),
}


def _side(dialect):
    pg = dialect is PG
    return Side("dbo", 'we]ird"t', ((ColumnInfo("id", "int4" if pg else "int"), Kind("int")),),
                ((ColumnInfo("na]me", "text" if pg else "nvarchar"), Kind("text")),), "id > 5")


def _statement(dialect, name):
    side = _side(dialect)
    return {"count": lambda: dialect.count(side), "bucket_digests": lambda: dialect.bucket_digests(side, 16),
            "rows_in_buckets": lambda: dialect.rows_in_buckets(side, 16, (1, 2)),
            "canonical_rows": lambda: dialect.canonical_rows(side),
            "key_order": lambda: dialect.key_order(side),
            "key_bounds": lambda: dialect.key_bounds(side),
            "range_digests": lambda: dialect.range_digests(side, [(0, 1, 10), (1, 11, 20)]),
            "rows_in_ranges": lambda: dialect.rows_in_ranges(side, [(1, 10), (21, 30)]),
            "catalog_columns": lambda: dialect.catalog_columns("dbo", "t"),
            "catalog_primary_key": lambda: dialect.catalog_primary_key("dbo", "t")}[name]()


@pytest.mark.parametrize("dialect, expected", [(PG, PG_STATEMENTS), (MS, MS_STATEMENTS)], ids=["pg", "mssql"])
def test_statements_exact_text_and_params(dialect, expected):
    for name, (sql, params) in expected.items():
        assert _statement(dialect, name) == (sql, params), name


@pytest.mark.parametrize("dialect, cases", [(PG, PG_ENCODE), (MS, MS_ENCODE)], ids=["pg", "mssql"])
def test_encode_expressions(dialect, cases):
    for native, kind, scale, sql in cases:
        info = ColumnInfo("c", native, 2 if native == "decimal" else None)
        assert dialect.encode(dialect.quote("c"), info, Kind(kind, scale)) == sql, native


def test_every_kind_has_an_expression_in_both_dialects():
    for kind in n.KINDS:
        for dialect in (PG, MS):
            assert dialect.framed("[c]", ColumnInfo("c", "x", 2), Kind(kind, 2)).startswith("CASE WHEN [c] IS NULL")


def test_frames_fixed_and_variable_width():
    assert PG.framed('"c"', ColumnInfo("c", "int4"), Kind("int")) == (
        'CASE WHEN "c" IS NULL THEN \'\\x00\'::bytea ELSE \'\\x0100000008\'::bytea || int8send("c"::int8) END')
    assert MS.framed("[c]", ColumnInfo("c", "varbinary"), Kind("bytes")) == (
        "CASE WHEN [c] IS NULL THEN 0x00 ELSE 0x01 + CAST(CAST(DATALENGTH(CAST([c] AS varbinary(max))) AS int) "
        "AS binary(4)) + CAST([c] AS varbinary(max)) END")


def test_no_compared_columns_hashes_the_key_alone():
    side = Side("s", "t", ((ColumnInfo("id", "int4"), Kind("int")),), ())
    assert "sum(('x' || md5(_kf))::bit(64)::int8)" in PG.bucket_digests(side, 4)[0]
    side = Side("s", "t", ((ColumnInfo("id", "int"), Kind("int")),), ())
    assert "HASHBYTES('MD5', _kf), 1, 8)" in MS.bucket_digests(side, 4)[0]
    assert PG.concat([]) == "''::bytea" and MS.concat([]) == "0x"


def test_where_filter_percent_is_escaped_for_psycopg_only():
    pg = Side("s", "t", ((ColumnInfo("id", "int4"), Kind("int")),), (), "name LIKE 'a%'")
    assert PG.count(pg) == ('SELECT COUNT(*) FROM "s"."t" WHERE (name LIKE \'a%%\')', [])
    assert MS.count(pg) == ("SELECT COUNT(*) FROM [s].[t] WHERE (name LIKE 'a%')", [])
    assert PG.count(Side("s", "t", (), ())) == ('SELECT COUNT(*) FROM "s"."t"', [])


@pytest.mark.parametrize("name, pg, ms", [
    ("plain", '"plain"', "[plain]"), ('a"b', '"a""b"', '[a"b]'), ("a]b", '"a]b"', "[a]]b]"),
    ("x'; DROP TABLE t; --", '"x\'; DROP TABLE t; --"', "[x'; DROP TABLE t; --]"), ("[]", '"[]"', "[[]]]"),
    ("Zoë 😀", '"Zoë 😀"', "[Zoë 😀]"),
])
def test_identifier_quoting(name, pg, ms):
    assert PG.quote(name) == pg and MS.quote(name) == ms


@pytest.mark.parametrize("bad", ["", "a\x00b"])
def test_invalid_identifiers(bad):
    for dialect in (PG, MS):
        with pytest.raises(ValueError):
            dialect.quote(bad)


def test_sqlserver_refuses_names_quotename_cannot_quote():
    assert MS.quote("x" * 128) == "[" + "x" * 128 + "]"
    with pytest.raises(ValueError):
        MS.quote("x" * 129)


def test_table_ref_and_registry():
    assert PG.table_ref("public", "t") == '"public"."t"' and MS.table_ref("dbo", "t") == "[dbo].[t]"
    assert DIALECTS["postgresql"].placeholder == "%s" and DIALECTS["sqlserver"].placeholder == "?"
    assert PG.default_schema == "public" and MS.default_schema == "dbo"


def test_sqlserver_bound_lists_have_one_marker_per_value():
    side = _side(MS)
    sql, params = MS.rows_in_buckets(side, 1024, range(5))
    # an integer key: the bucket filter is in the scan itself
    assert sql.endswith("(((COALESCE(CAST([id] AS bigint), 0) % ? + ?) % ?) IN (?, ?, ?, ?, ?))) r ORDER BY 1")
    assert params == [1024, 1024, 1024, 0, 1, 2, 3, 4]


def test_nfc_is_unsupported_on_sqlserver():
    with pytest.raises(Unsupported, match="normalization"):
        MS.encode("[c]", ColumnInfo("c", "nvarchar"), Kind("text", nfc=True))
    assert "normalize(" in PG.encode('"c"', ColumnInfo("c", "text"), Kind("char", nfc=True))


def test_unknown_kind_is_unsupported():
    bogus = Kind("text")
    object.__setattr__(bogus, "name", "json")
    for dialect in (PG, MS):
        with pytest.raises(Unsupported):
            dialect.encode("c", ColumnInfo("c", "json"), bogus)


# --- values as the drivers return them ----------------------------------------------------------------------------
def _dto(year, month, day, hour, minute, second, nanos, tz_hour, tz_minute):
    return struct.pack("<6hI2h", year, month, day, hour, minute, second, nanos, tz_hour, tz_minute)


@pytest.mark.parametrize("raw, expected", [
    (_dto(2024, 1, 2, 3, 4, 5, 123456700, 2, 0),
     dt.datetime(2024, 1, 2, 3, 4, 5, 123457, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    (_dto(2024, 1, 2, 3, 4, 5, 123456400, 5, 30),
     dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
    (_dto(2024, 12, 31, 23, 59, 59, 999999500, -3, -30),
     dt.datetime(2025, 1, 1, 0, 0, 0, tzinfo=dt.timezone(-dt.timedelta(hours=3, minutes=30)))),
    (_dto(1969, 12, 31, 23, 59, 59, 0, 0, 0), dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)),
])
def test_datetimeoffset_output_converter(raw, expected):
    value = datetimeoffset_from_odbc(raw)
    assert value == expected and value.utcoffset() == expected.utcoffset()


def test_prepare_registers_the_datetimeoffset_converter():
    class Conn:
        def __init__(self):
            self.converters = {}

        def add_output_converter(self, sqltype, func):
            self.converters[sqltype] = func

    conn = Conn()
    MS.prepare(conn)
    assert conn.converters == {SQL_SS_TIMESTAMPOFFSET: datetimeoffset_from_odbc} and SQL_SS_TIMESTAMPOFFSET == -155


def test_postgres_prepare_raises_work_mem_for_the_bucket_aggregate():
    executed = []

    class Cursor:
        def execute(self, sql, params=None):
            executed.append(sql)

        def close(self):
            executed.append("closed")

    class Conn:
        def cursor(self):
            return Cursor()

    assert PG.prepare(Conn()) is None
    assert executed == ["SET work_mem = '64MB'", "closed"]


# SQL Server values as pyodbc returns them -> the canonical bytes the server-side expression must produce.
U = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
MS_VALUES = [
    ("bit", "int", True, struct.pack(">q", 1)),
    ("tinyint", "int", 255, struct.pack(">q", 255)),
    ("bigint", "int", -2 ** 63, struct.pack(">q", -2 ** 63)),
    ("decimal", "decimal", Decimal("-1.5000"), b"-1.5000"),
    ("money", "decimal", Decimal("19.9900"), b"19.9900"),
    ("numeric", "decimal", Decimal("128"), b"128.0000"),
    ("float", "float", -0.0, struct.pack(">d", 0.0)),
    ("float", "float", 1e7, struct.pack(">d", 1e7)),
    ("real", "float", 3.140000104904175, struct.pack(">d", 3.140000104904175)),
    ("real", "float", 3.14, struct.pack(">d", 3.140000104904175)),  # whatever a driver widened, re-rounded
    ("date", "date", dt.date(1969, 12, 31), struct.pack(">q", -1)),
    ("time", "time", dt.time(23, 59, 59, 999999), struct.pack(">q", 86_399_999_999)),
    ("datetime2", "timestamp", dt.datetime(2024, 1, 2, 3, 4, 5, 123456), struct.pack(">q", 1_704_164_645_123_456 - Y2K)),
    # datetime keeps 1/300 s: pyodbc shows .003333, the pipeline carries .003
    ("datetime", "timestamp", dt.datetime(2024, 1, 1, 0, 0, 0, 3333), struct.pack(">q", 1_704_067_200_003_000 - Y2K)),
    ("datetime", "timestamp", dt.datetime(2024, 1, 1, 0, 0, 0, 6667), struct.pack(">q", 1_704_067_200_007_000 - Y2K)),
    ("datetime", "timestamp", dt.datetime(2024, 1, 1, 23, 59, 59, 997000), struct.pack(">q", 1_704_153_599_997_000 - Y2K)),
    ("datetimeoffset", "timestamptz", datetimeoffset_from_odbc(_dto(2024, 1, 2, 5, 4, 5, 500000000, 2, 0)),
     struct.pack(">q", 1_704_164_645_500_000 - Y2K)),
    ("char", "char", "abc       ", b"abc"),
    ("nchar", "char", "\U0001F600" + " " * 8, "\U0001F600".encode()),
    ("nvarchar", "text", "Zoë 😀 e\u0301", "Zoë 😀 e\u0301".encode()),
    ("varchar", "text", "", b""),
    ("varbinary", "bytes", b"\x00\x01\x02\x03\xff", b"\x00\x01\x02\x03\xff"),
    ("uniqueidentifier", "uuid", U.lower(), U.encode()),
    ("uniqueidentifier", "uuid", U, U.encode()),
    ("xml", "text", '<a b="1" />', b'<a b="1" />'),
]


@pytest.mark.parametrize("native, kind, value, expected", MS_VALUES)
def test_sqlserver_values_from_pyodbc(native, kind, value, expected):
    info = ColumnInfo("c", native, 4 if native in ("decimal", "numeric", "money") else None)
    k = Kind(kind, 4 if kind == "decimal" else None)
    assert n.encode_value(k, MS.python_value(info, value)) == expected


def test_python_value_passes_null_and_other_types_through():
    assert MS.python_value(ColumnInfo("c", "datetime"), None) is None
    assert MS.python_value(ColumnInfo("c", "int"), 5) == 5
    assert PG.python_value(ColumnInfo("c", "float4"), None) is None
    assert PG.python_value(ColumnInfo("c", "float4"), 3.14) == 3.140000104904175
    assert PG.python_value(ColumnInfo("c", "text"), "x") == "x"


def test_stream_cursors():
    class Conn:
        def cursor(self, name=None):
            return type("Cursor", (), {"name": name, "itersize": None})()

    first, second = PG.stream_cursor(Conn()), PG.stream_cursor(Conn())
    assert first.name.startswith("sluice_reconcile_") and first.name != second.name and first.itersize == 5000
    assert MS.stream_cursor(Conn()).name is None


@pytest.mark.parametrize("dialect, hashed", [
    (PG, "('x' || md5(CASE WHEN _ek0 IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(length(_ek0)) "
         "|| _ek0 END))::bit(32)::int8 AS _bs"),
    (MS, "CAST(SUBSTRING(HASHBYTES('MD5', CASE WHEN [k] IS NULL THEN 0x00 ELSE 0x01 + "),
], ids=["pg", "mssql"])
def test_bucket_source_hashes_keys_that_are_not_one_integer(dialect, hashed):
    text = (ColumnInfo("k", "text" if dialect is PG else "nvarchar"), Kind("text"))
    integer = (ColumnInfo("id", "int8" if dialect is PG else "bigint"), Kind("int"))
    for key in ((text,), (integer, integer)):
        sql, _ = dialect.bucket_digests(Side("dbo", "t", key, ()), 16)
        assert "AS bigint), 0) AS _bs" not in sql and "::int8, 0) AS _bs" not in sql
    sql, _ = dialect.bucket_digests(Side("dbo", "t", (text,), ()), 16)
    assert hashed in sql


def test_split_scan_slices():
    int_side = _side(PG)
    sql, params = PG.bucket_digests(int_side, 16, 2, 3)
    assert ('WHERE (id > 5) AND (((COALESCE("id"::int8, 0) %% %s + %s) %% %s) %% %s = %s) OFFSET 0' in sql
            and params == [16, 16, 16, 16, 16, 16, 3, 2])
    text = (ColumnInfo("k", "text"), Kind("text"))
    sql, params = PG.bucket_digests(Side("dbo", "t", (text,), ()), 16, 0, 2)
    assert sql.endswith(") r WHERE ((_bs %% %s + %s) %% %s) %% %s = %s GROUP BY 1 ORDER BY 1")
    assert params == [16, 16, 16, 16, 16, 16, 2, 0]
    sql, params = MS.bucket_digests(_side(MS), 16, 1, 4)
    assert "WHERE (id > 5) AND (((COALESCE(CAST([id] AS bigint), 0) % ? + ?) % ?) % ? = ?)) r) s GROUP BY b" in sql
    assert params == [16] * 6 + [4, 1]
    assert PG.bucket_digests(int_side, 16) == PG.bucket_digests(int_side, 16, 0, 1)
    sql, params = PG.rows_in_buckets(Side("dbo", "t", (text,), ()), 16, [3])  # a hashed key: filtered on _bs
    assert sql.endswith(") r WHERE ((_bs %% %s + %s) %% %s) = ANY(%s) ORDER BY 1") and params == [16, 16, 16, [3]]
