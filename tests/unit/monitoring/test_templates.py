"""roles/monitoring's configuration templates rendered outside Ansible: the scrape configuration generated from an
inventory (checked by `promtool check config`), the Alertmanager configuration (`amtool check-config`) and the
SQL Server exporter configuration (valid YAML, the expected metrics, every query reference resolved)."""
import json
import pathlib
import subprocess

import jinja2
import pytest
import yaml

from test_alert_rules import ROLE, defaults, tool


def render(template, **variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             extensions=["jinja2.ext.do"])
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in text.splitlines())
    env.filters["to_json"] = json.dumps
    env.filters["bool"] = bool
    env.tests["in"] = lambda value, seq: value in seq
    return env.get_template(template).render(defaults() | {"ansible_managed": "Ansible managed"} | variables)


INVENTORY = {
    "groups": {"kafka": ["k1", "k2", "k3"], "kafka_connect": ["c1", "c2"], "postgresql_target": ["pg1"],
               "monitoring": ["mon1"]},
    "hostvars": {"k1": {}, "k2": {"kafka_jmx_exporter_port": 19404}, "k3": {"kafka_jmx_exporter_enabled": False},
                 "c1": {}, "c2": {"kafka_connect_jmx_exporter_port": 9999, "monitoring_scrape_address": "10.0.0.2"},
                 "pg1": {"node_exporter_port": 9101}, "mon1": {}},
    "inventory_hostname": "mon1",
}


def scrape_targets(config):
    return {job["job_name"]: sorted((t, sc["labels"]["host"]) for sc in job["static_configs"] for t in sc["targets"])
            for job in config["scrape_configs"]}


def test_scrape_targets_come_from_the_inventory(tmp_path):
    text = render("prometheus.yml.j2", **INVENTORY)
    config = yaml.safe_load(text)
    assert scrape_targets(config) == {
        "prometheus": [("mon1:9090", "mon1")],
        "alertmanager": [("mon1:9093", "mon1")],
        "kafka": [("k1:9404", "k1"), ("k2:19404", "k2")],          # k3 has no JMX exporter
        "kafka_connect": [("10.0.0.2:9999", "c2"), ("c1:9405", "c1")],
        "sluice_supervisor": [("10.0.0.2:9406", "c2"), ("c1:9406", "c1")],  # the supervisor on every Connect host
        "postgres": [("pg1:9187", "pg1")],
        "node": sorted([(f"{h}:9100", h) for h in ("k1", "k2", "k3", "c1", "mon1")] + [("pg1:9101", "pg1")]
                       + [("10.0.0.2:9100", "c2")]),
    }
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["mon1:9093"]
    (tmp_path / "prometheus.yml").write_text(text)
    out = subprocess.run([tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_empty_groups_give_no_job_and_sqlserver_targets_are_listed():
    config = yaml.safe_load(render("prometheus.yml.j2", groups={"monitoring": ["mon1"]}, hostvars={"mon1": {}},
                                   inventory_hostname="mon1",
                                   monitoring_sqlserver_exporter_targets=["sql1.example:9399"]))
    assert set(scrape_targets(config)) == {"prometheus", "alertmanager", "node", "sqlserver"}
    assert scrape_targets(config)["sqlserver"] == [("sql1.example:9399", "sql1.example")]


@pytest.mark.parametrize("url", ["", "http://127.0.0.1:9099/alerts"])
def test_alertmanager_config_is_valid_and_routes_to_the_webhook(tmp_path, url):
    text = render("alertmanager.yml.j2", monitoring_alertmanager_webhook_url=url)
    config = yaml.safe_load(text)
    (tmp_path / "alertmanager.yml").write_text(text)
    out = subprocess.run([tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    if url:
        assert config["route"]["receiver"] == "sluice-webhook"
        assert config["receivers"] == [{"name": "sluice-webhook",
                                        "webhook_configs": [{"url": url, "send_resolved": True}]}]
    else:
        assert config["receivers"] == [{"name": "sluice-none"}]


SQLSERVER_METRICS = {
    "sluice_sqlserver_cdc_job_running", "sluice_sqlserver_cdc_scan_latency_seconds", "sluice_sqlserver_cdc_errors",
    "sluice_sqlserver_cdc_change_table_rows", "sluice_sqlserver_cdc_change_table_bytes",
    "sluice_sqlserver_cdc_oldest_lsn_age_seconds", "sluice_sqlserver_cdc_max_lsn_age_seconds",
}


def test_sqlserver_exporter_collector_renders_with_the_expected_metrics():
    collector = yaml.safe_load(render("sqlserver/sluice_cdc.collector.yml.j2"))
    assert collector["collector_name"] == "sluice_cdc" and collector["min_interval"] == "30s"
    metrics = {m["metric_name"]: m for m in collector["metrics"]}
    assert set(metrics) == SQLSERVER_METRICS
    named = {q["query_name"]: q["query"] for q in collector.get("queries", [])}
    for name, metric in metrics.items():
        assert metric["type"] == "gauge" and metric["help"], name
        sql = metric.get("query") or named[metric["query_ref"]]
        # every value and key label is a column the query selects
        for column in metric["values"] + metric.get("key_labels", []):
            assert f" AS {column}" in sql or f"{column}," in sql.split("FROM")[0], (name, column)
    assert metrics["sluice_sqlserver_cdc_job_running"]["key_labels"] == ["job_type", "job_name"]
    assert "msdb.dbo.cdc_jobs" in metrics["sluice_sqlserver_cdc_job_running"]["query"]
    assert "sys.fn_cdc_get_min_lsn" in metrics["sluice_sqlserver_cdc_oldest_lsn_age_seconds"]["query"]


def test_sqlserver_exporter_config_names_the_collector_and_dsn():
    dsn = "sqlserver://monitor:s3cr%40t@sql1:1433?database=sluice_demo"
    config = yaml.safe_load(render("sqlserver/sql_exporter.yml.j2", monitoring_sqlserver_exporter_dsn=dsn))
    assert config["target"] == {"data_source_name": dsn, "collectors": ["sluice_cdc"]}
    assert config["collector_files"] == ["*.collector.yml"]
    assert pathlib.PurePath("sluice_cdc.collector.yml").match(config["collector_files"][0])


def test_postgres_exporter_query_exposes_the_heartbeat_lag():
    role = ROLE.parent / "postgres_exporter"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(role / "templates")), trim_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "# " + text
    env.filters["to_json"] = json.dumps
    text = env.get_template("postgres_exporter_queries.yml.j2").render(
        ansible_managed="Ansible managed", postgres_exporter_quoted_schema='"cdc"')
    queries = yaml.safe_load(text)
    # postgres_exporter names a custom metric <query name>_<column>
    assert list(queries) == ["sluice_heartbeat"]
    heartbeat = queries["sluice_heartbeat"]
    assert heartbeat["query"] == 'SELECT lag_seconds, timestamp_seconds FROM "cdc".sluice_heartbeat_age()'
    columns = {name: spec["usage"] for metric in heartbeat["metrics"] for name, spec in metric.items()}
    assert columns == {"lag_seconds": "GAUGE", "timestamp_seconds": "GAUGE"}
    assert {f"sluice_heartbeat_{c}" for c in columns} == {"sluice_heartbeat_lag_seconds",
                                                          "sluice_heartbeat_timestamp_seconds"}
