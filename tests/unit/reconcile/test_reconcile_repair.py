# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for reconcile/repair.py and the dialects' repair statements: exact SQL, literals for Debezium's
snapshot filter (SQL Server's is never run here), plan decisions. PostgreSQL's are run by
tests/integration/reconcile/test_repair_pg.py."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import repair
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import (
    PostgresDialect,
    SqlServerDialect,
    Unsupported,
)
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.normalize import Kind
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.typemap import ColumnInfo, ColumnPair

PG, MS = PostgresDialect(), SqlServerDialect()
C = ColumnInfo("c", "x")


@pytest.mark.parametrize("value, literal", [
    (True, "1"), (7, "7"), (-3, "-3"), (Decimal("12.50"), "12.50"), (1.5, "1.5"),
    ("O'Brien", "N'O''Brien'"), ("é", "N'é'"),
    (uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"), "'6f9619ff-8b86-d011-b42d-00c04fc964ff'"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 6), "'2024-01-02T03:04:05.000006'"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "'2024-01-02T03:04:05.000000+02:00'"),
    (dt.date(2024, 1, 2), "'2024-01-02'"), (dt.time(1, 2, 3), "'01:02:03'"), (b"\x00\xab", "0x00AB"),
])
def test_sqlserver_literals(value, literal):
    assert MS.literal(value, C) == literal


@pytest.mark.parametrize("value", ["a\x00b", float("nan"), Decimal("NaN"), object()])
def test_sqlserver_literal_refuses_what_it_cannot_write(value):
    with pytest.raises(Unsupported, match="key column c"):
        MS.literal(value, C)


def test_postgres_literals_come_from_psycopg():
    assert PG.literal("O'Brien", C) == "'O''Brien'" and PG.literal(5, C) == "5"
    with pytest.raises(Unsupported, match="NaN"):
        PG.literal(float("nan"), C)


def test_key_filters():
    a, b = ColumnInfo("a]", "int"), ColumnInfo("b", "nvarchar")
    assert MS.key_filter([a], [[1], [2]]) == "[a]]] IN (1, 2)"
    assert MS.key_filter([a, b], [[1, "x"], [2, "y'"]]) == "([a]]] = 1 AND [b] = N'x') OR ([a]]] = 2 AND [b] = N'y''')"
    assert PG.key_filter([ColumnInfo("a", "int4")], [[1]]) == '"a" IN (1)'


def test_repair_statements():
    assert MS.signal_insert("dbo.debezium_signal") == "INSERT INTO [dbo].[debezium_signal] (id, type, data) VALUES (?, ?, ?)"
    assert PG.signal_insert("debezium_signal") == 'INSERT INTO "public"."debezium_signal" (id, type, data) VALUES (%s, %s, %s)'
    assert MS.data_collection("shop", "dbo", "orders") == "shop.dbo.orders"
    assert PG.data_collection(None, "public", "orders") == "public.orders"
    with pytest.raises(ValueError, match="database name"):
        MS.data_collection(None, "dbo", "orders")
    assert MS.current_database() == ("SELECT DB_NAME()", []) and PG.current_database()[0] == "SELECT current_database()"
    assert PG.upsert("s", "t", ["id"], ["v", "w"]) == (
        'INSERT INTO "s"."t" ("id", "v", "w") VALUES (%s, %s, %s) ON CONFLICT ("id") '
        'DO UPDATE SET "v" = EXCLUDED."v", "w" = EXCLUDED."w"')
    assert PG.upsert("s", "t", ["a", "b"], []).endswith('ON CONFLICT ("a", "b") DO NOTHING')
    assert PG.delete("s", "t", ["a", "b"]) == 'DELETE FROM "s"."t" WHERE "a" = %s AND "b" = %s'
    with pytest.raises(Unsupported, match="PostgreSQL targets only"):
        MS.upsert("dbo", "t", ["id"], [])
    with pytest.raises(Unsupported, match="PostgreSQL targets only"):
        MS.delete("dbo", "t", ["id"])


def _rows(missing=(), extra=(), different=(), complete=True):
    key = ColumnPair("id", Kind("int"), ColumnInfo("id", "int"), ColumnInfo("id", "int4"))
    col = ColumnPair("v", Kind("text"), ColumnInfo("v", "nvarchar"), ColumnInfo("v", "text"))

    def row(k, v):  # key hash, row hash, 1 column hash, raw key, raw value
        return (b"kh", b"rh", b"ch", k, v)
    return repair.DifferingRows("dbo.t", ("dbo", "t"), ("public", "t"), ((key,), (col,)),
                                [(row(k, v), None) for k, v in missing], [(None, row(k, v)) for k, v in extra],
                                [(row(k, v), row(k, "old")) for k, v in different], complete)


def test_plan_signal_from_sqlserver_in_chunks(monkeypatch):
    monkeypatch.setattr(repair, "SIGNAL_KEYS", 2)
    actions, notes = repair.plan(_rows(missing=[(1, "a"), (2, "b")], different=[(3, "c")], extra=[(9, "z")]),
                                 MS, PG, ["signal"], "dbo.debezium_signal", "shop")
    assert [(a.kind, a.rows, a.on) for a in actions] == [("signal", 2, "source"), ("signal", 1, "source")]
    data = json.loads(actions[0].params[2])
    assert data == {"data-collections": ["shop.dbo.t"], "type": "incremental",
                    "additional-conditions": [{"data-collection": "shop.dbo.t", "filter": "[id] IN (1, 2)"}]}
    assert json.loads(actions[1].params[2])["additional-conditions"][0]["filter"] == "[id] IN (3)"
    assert notes == ["1 row(s) exist only in the target: a snapshot cannot remove them; repair them with the "
                     "direct method"]
    assert repair.summary(actions, notes, True) == {"dry_run": True, "signals": 2, "keys_signalled": 3,
                                                    "upserts": 0, "deletes": 0, "notes": notes}


def test_plan_direct_and_both():
    rows = _rows(missing=[(1, "a")], different=[(3, "c")], extra=[(9, "z")])
    actions, notes = repair.plan(rows, MS, PG, ["direct"])
    assert [(a.kind, a.rows, a.params) for a in actions] == [("upsert", 2, [[1, "a"], [3, "c"]]),
                                                             ("delete", 1, [[9]])]
    assert notes == [] and all(a.on == "target" and a.many for a in actions)
    both, _ = repair.plan(rows, MS, PG, ["signal", "direct"], "dbo.debezium_signal", "shop")
    assert [a.kind for a in both] == ["signal", "delete"]  # the snapshot refills; only the extra row is deleted
    assert "[target] delete 1 row(s) only in public.t" in repair.describe(both[1])


def test_plan_refuses_unsafe_or_unknown():
    with pytest.raises(ValueError, match="raise max_keys"):
        repair.plan(_rows(missing=[(1, "a")], complete=False), MS, PG, ["direct"])
    with pytest.raises(ValueError, match="methods must be among"):
        repair.plan(_rows(), MS, PG, ["magic"])
    with pytest.raises(ValueError, match="signal table"):
        repair.plan(_rows(missing=[(1, "a")]), MS, PG, ["signal"])


def test_describe_caps_parameter_lines():
    action = repair.Action("delete", 7, "delete 7 row(s) only in public.t", "DELETE ...", [[i] for i in range(7)],
                           many=True)
    text = repair.describe(action, limit=2)
    assert text.splitlines() == ["[target] delete 7 row(s) only in public.t", "  DELETE ...", "  params: [0]",
                                 "  params: [1]", "  ... 5 more parameter set(s)"]


def test_signals_fit_the_signal_tables_data_column():
    keys = [(i, "v") for i in range(10_000_000, 10_000_400)]  # 400 keys of 8 digits: ~4 KB of filter
    actions, _ = repair.plan(_rows(missing=keys), MS, PG, ["signal"], "dbo.debezium_signal", "shop")
    assert len(actions) > 1 and sum(a.rows for a in actions) == 400
    assert all(len(a.params[2]) <= repair.SIGNAL_DATA_MAX for a in actions)
    signalled = [k for a in actions for k in
                 json.loads(a.params[2])["additional-conditions"][0]["filter"][len("[id] IN ("):-1].split(", ")]
    assert signalled == [str(k) for k, _ in keys]  # every key once, in order
    data = json.loads(repair.plan(_rows(missing=[("é'x", "v")]), MS, PG, ["signal"], "t", "db")[0][0].params[2])
    assert data["additional-conditions"][0]["filter"] == "[id] IN (N'é''x')"
    with pytest.raises(ValueError, match="longer than 2048 characters"):
        repair.plan(_rows(missing=[("x" * 3000, "v")]), MS, PG, ["signal"], "t", "db")
