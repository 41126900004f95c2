# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Repair, PostgreSQL vs PostgreSQL (see conftest.py): direct upserts/deletes make the target consistent; the
snapshot signal's filter, run on the source, selects exactly the missing and different keys; a dry run changes
nothing. Debezium itself is not in the loop here (the pipeline's source is SQL Server)."""

from __future__ import annotations

import json

import psycopg
import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import engine, repair
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import PostgresDialect

SIGNAL_DDL = "CREATE TABLE IF NOT EXISTS debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)"


@pytest.fixture
def endpoints(dsns):
    return [engine.Endpoint(PostgresDialect(), lambda name=name: psycopg.connect(dsns[name])) for name in ("src", "dst")]


@pytest.fixture
def drift(db):
    """A table with 2 missing, 2 extra and 2 different rows in dst (composite key, text part with a quote)."""
    name = "repair_t"
    for d in ("src", "dst"):
        db(d, f"DROP TABLE IF EXISTS {name}")
        db(d, f"CREATE TABLE {name} (a int, b text, v numeric(8,2), ts timestamp, PRIMARY KEY (a, b))")
        db(d, f"INSERT INTO {name} SELECT g % 7, 'k''' || g, g / 4.0, TIMESTAMP '2024-01-01' + g * INTERVAL '1 s' "
              f"FROM generate_series(1, 300) g")
    db("dst", f"DELETE FROM {name} WHERE (a, b) IN ((1, 'k''1'), (3, 'k''10'))")
    db("dst", f"INSERT INTO {name} VALUES (0, 'only-in-target', 1, NULL), (6, 'x', NULL, NULL)")
    db("dst", f"UPDATE {name} SET v = -1 WHERE (a, b) = (2, 'k''2')")
    db("dst", f"UPDATE {name} SET ts = NULL WHERE (a, b) = (5, 'k''5')")
    db("src", SIGNAL_DDL)
    db("src", "DELETE FROM debezium_signal")
    yield name
    for d in ("src", "dst"):
        db(d, f"DROP TABLE IF EXISTS {name}")


def reconcile(endpoints, table, differing=None):
    return engine.reconcile(*endpoints, [table], mode="full", buckets=4, differing_rows=differing)


def test_direct_repair_makes_the_target_consistent(db, endpoints, drift):
    differing = []
    report = reconcile(endpoints, drift, differing)
    assert report["status"] == "different"
    repair.repair_report(report, differing, *endpoints, ["direct"])
    (t,) = report["tables"]
    assert t["repair"] == {"dry_run": False, "signals": 0, "keys_signalled": 0, "upserts": 4, "deletes": 2,
                           "notes": []}
    assert reconcile(endpoints, drift)["status"] == "consistent"
    assert db("dst", f"SELECT v, ts FROM {drift} WHERE (a, b) = (5, 'k''5')").fetchone()[1] is not None


def test_signal_filter_selects_exactly_the_missing_and_different_keys(db, endpoints, drift):
    differing = []
    report = reconcile(endpoints, drift, differing)
    lines = []
    repair.repair_report(report, differing, *endpoints, ["signal"], "public.debezium_signal", echo=lines.append)
    (t,) = report["tables"]
    assert t["errors"] == []
    assert t["repair"]["signals"] == 1 and t["repair"]["keys_signalled"] == 4 and t["repair"]["deletes"] == 0
    assert "2 row(s) exist only in the target" in t["repair"]["notes"][0]
    (sid, stype, data), = db("src", "SELECT id, type, data FROM debezium_signal").fetchall()
    assert sid.startswith("sluice-repair-") and len(sid) <= 42 and stype == "execute-snapshot"
    data = json.loads(data)
    assert data["data-collections"] == ["public.repair_t"] and data["type"] == "incremental"
    (cond,) = data["additional-conditions"]
    assert cond["data-collection"] == "public.repair_t"
    selected = db("src", f"SELECT a, b FROM {drift} WHERE {cond['filter']} ORDER BY a, b").fetchall()
    assert selected == [(1, "k'1"), (2, "k'2"), (3, "k'10"), (5, "k'5")]
    assert any("snapshot signal for 4 key(s) of public.repair_t" in line for line in lines)
    assert db("dst", f"SELECT count(*) FROM {drift}").fetchone()[0] == 300  # the target is not touched


def test_dry_run_prints_the_plan_and_changes_nothing(db, endpoints, drift):
    differing = []
    report = reconcile(endpoints, drift, differing)
    lines = []
    repair.repair_report(report, differing, *endpoints, ["signal", "direct"], "debezium_signal", dry_run=True,
                         echo=lines.append)
    (t,) = report["tables"]
    assert t["repair"]["dry_run"] and (t["repair"]["keys_signalled"], t["repair"]["deletes"]) == (4, 2)
    text = "\n".join(lines)
    assert 'INSERT INTO "public"."debezium_signal" (id, type, data)' in text
    assert 'DELETE FROM "public"."repair_t" WHERE "a" = %s AND "b" = %s' in text
    assert db("src", "SELECT count(*) FROM debezium_signal").fetchone()[0] == 0
    assert reconcile(endpoints, drift)["tables"][0]["extra_in_target_count"] == 2


def test_truncated_key_lists_refuse_to_repair(db, endpoints, drift):
    differing = []
    report = engine.reconcile(*endpoints, [drift], mode="full", buckets=4, max_keys=1, differing_rows=differing)
    repair.repair_report(report, differing, *endpoints, ["direct"])
    (t,) = report["tables"]
    assert "repair" not in t and t["status"] == "error"
    assert any("raise max_keys" in e for e in t["errors"])
    assert db("dst", f"SELECT count(*) FROM {drift}").fetchone()[0] == 300
