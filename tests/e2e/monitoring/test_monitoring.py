"""Monitoring of the running pipeline: every component's metrics in Prometheus, the end-to-end lag from the
replicated heartbeat row, and alerts that fire, reach the webhook receiver, and resolve.

SQL Server cannot run here: tests/support/cdcgen writes the change events and the heartbeat stream the Debezium
SQL Server source would write (see docs/monitoring.md for what that leaves untested)."""
import datetime as dt
import time

import pytest
import requests

from conftest import connect_login, docker_exec, kafka_client, run_module
from monitoring_helpers import (CONNECT, KAFKA, PG_CONTAINER, PROMETHEUS, SINK, Pulse, alerts, all_running,
                                connect_status, failed_task, notifications, pg_connect, psql_admin, query, rows,
                                wait_for, wait_until_replicated)
from tests.support.cdcgen import Generator, KafkaSink

ALERTS = {
    "SluiceEndToEndLagHigh", "SluiceConnectorFailed", "SluiceTaskFailed", "SluiceSourceDisconnected",
    "SluiceDeadLetterQueueReceiving", "SluiceSinkErrorRate", "SluiceConsumerLagGrowing", "SluiceSchemaChangeDetected",
    "SluiceKafkaBrokerDown", "SluiceKafkaUnderReplicatedPartitions", "SluiceKafkaOfflinePartitions",
    "SluiceKafkaActiveControllerCount", "SluiceConnectWorkerDown", "SluicePostgresTargetDown", "SluiceExporterDown",
    "SluiceDiskFilling", "SluiceReconcileDifferences", "SluiceReconcileNotSucceeding",
    "SluiceTaskRestarting", "SluiceRecordQuarantined", "SluiceSupervisorDown", "SluiceCertificateExpiresSoon",
    "SluiceCertificateExpired",
}
JOBS = {"prometheus": 1, "alertmanager": 1, "kafka": 1, "kafka_connect": 1, "postgres": 1, "node": 4,
        "sluice_supervisor": 1}
SAMPLE_TABLES = ("customers", "orders", "line_items", "inventory_levels", "all_types")
CONNECT_CONTAINER = "sluice-mon-connect"


@pytest.fixture(scope="module")
def pulse():
    # Start from empty tables (other suites may have written rows with the same keys), so PostgreSQL can be
    # compared with this run's intended state as a whole.
    with pg_connect() as conn:
        for name in SAMPLE_TABLES:
            rows(conn, f"TRUNCATE cdc.{name}")
        rows(conn, "ALTER TABLE IF EXISTS cdc.customers DROP CONSTRAINT IF EXISTS e2e_reject")
    # A re-run against a scenario an interrupted run left with a failed sink task starts healthy again.
    if any(t["state"] == "FAILED" for t in connect_status(SINK)["tasks"]):
        run_module("sluice.cdc.connect_connector", {"name": SINK, "state": "restarted", "url": CONNECT, **connect_login()})
    thread = Pulse()
    thread.start()
    yield thread
    thread.stop()
    assert thread.error is None, thread.error


@pytest.fixture
def pg():
    """A fresh connection per test: stopping PostgreSQL ends every session."""
    with pg_connect() as conn:
        yield conn


def scalar(promql):
    result = query(promql)
    return result[0][1] if result else None


def test_heartbeat_replicates_and_its_lag_is_exposed(pulse, pg):
    wait_for(lambda: rows(pg, "SELECT ts FROM cdc.sluice_heartbeat WHERE id = 1"), timeout=120,
             what="the heartbeat row in PostgreSQL")
    # datetime2(7) (NanoTimestamp) lands as timestamp without time zone holding UTC wall-clock time
    column_type = rows(pg, "SELECT data_type FROM information_schema.columns "
                           "WHERE table_schema = 'cdc' AND table_name = 'sluice_heartbeat' AND column_name = 'ts'")
    assert column_type == [("timestamp without time zone",)]
    (ts,), = rows(pg, "SELECT ts FROM cdc.sluice_heartbeat WHERE id = 1")
    assert abs((dt.datetime.utcnow() - ts).total_seconds()) < 20
    lag = wait_for(lambda: scalar("sluice_heartbeat_lag_seconds"), timeout=60,
                   what="sluice_heartbeat_lag_seconds in Prometheus")
    assert 0 <= lag < 15, lag
    stamp = scalar("sluice_heartbeat_timestamp_seconds")
    assert abs(stamp - ts.replace(tzinfo=dt.timezone.utc).timestamp()) < 15
    # the monitoring login reads the lag through the function only, not the replicated data
    assert psql_admin("SELECT has_table_privilege('sluice_monitor', 'cdc.sluice_heartbeat', 'SELECT')") == "f"
    assert psql_admin("SELECT has_function_privilege('sluice_monitor', 'cdc.sluice_heartbeat_age()', 'EXECUTE')") == "t"


def test_the_exporter_and_the_sink_reach_the_target_over_tls(pulse):
    # Both keep connections open: the exporter's pool and the JDBC sink's (verify-full against the internal CA).
    sql = ("SELECT a.usename || ':' || s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
           " WHERE a.usename IN ('sluice_monitor', 'sluice_sink') AND a.client_addr IS NOT NULL")

    def sessions():
        found = set(psql_admin(sql).split())
        return found if {s.split(":")[0] for s in found} == {"sluice_monitor", "sluice_sink"} else None

    found = wait_for(sessions, timeout=90, what="sessions of the exporter and the sink")
    assert found == {"sluice_monitor:true", "sluice_sink:true"}, found


def test_every_target_from_the_inventory_is_up(pulse):
    active = requests.get(f"{PROMETHEUS}/api/v1/targets", params={"state": "active"}, timeout=10).json()
    by_job = {}
    for target in active["data"]["activeTargets"]:
        by_job.setdefault(target["labels"]["job"], []).append((target["labels"]["host"], target["health"]))
    assert {job: len(targets) for job, targets in by_job.items()} == JOBS
    assert sorted(host for host, _ in by_job["node"]) == ["sluice-mon-connect", "sluice-mon-kafka", "sluice-mon-pg",
                                                          "sluice-mon-prom"]
    wait_for(lambda: all(scalar(f'up{{job="{job}",host="{host}"}}') == 1
                         for job, targets in by_job.items() for host, _ in targets),
             timeout=60, what="every target to be scraped successfully")


def test_kafka_broker_health_metrics(pulse):
    assert scalar("sum(kafka_server_replicamanager_underreplicatedpartitions)") == 0
    assert scalar("sum(kafka_controller_kafkacontroller_offlinepartitionscount)") == 0
    assert scalar("sum(kafka_controller_kafkacontroller_activecontrollercount)") == 1
    heartbeat_topic = "sluice.sluice_demo.dbo.sluice_heartbeat"
    assert scalar(f'sum(kafka_server_brokertopicmetrics_messagesinpersec_total{{topic="{heartbeat_topic}"}})') > 0


def test_connect_worker_task_and_sink_metrics(pulse):
    assert scalar(f'kafka_connect_connector_status{{connector="{SINK}",status="running"}}') == 1
    tasks = [task["id"] for task in connect_status(SINK)["tasks"]]
    assert tasks, "the sink has no tasks"
    for task in tasks:
        assert scalar(f'kafka_connect_task_status{{connector="{SINK}",task="{task}",status="running"}}') == 1, task
    assert scalar(f'kafka_connect_connector_running_task_count{{connector="{SINK}"}}') == len(tasks)
    assert scalar(f'kafka_connect_connector_failed_task_count{{connector="{SINK}"}}') == 0
    assert scalar("kafka_connect_worker_connector_count") >= 1
    assert scalar(f'kafka_connect_task_error_total_record_errors{{connector="{SINK}"}}') == 0
    assert scalar(f'kafka_connect_task_error_deadletterqueue_produce_requests{{connector="{SINK}"}}') == 0
    wait_for(lambda: (scalar(f'kafka_connect_sink_task_sink_record_read{{connector="{SINK}"}}') or 0) > 0,
             timeout=60, what="the sink's records-read count to grow with the heartbeats")
    lag = query(f'kafka_consumer_records_lag_max{{client_id=~"connector-consumer-{SINK}-.*"}}')
    assert lag and all(value >= 0 for _, value in lag), lag


def test_postgres_and_node_exporters(pulse):
    assert scalar("pg_up") == 1
    # containers' root is an overlay (excluded by the node exporter); their bind-mounted files sit on the host's fs
    free = query("count by (host) (node_filesystem_avail_bytes{host!=\"\"} > 0)")
    assert sorted(labels["host"] for labels, _ in free) == ["sluice-mon-connect", "sluice-mon-kafka",
                                                            "sluice-mon-pg", "sluice-mon-prom"]
    assert scalar('node_textfile_scrape_error{host="sluice-mon-pg"}') == 0


def test_the_target_certificate_expiry_is_a_metric(pulse):
    # Issued by the pki role for 365 days when the scenario converged; served by the node exporter's textfile collector.
    found = wait_for(lambda: query('sluice_tls_certificate_not_after_timestamp_seconds{host="sluice-mon-pg"}'),
                     timeout=60, what="the target's certificate expiry in Prometheus")
    [(labels, not_after)] = found
    assert labels["certificate"] == "server" and labels["path"] == "/etc/postgresql/sluice-tls/server.crt"
    assert 364 * 86400 < not_after - time.time() < 366 * 86400


def test_every_alert_rule_is_loaded_and_none_fires_while_healthy(pulse):
    groups = requests.get(f"{PROMETHEUS}/api/v1/rules", timeout=10).json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert names == ALERTS
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"])
    firing = [a["labels"]["alertname"] for a in requests.get(f"{PROMETHEUS}/api/v1/alerts", timeout=10)
              .json()["data"]["alerts"] if a["state"] == "firing"]
    assert firing == []


def test_lag_alert_fires_when_postgres_stops_under_load_and_resolves(pulse):
    since = time.time()
    pulse.rate = 40
    wait_for(lambda: pulse.events > 100, timeout=60, what="load to start")
    stopped = docker_exec(PG_CONTAINER, "systemctl", "stop", "postgresql@15-main")
    assert stopped.returncode == 0, stopped.stderr
    try:
        firing = wait_for(lambda: alerts("SluiceEndToEndLagHigh", "firing"), timeout=240, interval=2,
                          what="SluiceEndToEndLagHigh to fire")
        assert float(firing[0]["value"]) > 30
        assert alerts("SluicePostgresTargetDown", "firing") or alerts("SluicePostgresTargetDown", "pending")
        wait_for(lambda: notifications("SluiceEndToEndLagHigh", "firing", since), timeout=60, interval=2,
                 what="the webhook to receive the firing lag alert")
        note = notifications("SluiceEndToEndLagHigh", "firing", since)[0]
        assert note["labels"]["severity"] == "critical"
        assert note["annotations"]["runbook_url"].endswith("#sluiceendtoendlaghigh")
    finally:
        started = docker_exec(PG_CONTAINER, "systemctl", "start", "postgresql@15-main")
        assert started.returncode == 0, started.stderr
    # Nobody restarts anything: the sink's flush retries ride out the outage, and a task that failed anyway is the
    # supervisor's to restart (docs/pipeline.md, docs/supervisor.md).
    print(f"sink tasks after the outage: {[t['state'] for t in connect_status(SINK)['tasks']]}")
    wait_for(lambda: not alerts("SluiceEndToEndLagHigh"), timeout=240, interval=2,
             what="SluiceEndToEndLagHigh to resolve")
    wait_for(lambda: notifications("SluiceEndToEndLagHigh", "resolved", since), timeout=90, interval=2,
             what="the webhook to receive the resolved lag alert")
    assert scalar("sluice_heartbeat_lag_seconds") < 30
    pulse.rate = 0
    wait_for(lambda: pulse.idle, timeout=30, what="the load to stop")
    with pg_connect() as fresh:
        wait_until_replicated(fresh, pulse.gen, ["customers", "orders", "line_items", "inventory_levels"],
                              timeout=180)


def test_without_a_supervisor_a_rejected_row_fails_the_task_and_alerts(pulse, pg):
    """With the supervisor stopped, a row PostgreSQL rejects leaves the sink task FAILED: SluiceTaskFailed and
    SluiceSupervisorDown fire and reach the webhook. The failed task's partition then moves to the next task, which
    fails on the same row, until every task has failed. The runbook's manual path then works: the cause removed, the
    failed tasks restarted, the row arrives and the alert resolves. (With the supervisor running, the record is
    quarantined instead: tests/e2e/pipeline/test_supervisor.py, tests/e2e/cluster.)"""
    since = time.time()
    gen = Generator()
    sink = KafkaSink(KAFKA, config=kafka_client(KAFKA))
    row = {"id": 9_000_001, "email": "reject@example.com", "full_name": "Reject", "is_active": True}
    stopped = docker_exec(CONNECT_CONTAINER, "systemctl", "stop", "sluice-supervisor")
    assert stopped.returncode == 0, stopped.stderr
    try:
        psql_admin("ALTER TABLE cdc.customers ADD CONSTRAINT e2e_reject CHECK (email <> 'reject@example.com')")
        try:
            sink.send_all(gen.insert("customers", row))
            sink.flush(60)
            failed = wait_for(lambda: failed_task(connect_status(SINK)), timeout=120,
                              what="the sink task to fail on the rejected row")
            firing = wait_for(lambda: alerts("SluiceTaskFailed", "firing"), timeout=120, interval=2,
                              what="SluiceTaskFailed to fire")
            assert {a["labels"]["connector"] for a in firing} == {SINK}
            assert str(failed["id"]) in {a["labels"]["task"] for a in firing}
            wait_for(lambda: notifications("SluiceTaskFailed", "firing", since), timeout=60, interval=2,
                     what="the webhook to receive the firing task alert")
            down = wait_for(lambda: notifications("SluiceSupervisorDown", "firing", since), timeout=120, interval=2,
                            what="the webhook to receive SluiceSupervisorDown")
            assert down[0]["annotations"]["runbook_url"].endswith("#sluicesupervisordown")
            # Restarting before the last task has failed would leave that one FAILED (seen with 3 tasks).
            wait_for(lambda: all(t["state"] == "FAILED" for t in connect_status(SINK)["tasks"]), timeout=300,
                     interval=2, what="every sink task to fail on the row in turn")
        finally:
            psql_admin("ALTER TABLE cdc.customers DROP CONSTRAINT e2e_reject")
        restarted = run_module("sluice.cdc.connect_connector", {"name": SINK, "state": "restarted", "url": CONNECT, **connect_login()})
        assert restarted["changed"] is True, restarted
        wait_for(lambda: rows(pg, "SELECT email FROM cdc.customers WHERE id = 9000001"), timeout=120,
                 what="the once rejected row in PostgreSQL")
        wait_for(lambda: all_running(connect_status(SINK)), timeout=60, what="every sink task RUNNING")
        wait_for(lambda: not alerts("SluiceTaskFailed"), timeout=120, interval=2, what="SluiceTaskFailed to resolve")
        resolved = wait_for(lambda: notifications("SluiceTaskFailed", "resolved", since), timeout=90, interval=2,
                            what="the webhook to receive the resolved task alert")
        assert resolved[0]["labels"]["connector"] == SINK
    finally:
        started = docker_exec(CONNECT_CONTAINER, "systemctl", "start", "sluice-supervisor")
        assert started.returncode == 0, started.stderr
