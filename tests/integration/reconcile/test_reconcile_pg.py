# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The reconciler PostgreSQL vs PostgreSQL (databases src and dst of a throwaway cluster, see conftest.py),
with injected differences of every kind; each test asserts the exact keys reported."""

from __future__ import annotations

import itertools
import math
import time

import psycopg
import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import engine, normalize
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import PostgresDialect, Side
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.typemap import ColumnInfo, pair

_names = (f"t{i}" for i in itertools.count())


@pytest.fixture
def table(db):
    """A fresh table name; the tables are dropped afterwards."""
    made = []

    def new():
        made.append(next(_names))
        return made[-1]

    yield new
    for name in made:
        for d in ("src", "dst"):
            db(d, f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def run(dsns, db):
    def endpoint(name):
        return engine.Endpoint(PostgresDialect(), lambda: psycopg.connect(dsns[name]))

    def go(tables, **options):
        for name in ("src", "dst"):  # statistics, as autovacuum keeps them: key ranges need the key's order
            db(name, "ANALYZE")
        options.setdefault("mode", "full")
        options.setdefault("buckets", 8)
        return engine.reconcile(endpoint("src"), endpoint("dst"), tables, **options)

    return go


def both(db, *sql):
    for d in ("src", "dst"):
        for s in sql:
            db(d, s)


def only(report):
    (t,) = report["tables"]
    return t


def keys(rows):
    return sorted(rows)


def diff_map(t):
    return {tuple(d["key"]): d["columns"] for d in t["different"]}


def test_missing_extra_changed_in_every_mode(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, name text, qty int)",
         f"INSERT INTO {t} SELECT g, 'n' || g, g FROM generate_series(1, 500) g")
    db("dst", f"DELETE FROM {t} WHERE id IN (7, 300)")
    db("dst", f"INSERT INTO {t} VALUES (501, 'new', 1), (9999, NULL, NULL)")
    db("dst", f"UPDATE {t} SET qty = -1 WHERE id = 42")
    db("dst", f"UPDATE {t} SET name = 'N250', qty = 0 WHERE id = 250")

    full = run([t])
    r = only(full)
    assert r["status"] == "different" and full["exit_status"] == 1
    assert (r["rows_source"], r["rows_target"]) == (500, 500)
    assert keys(r["missing_in_target"]) == [[7], [300]]
    assert keys(r["extra_in_target"]) == [[501], [9999]]
    assert diff_map(r) == {(42,): {"qty": [42, -1]}, (250,): {"name": ["n250", "N250"], "qty": [250, 0]}}
    assert (r["missing_in_target_count"], r["extra_in_target_count"], r["different_count"]) == (2, 2, 2)
    # An integer primary key: 8 ranges over the source's histogram of 1..500 (7 and 42 in the first, 250 and 300
    # in the one starting at 250), and 8 for the keys above it up to 9999 (501 and 9999 in the first and the last).
    assert (r["buckets_differing"], r["buckets_compared"]) == (4, 10)
    assert full["totals"]["different_rows"] == 2

    checksum = only(run([t], mode="checksum"))
    assert checksum["status"] == "different" and checksum["buckets_differing"] == r["buckets_differing"]
    assert checksum["missing_in_target"] == [] and checksum["different"] == []
    counted = only(run([t], mode="count"))
    assert counted["status"] == "consistent" and counted["rows_target"] == 500  # same count: count mode is blind


def test_identical_tables_are_consistent(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id bigint PRIMARY KEY, v text)",
         f"INSERT INTO {t} SELECT g, md5(g::text) FROM generate_series(1, 2000) g")
    report = run([t], buckets=64)
    assert report["status"] == "consistent" and report["exit_status"] == 0
    assert only(report)["buckets_differing"] == 0 and only(report)["rows_source"] == 2000


def test_null_is_not_empty_string(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, a text, b bytea)")
    db("src", f"INSERT INTO {t} VALUES (1, NULL, NULL), (2, '', ''), (3, NULL, '')")
    db("dst", f"INSERT INTO {t} VALUES (1, '', NULL), (2, NULL, ''), (3, NULL, NULL)")
    r = only(run([t]))
    assert diff_map(r) == {(1,): {"a": [None, ""]}, (2,): {"a": ["", None]}, (3,): {"b": ["", None]}}


def test_char_padding_is_trimmed_only_for_fixed_length_char(db, run, table):
    t = table()
    db("src", f"CREATE TABLE {t} (id int PRIMARY KEY, c char(10), v text)")
    db("dst", f"CREATE TABLE {t} (id int PRIMARY KEY, c text, v text)")
    db("src", f"INSERT INTO {t} VALUES (1, 'abc', 'abc'), (2, 'abc', 'abc'), (3, 'abc', 'abc'), (4, ' x', 'x')")
    db("dst", f"INSERT INTO {t} VALUES (1, 'abc       ', 'abc'), (2, 'abc', 'abc  '), (3, 'abd', 'abc'),"
              " (4, 'x', 'x')")
    r = only(run([t]))
    assert diff_map(r) == {(2,): {"v": ["abc", "abc  "]}, (3,): {"c": ["abc       ", "abd"]},
                           (4,): {"c": [" x        ", "x"]}}  # values shown as stored


def test_float_zero_sign_and_nan(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, f float8, r real)")
    db("src", f"INSERT INTO {t} VALUES (1, 0.0, 0), (2, 'NaN', 'NaN'), (3, 1.0, 3.14), (4, 'Infinity', 1)")
    db("dst", f"INSERT INTO {t} VALUES (1, '-0', '-0'), (2, 'NaN', 'NaN'), (3, 1.0000000000000002, 3.14),"
              " (4, '-Infinity', 1)")
    r = only(run([t]))
    assert diff_map(r) == {(3,): {"f": [1.0, 1.0000000000000002]}, (4,): {"f": ["inf", "-inf"]}}


def test_decimal_scale_is_explicit(db, run, table):
    t = table()
    db("src", f"CREATE TABLE {t} (id int PRIMARY KEY, d numeric(10,1), u numeric, i int)")
    db("dst", f"CREATE TABLE {t} (id int PRIMARY KEY, d numeric(12,2), u numeric, i numeric(10,0))")
    db("src", f"INSERT INTO {t} VALUES (1, 1.5, 1.5, 7), (2, -0.5, 100, 8), (3, 1.5, 2, 9)")
    db("dst", f"INSERT INTO {t} VALUES (1, 1.50, 1.500, 7), (2, -0.50, 100.0, 8), (3, 1.51, 2.01, 10)")
    r = only(run([t]))
    assert diff_map(r) == {(3,): {"d": ["1.5", "1.51"], "u": ["2", "2.01"], "i": [9, "10"]}}


def test_timestamp_microsecond_difference(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, ts timestamp(6), tz timestamptz)")
    db("src", f"INSERT INTO {t} VALUES (1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02'),"
              " (2, '1969-12-31 23:59:59.999999', '2024-01-02 01:04:05.5Z')")
    db("dst", f"INSERT INTO {t} VALUES (1, '2024-01-02 03:04:05.123457', '2024-01-02 01:04:05.5+00'),"
              " (2, '1969-12-31 23:59:59.999999', '2024-01-02 01:04:05.500001Z')")
    r = only(run([t]))
    assert list(diff_map(r)) == [(1,), (2,)] or sorted(diff_map(r)) == [(1,), (2,)]
    assert set(diff_map(r)[(1,)]) == {"ts"} and set(diff_map(r)[(2,)]) == {"tz"}


def test_nfc_vs_nfd_differs_unless_nfc_option(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, s text)")
    db("src", f"INSERT INTO {t} VALUES (1, %s), (2, 'plain')", ["Zo\u00eb"])
    db("dst", f"INSERT INTO {t} VALUES (1, %s), (2, 'plain')", ["Zoe\u0308"])
    assert diff_map(only(run([t]))) == {(1,): {"s": ["Zo\u00eb", "Zoe\u0308"]}}
    assert only(run([t], nfc=True))["status"] == "consistent"
    assert only(run([{"source": t, "nfc": True}]))["status"] == "consistent"


def test_uuid_against_upper_case_text(db, run, table):
    t = table()
    db("src", f"CREATE TABLE {t} (id int PRIMARY KEY, u uuid)")
    db("dst", f"CREATE TABLE {t} (id int PRIMARY KEY, u text)")
    db("src", f"INSERT INTO {t} VALUES (1, '6f9619ff-8b86-d011-b42d-00c04fc964ff'),"
              " (2, '6f9619ff-8b86-d011-b42d-00c04fc964ff')")
    db("dst", f"INSERT INTO {t} VALUES (1, '6F9619FF-8B86-D011-B42D-00C04FC964FF'),"
              " (2, '6F9619FF-8B86-D011-B42D-00C04FC964FE')")
    r = only(run([t]))
    assert diff_map(r) == {(2,): {"u": ["6F9619FF-8B86-D011-B42D-00C04FC964FF",
                                        "6F9619FF-8B86-D011-B42D-00C04FC964FE"]}}


def test_bytea_and_uuid_keys(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (k bytea PRIMARY KEY, b bytea)")
    db("src", f"INSERT INTO {t} VALUES ('\\x00', '\\x0102'), ('\\x0000', '\\x'), ('\\xff', '\\x01')")
    db("dst", f"INSERT INTO {t} VALUES ('\\x00', '\\x0103'), ('\\x', '\\x'), ('\\xff', '\\x01')")
    r = only(run([t]))
    assert r["missing_in_target"] == [["0000"]] and r["extra_in_target"] == [[""]]
    assert diff_map(r) == {("00",): {"b": ["0102", "0103"]}}


def test_composite_key(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (warehouse_id int, sku text, on_hand int, PRIMARY KEY (warehouse_id, sku))",
         f"INSERT INTO {t} SELECT w, 'SKU-' || s, w * s FROM generate_series(1, 5) w, generate_series(1, 40) s")
    db("dst", f"DELETE FROM {t} WHERE warehouse_id = 2 AND sku = 'SKU-3'")
    db("dst", f"INSERT INTO {t} VALUES (3, 'SKU-3 ', 0), (2, 'sku-3', 6)")
    db("dst", f"UPDATE {t} SET on_hand = 0 WHERE (warehouse_id, sku) = (5, 'SKU-40')")
    r = only(run([t]))
    assert r["key_columns"] == ["warehouse_id", "sku"]
    assert r["missing_in_target"] == [[2, "SKU-3"]]
    assert keys(r["extra_in_target"]) == [[2, "sku-3"], [3, "SKU-3 "]]
    assert diff_map(r) == {(5, "SKU-40"): {"on_hand": [200, 0]}}


def test_text_keys_ordered_differently_by_collation(db, run, table):
    # Range bisection breaks when the engines sort keys differently; hashing the canonical key does not.
    collation = db("dst", "SELECT collname FROM pg_collation WHERE collname IN ('und-x-icu', 'en_US', 'en_US.utf8')"
                          " ORDER BY collname DESC LIMIT 1").fetchone()
    if collation is None:
        pytest.skip("no second collation with a different order")
    t = table()
    words = ["a", "B", "_x", "Z", "é", "e", "aa", "A", "b", "10", "9", " z", "z ", "Ä", "ß", "ss"]
    db("src", f'CREATE TABLE {t} (k text COLLATE "C" PRIMARY KEY, v int)')
    db("dst", f'CREATE TABLE {t} (k text COLLATE "{collation[0]}" PRIMARY KEY, v int)')
    for i, w in enumerate(words):
        both(db, f"INSERT INTO {t} VALUES ('{w}', {i})") if w not in ("ß", "ss") else None
    db("src", f"INSERT INTO {t} VALUES ('ß', 100)")
    db("dst", f"INSERT INTO {t} VALUES ('ss', 100)")
    db("dst", f"UPDATE {t} SET v = -1 WHERE k = 'Z'")
    src_order = [r[0] for r in db("src", f"SELECT k FROM {t} ORDER BY k")]
    dst_order = [r[0] for r in db("dst", f"SELECT k FROM {t} ORDER BY k")]
    assert [k for k in src_order if k in dst_order] != [k for k in dst_order if k in src_order]
    r = only(run([t], buckets=4))
    assert r["missing_in_target"] == [["ß"]] and r["extra_in_target"] == [["ss"]]
    assert diff_map(r) == {("Z",): {"v": [3, -1]}}


@pytest.mark.parametrize("key_type", ["int", "text"])  # key ranges and hash buckets
def test_in_flight_change_resolved_by_recheck(db, run, table, monkeypatch, key_type):
    t = table()
    k = (lambda i: i) if key_type == "int" else (lambda i: f"k{i}")
    key = "g" if key_type == "int" else "'k' || g"
    both(db, f"CREATE TABLE {t} (id {key_type} PRIMARY KEY, v text)",
         f"INSERT INTO {t} SELECT {key}, 'v' || g FROM generate_series(1, 100) g")
    db("dst", f"UPDATE {t} SET v = 'stale' WHERE id IN (%s, %s)", [k(10), k(20)])
    db("dst", f"DELETE FROM {t} WHERE id = %s", [k(30)])
    real_sleep = engine.time.sleep
    slept = []

    def catch_up(seconds):  # the pipeline delivers two of the three pending changes during the delay
        slept.append(seconds)
        db("dst", f"UPDATE {t} SET v = 'v10' WHERE id = %s", [k(10)])
        db("dst", f"INSERT INTO {t} VALUES (%s, 'v30')", [k(30)])
        real_sleep(0)

    monkeypatch.setattr(engine.time, "sleep", catch_up)
    report = run([t], recheck_delay=2.5)
    r = only(report)
    assert slept == [2.5]
    assert r["rechecked_resolved"] == 2 and report["totals"]["rechecked_resolved"] == 2
    assert r["missing_in_target"] == [] and r["extra_in_target"] == []
    assert diff_map(r) == {(k(20),): {"v": ["v20", "stale"]}}
    assert (r["missing_in_target_count"], r["different_count"]) == (0, 1)


def test_recheck_sees_new_differences(db, run, table, monkeypatch):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, v int)", f"INSERT INTO {t} VALUES (1, 1), (2, 2)")
    db("dst", f"DELETE FROM {t} WHERE id = 1")
    monkeypatch.setattr(engine.time, "sleep", lambda s: db("dst", f"INSERT INTO {t} VALUES (1, 5)"))
    r = only(run([t], recheck_delay=1))
    assert r["missing_in_target"] == [] and diff_map(r) == {(1,): {"v": [1, 5]}} and r["rechecked_resolved"] == 0


def test_where_filter_and_column_selection(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, a text, b text, note text)",
         f"INSERT INTO {t} SELECT g, 'a', 'b', 'n' FROM generate_series(1, 50) g")
    db("dst", f"UPDATE {t} SET note = 'changed' WHERE id = 5")
    db("dst", f"UPDATE {t} SET b = 'changed' WHERE id = 45")
    db("dst", f"DELETE FROM {t} WHERE id = 49")
    assert only(run([{"source": t, "exclude": ["note"], "where": "id < 40"}]))["status"] == "consistent"
    assert only(run([{"source": t, "include": ["a"]}]))["missing_in_target"] == [[49]]
    r = only(run([{"source": f"public.{t}", "target": f"public.{t}", "exclude": ["NOTE"],
                   "where": {"source": "a LIKE 'a%' AND id > 40", "target": "id > 40"}}]))
    assert r["columns"] == ["a", "b"]
    assert r["missing_in_target"] == [[49]] and diff_map(r) == {(45,): {"b": ["b", "changed"]}}


def test_incompatible_columns_are_reported_not_guessed(db, run, table):
    t = table()
    db("src", f"CREATE TABLE {t} (id int PRIMARY KEY, n int, ts timestamp, j text, gone int)")
    db("dst", f"CREATE TABLE {t} (id int PRIMARY KEY, n text, ts timestamptz, j jsonb)")
    report = run([t])
    r = only(report)
    assert report["exit_status"] == 2 and r["status"] == "error"
    assert r["errors"] == [
        f"public.{t}.n: postgresql int4 (int) is not comparable with postgresql text (text)",
        f"public.{t}.ts: postgresql timestamp (timestamp) is not comparable with postgresql timestamptz "
        "(timestamptz)",
        f"public.{t}.j: unsupported postgresql type jsonb",
        f"public.{t}.gone: missing in the target table",
    ]
    assert r["columns"] == []


def test_missing_table_and_many_tables_in_parallel(db, run, table):
    a, b = table(), table()
    both(db, f"CREATE TABLE {a} (id int PRIMARY KEY)", f"INSERT INTO {a} VALUES (1)")
    db("src", f"CREATE TABLE {b} (id int PRIMARY KEY)")
    report = run([a, b, "no_such_table"], workers=3)
    statuses = [t["status"] for t in report["tables"]]
    assert statuses == ["consistent", "error", "error"] and report["exit_status"] == 2
    assert report["totals"]["consistent"] == 1 and report["totals"]["error"] == 2
    assert "no_such_table" in report["tables"][2]["errors"][0]


def test_key_lists_are_capped_counts_are_not(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    db("src", f"INSERT INTO {t} SELECT generate_series(1, 30)")
    r = only(run([t], max_keys=5))
    assert r["missing_in_target_count"] == 30 and len(r["missing_in_target"]) == 5 and r["truncated"]


# --- server-side canonical encoding == Python reference -----------------------------------------------------------
ALL_TYPES = [("k_int", "int"), ("k_text", "text")], [
    ("c_bool", "boolean"), ("c_int2", "smallint"), ("c_int4", "integer"), ("c_int8", "bigint"),
    ("c_num", "numeric(18,4)"), ("c_num_free", "numeric"), ("c_float8", "double precision"), ("c_float4", "real"),
    ("c_date", "date"), ("c_time", "time(6)"), ("c_ts", "timestamp(6)"), ("c_tstz", "timestamptz"),
    ("c_uuid", "uuid"), ("c_uuid_text", "text"), ("c_text", "text"), ("c_varchar", "varchar(20)"),
    ("c_char", "char(10)"), ("c_bytea", "bytea"), ("c_xml", "xml"),
]
ALL_ROWS = [
    "1, 'a', true, -32768, -2147483648, -9223372036854775808, -12345678901234.5678, 1.50, -0.0, 3.14,"
    " '1969-12-31', '23:59:59.999999', '1969-12-31 23:59:59.999999', '2024-01-02 03:04:05.123456+05:30',"
    " '6f9619ff-8b86-d011-b42d-00c04fc964ff', '6F9619FF-8B86-D011-B42D-00C04FC964FF', 'Zoë 😀 e\u0301',"
    " '', 'ab', '\\x00ff', '<a b=\"1\" />'",
    "2, '', false, 32767, 2147483647, 9223372036854775807, -0.5, 'NaN', 'NaN', '-Infinity',"
    " '0001-01-01', '00:00:00', '2262-04-11 23:47:16.854775', '1900-01-01 00:00:00.000001Z',"
    " '00000000-0000-0000-0000-000000000000', 'not-a-uuid', 'tab\tnew\nline\\', '', '', '\\x', ''",
    "3, 'é', NULL, NULL, NULL, NULL, 0, -100.000, 'Infinity', '-0', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL",
    "4, ' ', NULL, 0, 0, 0, NULL, NULL, 1e308, 1e-45, '9999-12-31', '12:00:00.5', '2024-02-29 12:00:00',"
    " '2024-01-01 00:00:00-14', NULL, NULL, '\u00a0', NULL, 'x', NULL, NULL",
]


def test_server_side_canonical_bytes_equal_python_reference(db, dsns, table):
    t = table()
    key_cols, cols = ALL_TYPES
    ddl = ", ".join(f"{n} {ty}" for n, ty in key_cols + cols)
    db("src", f"CREATE TABLE {t} ({ddl}, PRIMARY KEY (k_int, k_text))")
    for row in ALL_ROWS:
        db("src", f"INSERT INTO {t} VALUES ({row})")
    dialect = PostgresDialect()
    with psycopg.connect(dsns["src"]) as conn:
        infos = {n: ColumnInfo(n, ty, sc) for n, ty, sc in conn.execute(*dialect.catalog_columns("public", t))}
        pairs = {n: pair("postgresql", i, "postgresql", i) for n, i in infos.items()}
        pairs["c_uuid_text"] = pair("postgresql", infos["c_uuid"], "postgresql", infos["c_uuid_text"])
        side = Side("public", t, tuple((infos[n], pairs[n].kind) for n, _ in key_cols),
                    tuple((infos[n], pairs[n].kind) for n, _ in cols))
        server = conn.execute(*dialect.canonical_rows(side)).fetchall()
        names = [n for n, _ in key_cols + cols]
        raw = conn.execute(f"SELECT {', '.join(names)} FROM {t}").fetchall()
    assert len(server) == len(ALL_ROWS)
    checked = 0
    expected = {}
    for values in raw:
        by_name = dict(zip(names, values))
        encoded = [normalize.frame(normalize.encode_value(pairs[n].kind, dialect.python_value(infos[n], by_name[n])))
                   for n in names]
        kf = b"".join(encoded[:len(key_cols)])
        rf = b"".join(encoded)
        khash = normalize.key_hash(kf)
        key_kinds = [pairs[n].kind for n, _ in key_cols]
        source = normalize.bucket_source(key_kinds, [by_name[n] for n, _ in key_cols], kf)
        expected[khash] = (kf, rf, khash, source,
                           normalize.row_hash(kf, b"".join(encoded[len(key_cols):])))
        for n, frame in zip(names, encoded):  # column by column, for a readable failure
            checked += 1
            one = Side("public", t, side.key, ((infos[n], pairs[n].kind),))
            with psycopg.connect(dsns["src"]) as conn:
                got = {bytes(r[2]): bytes(r[1])[len(r[0]):] for r in conn.execute(*dialect.canonical_rows(one))}
            assert got[khash] == frame, (n, by_name[n])
    for row in server:
        assert tuple(bytes(v) if isinstance(v, (bytes, memoryview)) else v for v in row) == expected[bytes(row[2])]
    assert checked == len(ALL_ROWS) * len(names)
    assert math.isnan(raw[1][names.index("c_float8")])


def test_range_digests_follow_key_order_not_physical_order(db, dsns, table):
    """A single integer primary key is digested per key range in key order: the server's digests equal the Python
    reference (MD5 of the frames in key order) on a table whose physical order is scrambled."""
    t = table()
    db("src", f"CREATE TABLE {t} (id bigint PRIMARY KEY, v text, n numeric(8,2), f float8, b bytea)")
    db("src", f"INSERT INTO {t} SELECT g, CASE WHEN g % 5 <> 0 THEN 'v' || g END, g / 3.0, g * 0.1, "
              "decode(md5(g::text), 'hex') FROM generate_series(1, 3000) g ORDER BY md5(g::text)")
    db("src", f"UPDATE {t} SET v = v || '!' WHERE id % 7 = 0")  # moves rows to the heap's end
    physical = [r[0] for r in db("src", f"SELECT id FROM {t}").fetchall()]
    assert physical != sorted(physical)
    dialect = PostgresDialect()
    with psycopg.connect(dsns["src"]) as conn:
        infos = [ColumnInfo(*c) for c in conn.execute(*dialect.catalog_columns("public", t))]
        kinds = [pair("postgresql", i, "postgresql", i).kind for i in infos]
        side = Side("public", t, ((infos[0], kinds[0]),), tuple(zip(infos[1:], kinds[1:])))
        ranges = [(i, lo, hi) for i, (lo, hi) in enumerate(engine._cut(-5, 3100, 7))]
        got = conn.execute(*dialect.range_digests(side, ranges)).fetchall()
        rows = conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
    expected = []
    for i, lo, hi in ranges:
        frames = [normalize.frames(kinds, [dialect.python_value(c, v) for c, v in zip(infos, row)])
                  for row in rows if lo <= row[0] <= hi]
        if frames:
            expected.append((i, len(frames), normalize.range_digest(frames)))
    assert len(expected) == 7 and got == expected


def test_integer_key_ranges_at_the_int8_limits(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id bigint PRIMARY KEY, v int)",
         f"INSERT INTO {t} VALUES (-9223372036854775808, 1), (-1, 2), (0, 3), (9223372036854775807, 4)")
    db("dst", f"UPDATE {t} SET v = 0 WHERE id = 9223372036854775807")
    db("dst", f"DELETE FROM {t} WHERE id = -9223372036854775808")
    db("dst", f"INSERT INTO {t} VALUES (5, 5)")
    db("dst", f"CLUSTER {t} USING {t}_pkey")  # rows in key order again after the changes
    r = only(run([t], split=2))
    assert r["partition"] == "ranges"
    assert r["missing_in_target"] == [[-9223372036854775808]] and r["extra_in_target"] == [[5]]
    assert diff_map(r) == {(9223372036854775807,): {"v": [4, 0]}}


@pytest.mark.parametrize("order, analyze, partition", [
    ("g", True, "ranges"), ("md5(g::text)", True, "buckets"), ("g", False, "buckets")])
def test_key_ranges_need_rows_stored_in_key_order(db, dsns, table, order, analyze, partition):
    """Key ranges read through the key's index: only when the statistics say the heap follows the key (else that
    is random access), and never without statistics."""
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, v int)",
         f"INSERT INTO {t} SELECT g, g FROM generate_series(1, 2000) g ORDER BY {order}")
    if analyze:
        both(db, f"ANALYZE {t}")
    db("dst", f"UPDATE {t} SET v = 0 WHERE id = 1500")
    endpoint = lambda name: engine.Endpoint(PostgresDialect(), lambda: psycopg.connect(dsns[name]))  # noqa: E731
    r = only(engine.reconcile(endpoint("src"), endpoint("dst"), [t], mode="full", buckets=8))
    assert r["partition"] == partition and diff_map(r) == {(1500,): {"v": [1500, 0]}}


def test_key_ranges_follow_the_histogram_past_an_outlier_key(db, run, table):
    """Equal-width ranges would hold every row but the sentinel in the first range (one digest of the whole
    table); the ranges follow the key's histogram instead."""
    t = table()
    both(db, f"CREATE TABLE {t} (id bigint PRIMARY KEY, v int)",
         f"INSERT INTO {t} SELECT g, g FROM generate_series(1, 5000) g",
         f"INSERT INTO {t} VALUES (9223372036854775807, 0)")
    db("dst", f"UPDATE {t} SET v = -1 WHERE id = 4321")
    r = only(run([t], mode="full", buckets=8))
    assert r["partition"] == "ranges" and r["buckets_compared"] >= 8 and r["buckets_differing"] == 1
    assert diff_map(r) == {(4321,): {"v": [4321, -1]}}


def test_integer_key_without_primary_key_keeps_buckets(db, run, table):
    """A chosen key that is not the primary key may hold NULLs, which no key range holds: hash buckets."""
    t = table()
    both(db, f"CREATE TABLE {t} (id int, v int)", f"INSERT INTO {t} SELECT g, g FROM generate_series(1, 100) g")
    db("dst", f"INSERT INTO {t} VALUES (NULL, 5)")
    r = only(run([{"source": t, "key": ["id"]}]))
    assert r["partition"] == "buckets" and (r["rows_source"], r["rows_target"]) == (100, 101)
    assert r["extra_in_target"] == [[None]]


def test_progress_reports_each_phase(db, run, table):
    t = table()
    both(db, f"CREATE TABLE {t} (id int PRIMARY KEY, v text)",
         f"INSERT INTO {t} SELECT g, 'v' || g FROM generate_series(1, 100) g")
    db("dst", f"UPDATE {t} SET v = 'x' WHERE id = 5")
    seen = []
    run([t], recheck_delay=0.01, progress=lambda table, phase: seen.append((table, phase)))
    assert seen == [(f"public.{t}", p) for p in ("reading the catalogs", "digesting buckets",
                                                  "drilling into 1 differing bucket(s)",
                                                  "re-checking 1 key(s) in 0.01 s")]
    seen.clear()
    run([t], mode="count", progress=lambda table, phase: seen.append(phase))
    assert seen == ["reading the catalogs", "counting rows"]


@pytest.mark.parametrize("key_type", ["int", "text"])
def test_split_scan_finds_the_same(db, run, table, key_type):
    """A table's digest scan in 3 slices per side (3 connections each) reports exactly what one scan reports."""
    t = table()
    key = "g" if key_type == "int" else "'k' || g"
    both(db, f"CREATE TABLE {t} (id {key_type} PRIMARY KEY, v int)",
         f"INSERT INTO {t} SELECT {key}, g FROM generate_series(-50, 950) g")
    db("dst", f"DELETE FROM {t} WHERE v IN (-7, 300)")
    db("dst", f"UPDATE {t} SET v = 0 WHERE v IN (42, 777)")
    db("dst", f"INSERT INTO {t} VALUES ({'5000' if key_type == 'int' else repr('new')}, 1)")
    one, three = run([t], buckets=16), run([t], buckets=16, split=3)
    for report in (one, three):
        r = only(report)
        assert (r["missing_in_target_count"], r["extra_in_target_count"], r["different_count"]) == (2, 1, 2)
    strip = ("seconds",)
    assert [{k: v for k, v in only(rep).items() if k not in strip} for rep in (one, three)][0] == \
        {k: v for k, v in only(three).items() if k not in strip}
    # The slices' extra connections are closed (backends leave pg_stat_activity shortly after the client closes).
    count = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dst' AND pid <> pg_backend_pid()"
    before = db("dst", count).fetchone()[0]
    run([t], buckets=16, split=3, mode="checksum")
    for _ in range(50):
        if db("dst", count).fetchone()[0] <= before:
            break
        time.sleep(0.1)
    assert db("dst", count).fetchone()[0] <= before
