"""Connector management against the real Connect worker of the pipeline scenario."""
import json

from confluent_kafka import Consumer

from conftest import connect_api, connect_login, kafka_client, run_module, run_playbook
from helpers import CONNECT, KAFKA, SINK, SOURCE, connect_status, sink_password


def test_sink_and_its_task_are_running():
    status = connect_status(SINK)
    assert status["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in status["tasks"]] == ["RUNNING"] * 3   # connectors_sink_tasks_max


def test_source_was_validated_not_started():
    # No SQL Server can run here: the role validated the source and did not create it.
    assert connect_api().get(f"{CONNECT}/connectors/{SOURCE}", timeout=10).status_code == 404
    plugins = [p["class"] for p in connect_api().get(f"{CONNECT}/connector-plugins", timeout=10).json()]
    assert "io.debezium.connector.sqlserver.SqlServerConnector" in plugins


def test_changing_one_key_updates_only_that_key():
    before = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()
    wanted = {k: v for k, v in before.items() if k != "name"} | {"batch.size": "400"}
    args = {"name": SINK, "config": wanted, "url": CONNECT, **connect_login()}
    try:
        checked = run_module("sluice.cdc.connect_connector", args, check=True, diff=True)
        assert checked["changed"] is True
        assert connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json() == before
        result = run_module("sluice.cdc.connect_connector", args, diff=True)
        assert result["changed"] is True, result
        after = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed == {"batch.size"} and after["batch.size"] == "400"
        assert connect_status(SINK)["connector"]["state"] == "RUNNING"
        again = run_module("sluice.cdc.connect_connector", args)
        assert again["changed"] is False and again["plan"] == []
    finally:
        restored = run_module("sluice.cdc.connect_connector",
                              {"name": SINK, "config": {k: v for k, v in before.items() if k != "name"},
                               "url": CONNECT, **connect_login()})
        assert restored.get("failed") is not True, restored


def test_no_secret_in_connector_configs_nor_in_the_config_topic():
    secret = sink_password()
    for name in connect_api().get(f"{CONNECT}/connectors", timeout=10).json():
        config = connect_api().get(f"{CONNECT}/connectors/{name}/config", timeout=10).json()
        assert secret not in json.dumps(config)
    sink = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()
    assert sink["connection.password"].startswith("${dir:/etc/kafka-connect/secrets:")

    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-config-topic-scan",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["sluice-connect-configs"])
    seen = []
    try:
        for _ in range(20):
            batch = consumer.consume(num_messages=500, timeout=1)
            seen += [m.value() or b"" for m in batch if m.error() is None]
            if seen and not batch:
                break
    finally:
        consumer.close()
    assert any(b"connection.password" in v for v in seen), "read no connector config from the config topic"
    assert not any(secret.encode() in v for v in seen)
