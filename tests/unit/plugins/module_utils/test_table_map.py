"""One target table per source table: default names, explicit targets, refusals, sink routes, reconciler tables."""
import json
import pathlib
import re
import subprocess
import sys

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import table_map as tm

ROOT = pathlib.Path(__file__).resolve().parents[4]


def test_dbo_keeps_its_names_and_other_schemas_are_prefixed():
    m = tm.table_map(["dbo.customers", "sales.customers", "DBO.Orders"], "sluice", "demo")
    assert m == [
        {"source": "dbo.customers", "target": "customers", "topic": "sluice.demo.dbo.customers"},
        {"source": "sales.customers", "target": "sales_customers", "topic": "sluice.demo.sales.customers"},
        {"source": "DBO.Orders", "target": "Orders", "topic": "sluice.demo.DBO.Orders"},
    ]


def test_an_explicit_target_overrides_the_default_and_topics_need_prefix_and_database():
    m = tm.table_map([{"source": "sales.accounts", "target": "accounts_sales"}, " dbo.x "])
    assert m == [{"source": "sales.accounts", "target": "accounts_sales"}, {"source": "dbo.x", "target": "x"}]


@pytest.mark.parametrize("tables, message", [
    (["dbo.sales_accounts", "sales.accounts"],
     "source tables dbo.sales_accounts and sales.accounts would both be written into target table sales_accounts"),
    (["dbo.accounts", {"source": "sales.accounts", "target": "Accounts"}],
     "source tables dbo.accounts and sales.accounts would both be written into target table accounts"),
    (["dbo.a", "DBO.A"], "source table DBO.A is listed twice"),
    (["customers"], "source table 'customers' must be written schema.table"),
    (["a.b.c"], "must be written schema.table"),
    ([{"source": "dbo.a", "target": "cdc.a"}], "target table 'cdc.a' of dbo.a must be a PostgreSQL name"),
    ([{"source": "dbo.a", "target": "x" * 64}], "at most 63 characters"),
    ([{"source": "dbo.a", "traget": "b"}], "unknown key(s) traget"),
    ([42], "a table is"),
])
def test_refusals_name_what_is_wrong(tables, message):
    with pytest.raises(tm.TableMapError) as e:
        tm.table_map(tables)
    assert message in str(e.value)


def test_sink_routes_send_exactly_each_topic_to_its_target():
    m = tm.table_map(["dbo.customers", "sales.customers", "dbo.a_b"], "sluice", "demo")
    routes = tm.sink_routes(m)
    assert routes["collection.name.format"] == "${topic}"
    assert routes["transforms"] == "route0,route1,route2"
    assert {routes[f"transforms.route{i}.type"] for i in range(3)} == {"org.apache.kafka.connect.transforms.RegexRouter"}

    def route(topic):  # the RegexRouter chain, in order, as Connect applies it (full-match, then replace)
        for i in range(3):
            if re.fullmatch(routes[f"transforms.route{i}.regex"], topic):
                topic = routes[f"transforms.route{i}.replacement"]
        return topic
    assert [route(e["topic"]) for e in m] == ["customers", "sales_customers", "a_b"]
    # A dot in a name is literal: another table whose name differs only there is not routed.
    assert route("sluice.demo.dboXcustomers") == "sluice.demo.dboXcustomers"


def test_reconciler_tables_pair_each_source_with_its_target_in_the_schema():
    m = tm.table_map(["dbo.customers", "sales.customers"])
    assert tm.reconcile_tables(m, "cdc") == [{"source": "dbo.customers", "target": "cdc.customers"},
                                             {"source": "sales.customers", "target": "cdc.sales_customers"}]


def test_site_refuses_a_colliding_inventory_before_any_change(tmp_path):
    """The first play of site.yml maps the tables; a collision stops the run with both names and nothing changed."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "kafka": {"hosts": {}},
        "kafka_connect": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "connectors_tables": ["dbo.customers", "dbo.sales_accounts", "sales.accounts"]}}}}}}))
    run = subprocess.run([str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory),
                          str(ROOT / "site.yml")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH":
                              str(ROOT / "collections"), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    assert run.returncode == 2, run.stdout + run.stderr
    assert "source tables dbo.sales_accounts and sales.accounts would both be written into target table " \
           "sales_accounts" in run.stdout
    assert re.search(r"localhost\s*: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", run.stdout), run.stdout
    assert "Kafka (KRaft" not in run.stdout.split("PLAY RECAP")[0].split("Check the inventory")[1]
