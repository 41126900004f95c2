"""Intended state tracking, transactions (LSN sharing), snapshots, and determinism of the seeded workload."""
import datetime as dt
import json
from decimal import Decimal

import pytest
from cdcgen_testlib import payload

from tests.support.cdcgen import Generator, Lsn, RandomWorkload, SteppingClock, workload
from tests.support.cdcgen.events import UNAVAILABLE_PLACEHOLDER, dumps, encode_row
from tests.support.cdcgen.schema import TABLES


def source(record):
    return payload(record)["source"]


# --- state -----------------------------------------------------------------------------------------------------
def test_insert_update_delete_reflect_in_state(gen):
    gen.insert("customers", {"id": 1, "email": "a@example.org", "full_name": "Ann"})
    assert gen.state["customers"] == {(1,): {"id": 1, "email": "a@example.org", "full_name": "Ann",
                                             "created_at": None, "is_active": None}}
    (update,) = gen.update("customers", {"id": 1, "is_active": True})
    assert gen.state["customers"][(1,)]["is_active"] is True
    assert gen.state["customers"][(1,)]["full_name"] == "Ann"      # columns not given keep their value
    p = payload(update)
    assert p["before"]["is_active"] is None and p["after"]["is_active"] is True
    gen.delete("customers", 1)
    assert gen.state["customers"] == {}
    assert gen.row_counts() == {"customers": 0, "orders": 0, "line_items": 0, "inventory_levels": 0,
                                "all_types": 0}


def test_state_holds_values_as_sql_server_stores_them(gen):
    gen.insert("orders", {"id": 1, "total": Decimal("9.999"), "status": "new",
                          "ordered_at": dt.datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=dt.timezone.utc)})
    gen.insert("all_types", {"id": 1, "c_char": "ab", "c_real": 0.1,
                             "c_datetime": dt.datetime(2024, 1, 1, 0, 0, 0, 2000)})
    order = gen.state["orders"][(1,)]
    assert order["total"] == Decimal("10.00") and str(order["total"]) == "10.00"
    row = gen.state["all_types"][(1,)]
    assert row["c_char"] == "ab        "
    assert row["c_real"] == 0.10000000149011612
    assert row["c_datetime"] == dt.datetime(2024, 1, 1, 0, 0, 0, 3000)


def test_keys_may_be_tuples_scalars_or_mappings(gen):
    gen.insert("inventory_levels", {"warehouse_id": 1, "sku": "A", "on_hand": 1})
    gen.insert("inventory_levels", {"warehouse_id": 1, "sku": "B", "on_hand": 2})
    gen.delete("inventory_levels", {"warehouse_id": 1, "sku": "A"})
    gen.delete("inventory_levels", (1, "B"))
    gen.insert("customers", {"id": 5, "email": "x@example.org"})
    gen.delete("customers", (5,))
    assert gen.state["inventory_levels"] == {} and gen.state["customers"] == {}


@pytest.mark.parametrize("op, exc", [
    (lambda g: g.insert("customers", {"id": 1, "email": "dup@example.org"}), KeyError),
    (lambda g: g.update("customers", {"id": 2, "email": "x@example.org"}), KeyError),
    (lambda g: g.delete("customers", 2), KeyError),
    (lambda g: g.insert("customers", {"id": 2}), ValueError),                         # email is NOT NULL
    (lambda g: g.insert("customers", {"id": 2, "email": "e", "nope": 1}), KeyError),
    (lambda g: g.insert("nope", {"id": 2}), KeyError),
    (lambda g: g.insert("customers", {"id": 2, "email": "e", "is_active": "yes"}), TypeError),
    (lambda g: g.transaction([("upsert", "customers", {"id": 2})]), ValueError),
])
def test_invalid_operations_raise_and_change_nothing(gen, op, exc):
    gen.insert("customers", {"id": 1, "email": "a@example.org"})
    before_state, before_lsn = repr(gen.state), gen.lsn
    with pytest.raises(exc):
        op(gen)
    assert repr(gen.state) == before_state and gen.lsn == before_lsn


def test_transaction_is_all_or_nothing(gen):
    gen.insert("customers", {"id": 1, "email": "a@example.org"})
    lsn = gen.lsn
    with pytest.raises(KeyError):
        gen.transaction([("update", "customers", {"id": 1, "full_name": "changed"}),
                         ("insert", "orders", {"id": 1}),
                         ("delete", "customers", 99)])
    assert gen.state["customers"][(1,)]["full_name"] is None and gen.state["orders"] == {} and gen.lsn == lsn


def test_update_cannot_change_the_key(gen):
    gen.insert("customers", {"id": 1, "email": "a@example.org"})
    with pytest.raises(KeyError):
        gen.update("customers", {"id": 2, "email": "b@example.org"})


# --- transactions and LSNs --------------------------------------------------------------------------------------
def test_transaction_events_share_commit_lsn_and_have_their_own_change_lsn(gen):
    gen.insert("customers", {"id": 1, "email": "a@example.org"})
    records = gen.transaction([
        ("insert", "orders", {"id": 10, "customer_id": 1, "total": Decimal("5")}),
        ("insert", "line_items", {"id": 1, "order_id": 10, "quantity": 1}),
        ("update", "customers", {"id": 1, "full_name": "Ann"}),
        ("delete", "line_items", 1),
    ])
    assert [r.topic.rsplit(".", 1)[1] for r in records] == ["orders", "line_items", "customers", "line_items",
                                                            "line_items"]
    tombstone = records[-1]
    assert tombstone.value is None and tombstone.key == records[-2].key
    sources = [source(r) for r in records[:-1]]
    assert len({s["commit_lsn"] for s in sources}) == 1
    assert len({s["ts_ms"] for s in sources}) == 1                        # commit time
    changes = [Lsn.parse(s["change_lsn"]) for s in sources]
    assert changes == sorted(changes) and len(set(changes)) == 4
    assert max(changes) < Lsn.parse(sources[0]["commit_lsn"])
    assert [s["event_serial_no"] for s in sources] == [1, 1, 2, 1]        # 2 for the update
    assert [payload(r)["op"] for r in records[:-1]] == ["c", "c", "u", "d"]
    assert sources[0]["commit_lsn"] == str(gen.lsn)
    assert gen.state["line_items"] == {} and gen.state["orders"][(10,)]["total"] == Decimal("5.00")


def test_transactions_get_increasing_lsns(gen):
    a = source(gen.insert("customers", {"id": 1, "email": "a@example.org"})[0])
    b = source(gen.insert("customers", {"id": 2, "email": "b@example.org"})[0])
    assert Lsn.parse(a["commit_lsn"]) < Lsn.parse(b["change_lsn"]) < Lsn.parse(b["commit_lsn"])
    assert str(Lsn.parse(a["change_lsn"])) == "00000027:00000758:0002"   # first LSN after START_LSN


def test_lsns_follow_the_documented_format(gen):
    gen.lsn = Lsn.parse("00000027:00000758:fffe")
    records = gen.transaction([("insert", "customers", {"id": i, "email": f"{i}@example.org"}) for i in range(3)])
    assert [source(r)["change_lsn"] for r in records] == ["00000027:00000758:ffff", "00000027:00000759:0001",
                                                          "00000027:00000759:0002"]
    assert source(records[0])["commit_lsn"] == "00000027:00000759:0003"


def test_unchanged_xml_in_updates_becomes_the_unavailable_placeholder():
    gen = Generator(clock=SteppingClock(), reselect=False)
    gen.insert("all_types", {"id": 1, "c_xml": "<a />"})
    gen.insert("all_types", {"id": 2})
    kept = payload(gen.update("all_types", {"id": 1, "c_int": 1})[0])
    assert (kept["before"]["c_xml"], kept["after"]["c_xml"]) == (UNAVAILABLE_PLACEHOLDER, "<a />")
    null_kept = payload(gen.update("all_types", {"id": 2, "c_int": 1})[0])
    assert (null_kept["before"]["c_xml"], null_kept["after"]["c_xml"]) == (UNAVAILABLE_PLACEHOLDER,
                                                                           UNAVAILABLE_PLACEHOLDER)
    changed = payload(gen.update("all_types", {"id": 1, "c_xml": None})[0])
    assert (changed["before"]["c_xml"], changed["after"]["c_xml"]) == ("<a />", None)
    deleted = payload(gen.delete("all_types", 2)[0])
    assert deleted["before"]["c_xml"] is None
    assert gen.state["all_types"][(1,)]["c_xml"] is None and gen.state["all_types"][(1,)]["c_int"] == 1
    assert UNAVAILABLE_PLACEHOLDER == "__debezium_unavailable_value"
    gen.insert("all_types", {"id": 3})
    gen.update("all_types", {"id": 3, "c_int": 5})
    assert gen.sink_state()["all_types"][(3,)]["c_xml"] == UNAVAILABLE_PLACEHOLDER
    assert gen.state["all_types"][(3,)]["c_xml"] is None
    gen.update("all_types", {"id": 3, "c_xml": "<x />"})
    assert gen.sink_state()["all_types"][(3,)]["c_xml"] == "<x />"
    gen.update("all_types", {"id": 3, "c_xml": None})
    gen.update("all_types", {"id": 3, "c_int": 6})
    gen.snapshot("all_types")                         # read events carry the real values again
    assert gen.sink_state()["all_types"][(3,)]["c_xml"] is None


def test_tombstones_can_be_switched_off():
    g = Generator(clock=SteppingClock(), tombstones=False)
    g.insert("customers", {"id": 1, "email": "a@example.org"})
    assert len(g.delete("customers", 1)) == 1


# --- snapshots --------------------------------------------------------------------------------------------------
def test_snapshot_reads_current_rows_with_debezium_markers(gen):
    for i in (3, 1, 2):
        gen.insert("customers", {"id": i, "email": f"{i}@example.org"})
    gen.insert("orders", {"id": 7})
    lsn = gen.lsn
    records = gen.snapshot(["customers", "orders"])
    assert [payload(r)["op"] for r in records] == ["r"] * 4
    assert [payload(r)["after"]["id"] for r in records] == [1, 2, 3, 7]          # key order
    assert [source(r)["snapshot"] for r in records] == ["first", "true", "last_in_data_collection", "last"]
    for r in records:
        s = source(r)
        assert s["change_lsn"] is None and s["event_serial_no"] is None and s["commit_lsn"] == str(lsn)
        assert payload(r)["before"] is None
    assert gen.lsn == lsn and len(gen.state["customers"]) == 3


def test_snapshot_markers_across_tables(gen):
    for name in ("customers", "line_items", "orders"):
        for i in (1, 2):
            gen.insert(name, {"id": i, "email": "e"} if name == "customers" else {"id": i})
    records = gen.snapshot()   # every table, in name order: all_types (empty), customers, inventory_levels (empty), ...
    assert [(r.topic.rsplit(".", 1)[1], source(r)["snapshot"]) for r in records] == [
        ("customers", "first_in_data_collection"), ("customers", "last_in_data_collection"),
        ("line_items", "first_in_data_collection"), ("line_items", "last_in_data_collection"),
        ("orders", "first_in_data_collection"), ("orders", "last")]


def test_snapshot_last_record_is_last_even_if_the_last_table_is_empty(gen):
    gen.insert("customers", {"id": 1, "email": "e"})
    (record,) = gen.snapshot(["customers", "orders"])
    assert source(record)["snapshot"] == "last"
    assert gen.snapshot(["orders"]) == []


def test_streaming_after_snapshot_is_not_marked(gen):
    gen.insert("customers", {"id": 1, "email": "e"})
    gen.snapshot("customers")
    (record,) = gen.insert("customers", {"id": 2, "email": "f"})
    assert source(record)["snapshot"] == "false"


# --- the event stream reproduces the state ------------------------------------------------------------------------
def replay(records):
    """What a sink applying the events ends with: last `after` per key, removed by deletes/tombstones."""
    tables = {}
    for r in records:
        table = tables.setdefault(r.topic.rsplit(".", 1)[1], {})
        key = json.dumps(json.loads(r.key)["payload"], sort_keys=True)
        after = None if r.value is None else payload(r)["after"]
        if after is None:
            table.pop(key, None)
        else:
            table[key] = after
    return tables


def test_reselect_puts_the_value_into_the_after_image_so_the_sink_ends_with_the_source_state(gen):
    gen.insert("all_types", {"id": 1, "c_xml": "<a />"})
    gen.insert("all_types", {"id": 2})
    kept = payload(gen.update("all_types", {"id": 1, "c_int": 1})[0])
    assert (kept["before"]["c_xml"], kept["after"]["c_xml"]) == (UNAVAILABLE_PLACEHOLDER, "<a />")
    null_kept = payload(gen.update("all_types", {"id": 2, "c_int": 1})[0])
    assert (null_kept["before"]["c_xml"], null_kept["after"]["c_xml"]) == (UNAVAILABLE_PLACEHOLDER, None)
    assert gen.sink_state() == gen.state
    summary = workload(2000, seed=11, generator=gen, progress=None, collect=True)
    afters = [json.loads(r.value)["payload"]["after"] or {} for r in summary["records_list"] if r.value]
    assert not [a for a in afters if UNAVAILABLE_PLACEHOLDER in a.values()], "no after-image carries the placeholder"
    assert gen.sink_state() == gen.state


def test_random_workload_events_converge_to_the_intended_state():
    g = Generator(clock=SteppingClock(), reselect=False)
    summary = workload(3000, seed=11, generator=g, progress=None, collect=True)
    records = summary["records_list"]
    assert summary["events"] == 3000 == sum(summary["events_per_table"].values())
    assert summary["records"] == len(records) == 3000 + summary["tombstones"]
    assert summary["rows"] == g.row_counts()
    replayed = replay(records)
    sink_state = g.sink_state()
    # an update that left a NULL xml alone carries the placeholder (events.lob_images); sink_state() knows
    assert any(row["c_xml"] == UNAVAILABLE_PLACEHOLDER for row in sink_state["all_types"].values())
    for name, table in TABLES.items():
        expected = {json.dumps(json.loads(g.encoder.key(name, key))["payload"], sort_keys=True):
                    json.loads(dumps(encode_row(table, row)))
                    for key, row in sink_state[name].items()}
        assert replayed.get(name, {}) == expected, name
        assert len(expected) == len(g.state[name])


def test_random_workload_exercises_every_operation_and_table():
    g = Generator(clock=SteppingClock())
    summary = workload(2000, seed=3, generator=g, progress=None, collect=True)
    ops = {(r.topic.rsplit(".", 1)[1], payload(r)["op"]) for r in summary["records_list"] if r.value}
    for name in TABLES:
        assert {(name, "c"), (name, "u"), (name, "d")} <= ops, name
    multi = [r for r in summary["records_list"] if r.value and r.topic.endswith("line_items")]
    commits = {}
    for r in summary["records_list"]:
        if r.value:
            commits.setdefault(source(r)["commit_lsn"], set()).add(r.topic.rsplit(".", 1)[1])
    assert any(tables == {"orders", "line_items"} for tables in commits.values())   # order + items transactions
    assert multi


def test_workload_is_deterministic_for_a_seed():
    def run(seed):
        return workload(500, seed=seed, clock=SteppingClock(), progress=None, collect=True)["records_list"]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_workload_respects_table_selection():
    summary = workload(200, seed=1, tables=["customers", "orders"], clock=SteppingClock(), progress=None,
                       collect=True)
    assert set(summary["events_per_table"]) == {"customers", "orders"}
    assert {r.topic.rsplit(".", 1)[1] for r in summary["records_list"]} == {"customers", "orders"}
    assert summary["rows"]["line_items"] == 0
    with pytest.raises(ValueError):
        workload(1, tables=["nope"], progress=None)


def test_workload_can_continue_an_existing_generator():
    g = Generator(clock=SteppingClock())
    workload(100, seed=1, generator=g, progress=None)
    rows = sum(g.row_counts().values())
    workload(100, seed=2, generator=g, progress=None)   # keys continue after the existing ones: no collisions
    assert sum(g.row_counts().values()) != rows or rows == 0


def test_random_workload_pick_survives_outside_changes():
    g = Generator(clock=SteppingClock())
    w = RandomWorkload(g, seed=1, tables=["customers"])
    for _ in range(20):
        w.step()
    for key in list(g.state["customers"])[:5]:
        g.delete("customers", key)
    for _ in range(5):
        assert w.pick("customers") in g.state["customers"]
