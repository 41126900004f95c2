"""Changes written as the Debezium SQL Server connector writes them arrive in PostgreSQL, value for value.

The generator (tests/support/cdcgen) stands in for SQL Server + the source connector, which cannot run here; it
keeps the intended source state that PostgreSQL is compared with.
"""
import datetime as dt
import decimal
import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import connect_api, connect_login, docker_exec, kafka_client, run_module
from helpers import (CONNECT, KAFKA, SINK, all_running, connect_status, failed_task, pg, rows,  # noqa: F401 (fixtures)
                     supervisor_stopped, table_rows, wait_for, wait_until_replicated)
from tests.support.cdcgen import Generator, KafkaSink, PreciseDateTime, PreciseTime, workload

SAMPLE_TABLES = ("customers", "orders", "line_items", "inventory_levels", "all_types")


@pytest.fixture(scope="module")
def gen(pg):  # noqa: F811
    # Start from empty tables, so PostgreSQL can be compared with this run's intended state as a whole.
    for name in SAMPLE_TABLES:
        rows(pg, f"TRUNCATE cdc.{name}")
    return Generator()


@pytest.fixture(scope="module")
def sink():
    return KafkaSink(KAFKA, config=kafka_client(KAFKA))


def send(sink, records):
    sink.send_all(records)
    sink.flush(60)  # raises unless every record was delivered


def customer(i, **extra):
    return {"id": i, "email": f"user{i}@example.com", "full_name": f"User {i}",
            "created_at": dt.datetime(2024, 5, 1, 12, 0, 0, 123456), "is_active": True, **extra}


def test_insert_update_delete_with_tombstone(pg, gen, sink):  # noqa: F811
    send(sink, gen.insert("customers", customer(1)))
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT email, is_active FROM cdc.customers WHERE id = 1") == [("user1@example.com", True)]

    send(sink, gen.update("customers", {"id": 1, "email": "new1@example.com", "is_active": False}))
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT email, is_active FROM cdc.customers WHERE id = 1") == [("new1@example.com", False)]

    records = gen.delete("customers", 1)
    assert records[-1].value is None, "a delete is followed by a tombstone"
    send(sink, records)
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT count(*) FROM cdc.customers WHERE id = 1") == [(0,)]


def test_null_and_empty_string_stay_distinct(pg, gen, sink):  # noqa: F811
    send(sink, gen.transaction([("insert", "customers", customer(10, full_name=None)),
                                ("insert", "customers", customer(11, full_name=""))]))
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT id, full_name IS NULL, full_name FROM cdc.customers WHERE id IN (10, 11) ORDER BY id") \
        == [(10, True, None), (11, False, "")]


def test_transaction_of_50_rows_across_three_tables(pg, gen, sink):  # noqa: F811
    ops = [("insert", "customers", customer(100 + i)) for i in range(20)]
    ops += [("insert", "orders", {"id": 100 + i, "customer_id": 100 + i, "status": "NEW",
                                  "total": decimal.Decimal("12.34") * (i + 1),
                                  "ordered_at": dt.datetime(2024, 5, 2, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))})
            for i in range(20)]
    ops += [("insert", "line_items", {"id": 10_000_000_000 + i, "order_id": 100 + i, "sku": f"SKU-{i}",
                                      "quantity": i + 1, "unit_price": decimal.Decimal("9.9900")})
            for i in range(10)]
    records = gen.transaction(ops)
    assert len({json.loads(r.value)["payload"]["source"]["commit_lsn"] for r in records}) == 1, \
        "one transaction, one commit LSN"
    send(sink, records)
    wait_until_replicated(pg, gen, ["customers", "orders", "line_items"])
    assert rows(pg, "SELECT count(*) FROM cdc.line_items WHERE id >= 10000000000") == [(10,)]


def test_composite_key_upsert_touches_only_its_row(pg, gen, sink):  # noqa: F811
    base = dt.datetime(2024, 6, 1, 10, 0, 0, 123000)
    for wh, sku in ((1, "A"), (1, "B"), (2, "A")):
        send(sink, gen.insert("inventory_levels", {"warehouse_id": wh, "sku": sku, "on_hand": 5, "updated_at": base}))
    wait_until_replicated(pg, gen, ["inventory_levels"])
    send(sink, gen.update("inventory_levels", {"warehouse_id": 1, "sku": "A", "on_hand": 42}))
    wait_until_replicated(pg, gen, ["inventory_levels"])
    assert rows(pg, "SELECT warehouse_id, sku, on_hand FROM cdc.inventory_levels ORDER BY 1, 2") == [
        (1, "A", 42), (1, "B", 5), (2, "A", 5)]


ALL_TYPES_ROWS = [
    {"id": 1, "c_bit": True, "c_tinyint": 255, "c_smallint": -32768, "c_int": 2147483647,
     "c_bigint": -9223372036854775808, "c_decimal": decimal.Decimal("-12345678901234.5678"),
     "c_numeric": decimal.Decimal("9999999999"), "c_money": decimal.Decimal("-922337203685477.5808"),
     "c_smallmoney": decimal.Decimal("214748.3647"), "c_float": 1.7976931348623157e308, "c_real": 3.14,
     "c_date": dt.date(1969, 12, 31), "c_time": PreciseTime(23, 59, 59, 999998, nanosecond=700),
     "c_datetime": dt.datetime(2024, 1, 1, 0, 0, 0, 3000),
     "c_datetime2": PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, nanosecond=700),
     "c_datetimeoffset": PreciseDateTime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
                                         nanosecond=400),
     "c_char": "abc", "c_varchar": "plain ASCII", "c_nchar": "😀", "c_nvarchar": "Zoë 😀 e\u0301 ∑ 中文",
     "c_varbinary": bytes([0, 1, 2, 3, 255]), "c_uniqueidentifier": uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
     "c_xml": '<order id="1"><item sku="A" /></order>'},
    {"id": 2, "c_bit": False, "c_tinyint": 0, "c_smallint": 0, "c_int": 0, "c_bigint": 0,
     "c_decimal": decimal.Decimal("0.0001"), "c_numeric": decimal.Decimal("0"), "c_money": decimal.Decimal("0.0001"),
     "c_smallmoney": decimal.Decimal("-214748.3648"), "c_float": -0.5, "c_real": 1e-7,
     "c_date": dt.date(9999, 12, 31), "c_time": dt.time(0, 0, 0), "c_datetime": dt.datetime(1753, 1, 1),
     "c_datetime2": dt.datetime(1970, 1, 1), "c_datetimeoffset": dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc),
     "c_char": "", "c_varchar": "", "c_nchar": "", "c_nvarchar": "", "c_varbinary": b"",
     "c_uniqueidentifier": uuid.UUID(int=0), "c_xml": "<a />"},
    {"id": 3},  # every nullable column NULL
]


def test_all_types_arrive_value_exact(pg, gen, sink):  # noqa: F811
    send(sink, gen.transaction([("insert", "all_types", row) for row in ALL_TYPES_ROWS]))
    wait_until_replicated(pg, gen, ["all_types"])
    table = gen.tables["all_types"]
    got = table_rows(pg, table)
    # Spelled out for the documented losses: datetime2(7)/time(7) keep 6 fractional digits, rounded half-up.
    assert got[(1,)]["c_datetime2"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123457)
    assert got[(1,)]["c_time"] == dt.time(23, 59, 59, 999999)
    assert got[(1,)]["c_uniqueidentifier"] == "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert got[(1,)]["c_nvarchar"] == "Zoë 😀 e\u0301 ∑ 中文" and got[(1,)]["c_char"] == "abc       "
    assert got[(3,)] == {c.name: None for c in table.columns} | {"id": 3}
    types = dict(rows(pg, "SELECT column_name, format_type(atttypid, atttypmod) FROM pg_attribute a "
                          "JOIN information_schema.columns c ON c.column_name = a.attname "
                          "WHERE a.attrelid = 'cdc.all_types'::regclass AND c.table_schema = 'cdc' "
                          "AND c.table_name = 'all_types'"))
    assert types["c_money"] == "numeric(19,4)" and types["c_datetimeoffset"] == "timestamp(6) with time zone"
    assert types["c_time"] == "time(6) without time zone" and types["c_varbinary"] == "bytea"
    assert types["c_uniqueidentifier"] == "text" and types["c_real"] == "real"


def test_bulk_10000_events(pg, gen, sink):  # noqa: F811
    started = time.monotonic()
    workload(10_000, seed=7, generator=gen, sink=sink, progress=None)
    wait_until_replicated(pg, gen, SAMPLE_TABLES, timeout=300)
    elapsed = time.monotonic() - started
    counts = {name: rows(pg, f"SELECT count(*) FROM cdc.{name}")[0][0] for name in SAMPLE_TABLES}
    assert counts == gen.row_counts()
    print(f"bulk: 10000 change events replicated in {elapsed:.1f} s ({10_000 / elapsed:.0f} events/s); "
          f"rows now {counts}")


def sink_args(state):
    config = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()
    return {"name": SINK, "state": state, "url": CONNECT, **connect_login(), "config": {k: v for k, v in config.items() if k != "name"}}


def test_pause_then_resume_delivers_the_waiting_events(pg, gen, sink):  # noqa: F811
    paused = run_module("sluice.cdc.connect_connector", sink_args("paused"))
    assert paused["changed"] is True, paused
    assert connect_status(SINK)["connector"]["state"] == "PAUSED"
    try:
        send(sink, gen.transaction([("insert", "customers", customer(5000 + i)) for i in range(100)]))
        time.sleep(5)
        assert rows(pg, "SELECT count(*) FROM cdc.customers WHERE id >= 5000 AND id < 5100") == [(0,)]
    finally:
        resumed = run_module("sluice.cdc.connect_connector", sink_args("running"))
    assert resumed["changed"] is True
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT count(*) FROM cdc.customers WHERE id >= 5000 AND id < 5100") == [(100,)]


def psql_admin(sql):
    out = docker_exec("sluice-pg", "su", "postgres", "-c", f"psql -v ON_ERROR_STOP=1 -d sluice -c \"{sql}\"")
    assert out.returncode == 0, out.stderr


def test_failed_task_is_restarted_and_catches_up(pg, gen, sink, supervisor_stopped):  # noqa: F811
    psql_admin("ALTER TABLE cdc.customers ADD CONSTRAINT e2e_reject CHECK (email <> 'reject@example.com')")
    try:
        send(sink, gen.insert("customers", customer(9000, email="reject@example.com")))
        failed = wait_for(lambda: failed_task(connect_status(SINK)), timeout=120,
                          what="the sink task to fail on the rejected row")
        assert "e2e_reject" in failed.get("trace", "")
    finally:
        psql_admin("ALTER TABLE cdc.customers DROP CONSTRAINT e2e_reject")
    restarted = run_module("sluice.cdc.connect_connector", {"name": SINK, "state": "restarted", "url": CONNECT, **connect_login()})
    assert restarted["changed"] is True, restarted
    assert all_running(connect_status(SINK))
    wait_until_replicated(pg, gen, ["customers"])
    assert rows(pg, "SELECT email FROM cdc.customers WHERE id = 9000") == [("reject@example.com",)]


def test_tombstones_are_in_the_topic():
    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-tombstones", "enable.auto.commit": False})
    topic = "sluice.sluice_demo.dbo.customers"
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    tombstones = 0
    try:
        while (batch := consumer.consume(num_messages=1000, timeout=2)):
            tombstones += sum(1 for m in batch if m.error() is None and m.value() is None)
    finally:
        consumer.close()
    assert tombstones >= 1
