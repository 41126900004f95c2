"""Event shapes: the customers insert/update/delete(+tombstone) pinned byte for byte, envelope/source/key layout.

The fixtures in fixtures/customers_*.json adapt the examples of the Debezium SQL Server connector documentation
("Change event keys", "Change event values": create, update, delete events and tombstones,
https://debezium.io/documentation/reference/3.6/connectors/sqlserver.html#sqlserver-change-event-values) to the
sample ``customers`` table: same documented LSN blocks (00000027:00000758, …:00000ac0, …:00000db0) and timestamps,
topic prefix ``sluice``, database ``sluice_demo``. The documented examples predate Debezium 2.x in places
(``snapshot`` was a boolean; no ``ts_us``/``ts_ns``/``transaction``/``sequence``; schema names without the
database), so the fixtures follow 3.6.1: they are the output of the real 3.6.1.Final jars
(artifacts/debezium-connector-sqlserver-3.6.1.Final-plugin.tar.gz: SqlServerChangeRecordEmitter + Kafka 4.3.0
JsonConverter) for the same operations, which cdcgen reproduces exactly.
"""
import json

import pytest
from cdcgen_testlib import payload

from tests.support.cdcgen import PreciseDateTime
from tests.support.cdcgen.events import (SOURCE_SCHEMA, Lsn, Record, SourceInfo, dumps, java_double, java_float,
                                         json_string)


def compact(obj):
    """The fixture as JsonConverter writes it (fixtures hold only BMP characters, so Python's writer matches)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def as_fixture(record):
    return {"topic": record.topic, "key": json.loads(record.key),
            "value": None if record.value is None else json.loads(record.value)}


def documented_clock(*millis):
    readings = iter(m * 1_000_000 for m in millis)
    return lambda: next(readings)


@pytest.fixture
def john():
    return {"id": 1005, "email": "john.doe@example.org", "full_name": "John Doe",
            "created_at": PreciseDateTime(2019, 6, 5, 10, 11, 8, 470470, nanosecond=100), "is_active": True}


def test_customers_insert_matches_fixture(gen, load_fixture, john):
    gen.clock = documented_clock(1559729468470, 1559729471739)
    gen.lsn = Lsn.parse("00000027:00000758:0002")
    (record,) = gen.insert("customers", john)
    fixture = load_fixture("customers_create.json")
    assert record.topic == fixture["topic"] == "sluice.sluice_demo.dbo.customers"
    assert record.key == compact(fixture["key"])
    assert record.value == compact(fixture["value"])
    assert as_fixture(record) == fixture


def test_customers_update_matches_fixture(gen, load_fixture, john):
    gen.clock = documented_clock(0, 0, 1559729995937, 1559729998706)
    gen.insert("customers", john)
    gen.lsn = Lsn.parse("00000027:00000ac0:0001")
    (record,) = gen.update("customers", {"id": 1005, "email": "noreply@example.org"})
    fixture = load_fixture("customers_update.json")
    assert record.key == compact(fixture["key"])
    assert record.value == compact(fixture["value"])
    p = fixture["value"]["payload"]
    assert (p["op"], p["before"]["email"], p["after"]["email"]) == ("u", "john.doe@example.org", "noreply@example.org")
    assert p["source"]["event_serial_no"] == 2


def test_customers_delete_and_tombstone_match_fixture(gen, load_fixture, john):
    gen.clock = documented_clock(0, 0, 0, 0, 1559730445243, 1559730450205)
    gen.insert("customers", john)
    gen.update("customers", {"id": 1005, "email": "noreply@example.org"})
    gen.lsn = Lsn.parse("00000027:00000db0:0004")
    delete, tombstone = gen.delete("customers", 1005)
    fixture = load_fixture("customers_delete.json")
    assert [as_fixture(delete), as_fixture(tombstone)] == fixture
    assert delete.value == compact(fixture[0]["value"])
    assert tombstone == Record("sluice.sluice_demo.dbo.customers", compact(fixture[1]["key"]), None)
    assert delete.key == tombstone.key
    p = payload(delete)
    assert p["op"] == "d" and p["after"] is None and p["before"]["email"] == "noreply@example.org"
    assert (p["source"]["change_lsn"], p["source"]["commit_lsn"]) == ("00000027:00000db0:0005",
                                                                      "00000027:00000db0:0006")


def test_envelope_layout(gen):
    (record,) = gen.insert("customers", {"id": 1, "email": "a@example.org"})
    schema = json.loads(record.value)["schema"]
    assert [f["field"] for f in schema["fields"]] == ["before", "after", "source", "transaction", "op", "ts_ms",
                                                       "ts_us", "ts_ns"]
    assert (schema["name"], schema["version"], schema["optional"]) == ("sluice.sluice_demo.dbo.customers.Envelope",
                                                                       2, False)
    before, after, source, transaction = schema["fields"][:4]
    assert before["name"] == after["name"] == "sluice.sluice_demo.dbo.customers.Value"
    assert before["optional"] is after["optional"] is True
    assert transaction == {"type": "struct", "fields": [
        {"type": "string", "optional": False, "field": "id"},
        {"type": "int64", "optional": False, "field": "total_order"},
        {"type": "int64", "optional": False, "field": "data_collection_order"}],
        "optional": True, "name": "event.block", "version": 1, "field": "transaction"}
    p = json.loads(record.value)["payload"]
    assert list(p) == ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"]
    assert p["transaction"] is None and p["before"] is None and p["op"] == "c"
    assert p["ts_us"] == p["ts_ms"] * 1000 + p["ts_us"] % 1000 and p["ts_ns"] == p["ts_us"] * 1000


def test_source_block_layout(gen):
    (record,) = gen.insert("customers", {"id": 1, "email": "a@example.org"})
    fields = json.loads(record.value)["schema"]["fields"][2]
    assert fields["name"] == "io.debezium.connector.sqlserver.Source" and fields["version"] == 1
    assert [f["field"] for f in fields["fields"]] == [
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema", "table",
        "change_lsn", "commit_lsn", "event_serial_no"]
    snapshot = fields["fields"][4]
    assert snapshot == {"type": "string", "optional": True, "name": "io.debezium.data.Enum", "version": 1,
                        "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,"
                                                  "last,false,incremental"},
                        "default": "false", "field": "snapshot"}
    source = payload(record)["source"]
    assert source["connector"] == "sqlserver" and source["name"] == "sluice" and source["version"] == "3.6.1.Final"
    assert (source["db"], source["schema"], source["table"]) == ("sluice_demo", "dbo", "customers")
    assert source["snapshot"] == "false" and source["sequence"] is None
    assert source["ts_us"] == source["ts_ms"] * 1000 and source["ts_ns"] == source["ts_ms"] * 1_000_000


def test_source_json_equals_generic_writer():
    for info in (SourceInfo("p", "db", "s", "t", 1, "last", None, "00000001:00000002:0003", None),
                 SourceInfo("p", "d\"b", "sch", "tä", -5, "false", "00000001:00000002:0003",
                            "00000001:00000002:0004", 2, "x")):
        assert info.json() == dumps(info.payload())
    assert json.loads(dumps(SOURCE_SCHEMA))["name"] == "io.debezium.connector.sqlserver.Source"
    with pytest.raises(ValueError):
        SourceInfo("p", "db", "s", "t", 1, "yes")


def test_composite_key(gen):
    (record,) = gen.insert("inventory_levels", {"warehouse_id": 3, "sku": "SKU-9", "on_hand": 4})
    key = json.loads(record.key)
    assert key == {"schema": {"type": "struct", "fields": [
        {"type": "int32", "optional": False, "field": "warehouse_id"},
        {"type": "string", "optional": False, "field": "sku"}],
        "optional": False, "name": "sluice.sluice_demo.dbo.inventory_levels.Key"},
        "payload": {"warehouse_id": 3, "sku": "SKU-9"}}
    assert record.key == b'{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,' \
                         b'"field":"warehouse_id"},{"type":"string","optional":false,"field":"sku"}],' \
                         b'"optional":false,"name":"sluice.sluice_demo.dbo.inventory_levels.Key"},' \
                         b'"payload":{"warehouse_id":3,"sku":"SKU-9"}}'
    delete, tombstone = gen.delete("inventory_levels", (3, "SKU-9"))
    assert delete.key == tombstone.key == record.key and tombstone.value is None
    assert gen.state["inventory_levels"] == {}


def test_key_schema_uses_non_optional_key_columns(gen):
    (record,) = gen.insert("line_items", {"id": 10_000_000_001})
    key = json.loads(record.key)
    assert key["schema"]["fields"] == [{"type": "int64", "optional": False, "field": "id"}]
    assert key["payload"] == {"id": 10_000_000_001}


def test_topic_names_follow_prefix_database_schema():
    from tests.support.cdcgen import Generator

    g = Generator("acme", "shop", "sales")
    (record,) = g.insert("orders", {"id": 1})
    assert record.topic == "acme.shop.sales.orders"
    value = json.loads(record.value)
    assert value["schema"]["name"] == "acme.shop.sales.orders.Envelope"
    assert value["payload"]["source"]["name"] == "acme"
    assert (value["payload"]["source"]["db"], value["payload"]["source"]["schema"]) == ("shop", "sales")
    assert json.loads(record.key)["schema"]["name"] == "acme.shop.sales.orders.Key"


def test_lsn_format():
    lsn = Lsn.parse("00000027:00000AC0:0002")
    assert str(lsn) == "00000027:00000ac0:0002"  # Debezium's Lsn.toString writes lower-case hex
    assert lsn.next() == Lsn(0x27, 0xAC0, 3)
    assert Lsn(0x27, 0xAC0, 0xFFFF).next() == Lsn(0x27, 0xAC1, 1)
    assert Lsn.parse("00000027:00000758:0003") < Lsn.parse("00000027:00000758:0005")
    for bad in ("27:758:3", "00000027-00000758-0003", "0000002700000758"):
        with pytest.raises(ValueError):
            Lsn.parse(bad)


@pytest.mark.parametrize("text, expected", [
    ("plain", '"plain"'),
    ('quote " backslash \\ slash /', '"quote \\" backslash \\\\ slash /"'),
    ("\b\t\n\f\r", '"\\b\\t\\n\\f\\r"'),
    ("\x00\x01\x1f", '"\\u0000\\u0001\\u001F"'),          # Jackson: upper-case hex
    ("\x7f\u2028é日", '"\x7f\u2028é日"'),                   # raw, not escaped
    ("e\u0301", '"e\u0301"'),                              # combining mark stays a separate raw code point
    ("😀", '"\\uD83D\\uDE00"'),                            # outside the BMP: escaped surrogate pair
])
def test_json_strings_like_jackson(text, expected):
    assert json_string(text) == expected
    assert json.loads(expected) == text


@pytest.mark.parametrize("value, expected", [
    (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (100.0, "100.0"), (0.001, "0.001"), (1e-4, "1.0E-4"),
    (1e7, "1.0E7"), (9999999.0, "9999999.0"), (12345678.9, "1.23456789E7"), (123456.789, "123456.789"),
    (0.1 + 0.2, "0.30000000000000004"), (-2.5e-5, "-2.5E-5"), (1.7976931348623157e308, "1.7976931348623157E308"),
])
def test_java_double(value, expected):
    assert java_double(value) == expected
    assert float(expected) == value


@pytest.mark.parametrize("value, expected", [
    (3.14, "3.14"), (0.1, "0.1"), (1e10, "1.0E10"), (16777216.0, "1.6777216E7"), (-2.5e-5, "-2.5E-5"),
    (0.001, "0.001"), (3.4028234663852886e38, "3.4028235E38"), (1234567.0, "1234567.0"),
])
def test_java_float(value, expected):
    assert java_float(value) == expected


def test_json_writer_refuses_untyped_floats():
    with pytest.raises(TypeError):
        dumps({"x": 1.5})


def test_events_are_valid_json_with_the_same_content(gen):
    row = {"id": 1, "c_nvarchar": "😀 e\u0301 \"q\" \\ \n", "c_float": 1e7, "c_real": 3.14}
    (record,) = gen.insert("all_types", row)
    after = payload(record)["after"]
    assert after["c_nvarchar"] == row["c_nvarchar"]
    assert after["c_float"] == 1e7 and after["c_real"] == pytest.approx(3.14, rel=1e-7)
    assert b'"c_float":1.0E7,"c_real":3.14,' in record.value
