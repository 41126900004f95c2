"""One target table per source table: `dbo.customers` and `sales.customers` (the demo inventory captures both) land
in `cdc.customers` and `cdc.sales_customers`, and neither overwrites the other's row of the same key."""
import datetime as dt

from conftest import kafka_client
from helpers import KAFKA, pg, rows, wait_for  # noqa: F401 (pg: fixture)
from tests.support.cdcgen import Generator, KafkaSink

KEY = 990_001


def customer(email):
    return {"id": KEY, "email": email, "full_name": "Same Key", "created_at": dt.datetime(2024, 5, 1, 12, 0),
            "is_active": True}


def send(sink, records):
    sink.send_all(records)
    sink.flush(60)


def test_same_table_name_in_two_schemas_lands_in_two_tables(pg):  # noqa: F811
    dbo, sales, sink = Generator(schema="dbo"), Generator(schema="sales"), KafkaSink(KAFKA, config=kafka_client(KAFKA))
    assert dbo.encoder.topic("customers") != sales.encoder.topic("customers")
    send(sink, dbo.insert("customers", customer("dbo@example.com")))
    send(sink, sales.insert("customers", customer("sales@example.com")))

    def both():
        a = rows(pg, "SELECT email FROM cdc.customers WHERE id = %s", KEY)
        b = rows(pg, "SELECT email FROM cdc.sales_customers WHERE id = %s", KEY)
        return (a, b) if a and b else None
    assert wait_for(both, timeout=120, what="the row in both target tables") == (
        [("dbo@example.com",)], [("sales@example.com",)])

    # A delete in one schema removes only that schema's row.
    send(sink, sales.delete("customers", KEY))
    wait_for(lambda: not rows(pg, "SELECT 1 FROM cdc.sales_customers WHERE id = %s", KEY), timeout=120,
             what="the delete in cdc.sales_customers")
    assert rows(pg, "SELECT email FROM cdc.customers WHERE id = %s", KEY) == [("dbo@example.com",)]
    send(sink, dbo.delete("customers", KEY))
    wait_for(lambda: not rows(pg, "SELECT 1 FROM cdc.customers WHERE id = %s", KEY), timeout=120,
             what="the delete in cdc.customers")
