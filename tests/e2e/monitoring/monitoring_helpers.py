"""The `monitoring` scenario: the pipeline plus Prometheus, Alertmanager and a webhook receiver, published on the
host's loopback (molecule/monitoring/molecule.yml). Reuses the pipeline suite's helpers (tests/e2e/pipeline)."""
import datetime
import importlib.util
import json
import threading
import time

import requests

from conftest import ROOT, connect_api, docker_exec, kafka_client, pg_session
from tests.support.cdcgen import Generator, Heartbeat, KafkaSink, workload

_spec = importlib.util.spec_from_file_location("pipeline_helpers", ROOT / "tests" / "e2e" / "pipeline" / "helpers.py")
pipeline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pipeline)
wait_for, rows, wait_until_replicated = pipeline.wait_for, pipeline.rows, pipeline.wait_until_replicated
failed_task, all_running = pipeline.failed_task, pipeline.all_running

KAFKA = "127.0.0.1:19292"
CONNECT = "https://127.0.0.1:18183"
PG_PORT = 15532
PROMETHEUS = "http://127.0.0.1:19590"
ALERTMANAGER = "http://127.0.0.1:19593"
WEBHOOK = "http://127.0.0.1:19599"
SINK = pipeline.SINK
PG_CONTAINER = "sluice-mon-pg"


def pg_connect():
    return pg_session(PG_PORT)


def psql_admin(sql):
    out = docker_exec(PG_CONTAINER, "su", "postgres", "-c", f"psql -v ON_ERROR_STOP=1 -At -d sluice -c \"{sql}\"")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def connect_status(name):
    return connect_api().get(f"{CONNECT}/connectors/{name}/status", timeout=10).json()


def query(promql):
    """Instant query against the scenario's Prometheus: [(labels, float value)]."""
    answer = requests.get(f"{PROMETHEUS}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]


def alerts(name, state=None):
    """Prometheus' active alerts named `name` (state pending or firing)."""
    found = requests.get(f"{PROMETHEUS}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    return [a for a in found if a["labels"]["alertname"] == name and (state is None or a["state"] == state)]


def _instant(text):
    """An Alertmanager RFC 3339 time (nanoseconds, Z) as a Unix timestamp."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.timezone.utc).timestamp() + float(
        "0." + (frac or "0"))


def notifications(name, status, since):
    """Alerts named `name` with `status` (firing/resolved) that the webhook receiver got, of alerts that started at
    or after `since` (Unix time): earlier runs' notifications do not count."""
    received = requests.get(WEBHOOK, timeout=10).json()
    return [alert for note in received for alert in note.get("alerts", [])
            if alert["labels"].get("alertname") == name and alert["status"] == status
            and _instant(alert["startsAt"]) >= since]


class Pulse(threading.Thread):
    """The source side, from one thread (the generator is not thread-safe): the heartbeat row every `interval`
    seconds, as the source connector's heartbeat.action.query writes it, and — while `rate` > 0 — random change
    events at `rate` per second."""

    def __init__(self, interval=1.0):
        super().__init__(daemon=True, name="cdcgen-pulse")
        self.interval, self.rate = interval, 0
        self.gen = Generator()
        self.heartbeat = Heartbeat(self.gen)
        self.sink = KafkaSink(KAFKA, config=kafka_client(KAFKA))
        self.stopped = threading.Event()
        self.events = 0
        self.idle = True  # no workload call in progress: the generator's state has all been sent
        self.error = None

    def run(self):
        seed = 0
        try:
            while not self.stopped.is_set():
                if self.rate:
                    seed += 1
                    self.idle = False
                    done = workload(max(1, int(self.rate * self.interval)), seed=seed, generator=self.gen,
                                    sink=self.sink, rate=self.rate, heartbeat=self.heartbeat,
                                    heartbeat_interval=self.interval, progress=None)
                    self.events += done["events"]
                else:
                    self.idle = True
                    self.sink.send_all(self.heartbeat.beat())
                    self.sink.flush(30)
                    time.sleep(self.interval)
        except Exception as exc:  # noqa: BLE001 (reported by the tests through .error)
            self.error = exc

    def stop(self):
        self.stopped.set()
        self.join(timeout=60)


# --- the scheduled reconciliation (role reconcile_timer on the Connect host) ---------------------------------------
# No SQL Server runs here: the timer's source is the schema `dbo` of the PostgreSQL database
# (molecule/monitoring/inventory/group_vars/reconcile.yml), filled with the intended source state by the tests.
RECONCILE_CONTAINER = "sluice-mon-connect"
RECONCILE_TABLES = ("customers", "orders", "line_items", "inventory_levels", "all_types")
RECONCILE_REPORT = "/var/lib/sluice-reconcile/reports/last.json"


def replicate_intended_state(count=400, seed=4711):
    """Empty the sample tables, write `count` generated change events for all of them through Kafka and the sink,
    wait until PostgreSQL's cdc.<table> equal the generator's intended source state row by row, then copy them to
    the stand-in source dbo.<table>. Returns the generator (its state is the intended source state)."""
    with pg_connect() as conn:
        for name in RECONCILE_TABLES:
            rows(conn, f"TRUNCATE cdc.{name}")
    gen = Generator()
    workload(count, seed=seed, generator=gen, sink=KafkaSink(KAFKA, config=kafka_client(KAFKA)), progress=None)
    with pg_connect() as conn:
        wait_until_replicated(conn, gen, list(RECONCILE_TABLES), timeout=180)
    set_source()
    return gen


def set_source(tables=RECONCILE_TABLES):
    """dbo.<table> := cdc.<table> (same columns, types, primary key and rows) for the stand-in source. Call it when
    cdc.<table> was just proven equal to the intended source state, or for a run that only needs to be consistent."""
    statements = ["CREATE SCHEMA IF NOT EXISTS dbo"]
    for name in tables:
        statements += [f"DROP TABLE IF EXISTS dbo.{name}", f"CREATE TABLE dbo.{name} (LIKE cdc.{name} INCLUDING ALL)",
                       f"INSERT INTO dbo.{name} SELECT * FROM cdc.{name}"]
    statements += ["GRANT USAGE ON SCHEMA dbo TO sluice_sink", "GRANT SELECT ON ALL TABLES IN SCHEMA dbo TO sluice_sink"]
    psql_admin("; ".join(statements))


def reconcile_run():
    """Start the timer's service once (as the timer would) and wait for it: (exit status, the run's JSON report)."""
    docker_exec(RECONCILE_CONTAINER, "systemctl", "reset-failed", "sluice-reconcile.service")
    docker_exec(RECONCILE_CONTAINER, "systemctl", "start", "sluice-reconcile.service")  # non-zero on differences
    shown = docker_exec(RECONCILE_CONTAINER, "systemctl", "show", "-p", "ExecMainStatus", "--value",
                        "sluice-reconcile.service")
    report = docker_exec(RECONCILE_CONTAINER, "cat", RECONCILE_REPORT)
    assert report.returncode == 0, report.stderr
    return int(shown.stdout.strip()), json.loads(report.stdout)


def wait_for_reconcile_metrics(report, timeout=90):
    """Wait until Prometheus has scraped this run's textfile metrics (its finish time); return its exit status."""
    finished = report["run"]["finished_timestamp"]

    def scraped():
        found = query("sluice_reconcile_last_run_timestamp_seconds")
        return found and abs(found[0][1] - finished) < 0.01

    wait_for(scraped, timeout=timeout, interval=1, what="this reconciliation run's metrics in Prometheus")
    return query("sluice_reconcile_exit_status")[0][1]
