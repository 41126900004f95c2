"""Every panel's PromQL of the Grafana dashboards (roles/grafana/files/dashboards), run against the live Prometheus of
the monitoring scenario. Grafana itself cannot run here; this proves what it would show: no query has a syntax
error, and every query returns series while the pipeline runs.

Dashboard variables are substituted the way Grafana would on first load: $__rate_interval and friends by fixed
durations, custom variables by their current value, query variables (multi-value, "All") by ".+".

A few metric families exist only where a component runs that cannot run on these machines: the Debezium SQL Server
source (no SQL Server: debezium_metrics_*, kafka_connect_source_task_*). A query over such a family is reported as
skipped, with the reason, when Prometheus has no series of the family at all; if the family exists, the query must
return series like any other. The scheduled reconciliation's (sluice_reconcile_*) are not among them: the module
replicates generated rows into every sample table, starts the reconcile_timer role's service once (a consistent run,
see monitoring_helpers.replicate_intended_state) and waits for its textfile metrics in Prometheus before any query
runs.

"While the pipeline runs": for the whole module a background thread writes the heartbeat row's change events
(tests/support/cdcgen, as the source connector's heartbeat.action.query would) once a second into Kafka, so the
heartbeat lag, the change-topic throughput and the sink's rates have data even when this file runs first.

Env: SLUICE_PROMETHEUS_URL (default http://127.0.0.1:19590). When it does not answer, the tests skip, unless
SLUICE_E2E_SUITE is 'monitoring' (then they fail). SLUICE_KAFKA_BOOTSTRAP (default 127.0.0.1:19292, the scenario's
loopback listener) for the heartbeats. SLUICE_DASHBOARD_WAIT: seconds to keep retrying queries that return no series
(default 150: the heartbeat must replicate and rates need two scrapes).
"""
import json
import os
import pathlib
import re
import threading
import time

import pytest
import requests

from conftest import kafka_client

ROOT = pathlib.Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "roles" / "grafana" / "files" / "dashboards").glob("*.json"))
PROMETHEUS = os.environ.get("SLUICE_PROMETHEUS_URL", "http://127.0.0.1:19590").rstrip("/")
KAFKA = os.environ.get("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:19292")
WAIT = float(os.environ.get("SLUICE_DASHBOARD_WAIT", "150"))
GLOBALS = {"__rate_interval": "2m", "__interval": "30s", "__interval_ms": "30000", "__range": "1h",
           "__range_s": "3600", "__range_ms": "3600000"}
# metric family prefix -> why it may be absent in the scenario
MAY_BE_ABSENT = {
    "debezium_metrics_": "the Debezium SQL Server source cannot run here (no SQL Server): no Debezium metrics",
    "kafka_connect_source_task_": "the SQL Server source connector is validated, never started: no source task",
}


def panel_queries():
    """(dashboard uid, panel title, refId, expr with variables substituted) for every target of every panel."""
    out = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        values = dict(GLOBALS)
        for var in board.get("templating", {}).get("list", []):
            current = (var.get("current") or {}).get("value")
            if isinstance(current, list):
                current = current[0] if len(current) == 1 else None
            if var["type"] in ("custom", "constant", "textbox") and current and current != "$__all":
                values[var["name"]] = current
            else:
                values[var["name"]] = var.get("allValue") or ".+"
        stack = list(board["panels"])
        while stack:
            panel = stack.pop(0)
            stack[0:0] = panel.get("panels", [])
            for target in panel.get("targets", []):
                expr = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), target["expr"])
                out.append((board["uid"], panel["title"], target["refId"], expr))
    return out


QUERIES = panel_queries()


@pytest.fixture(scope="module")
def prometheus():
    try:
        ready = requests.get(f"{PROMETHEUS}/-/ready", timeout=5)
        reason = None if ready.status_code == 200 else f"HTTP {ready.status_code}"
    except requests.RequestException as exc:
        reason = str(exc)
    if reason:
        msg = f"Prometheus at {PROMETHEUS} is not reachable ({reason}); set SLUICE_PROMETHEUS_URL"
        if os.environ.get("SLUICE_E2E_SUITE") == "monitoring":
            pytest.fail(msg)
        pytest.skip(msg + " (outside the monitoring scenario)")
    return PROMETHEUS


class Heartbeats(threading.Thread):
    """The heartbeat row's updates, once a second, until stopped."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True, name="dashboards-heartbeat")
        from tests.support.cdcgen import Generator, Heartbeat, KafkaSink
        self.heartbeat = Heartbeat(Generator())
        self.sink = KafkaSink(bootstrap, config=kafka_client(bootstrap))
        self.stopped = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopped.is_set():
                self.sink.send_all(self.heartbeat.beat())
                self.sink.flush(30)
                self.stopped.wait(1.0)
        except Exception as exc:  # noqa: BLE001 - reported by the fixture
            self.error = exc

    def stop(self):
        self.stopped.set()
        self.join(timeout=60)


@pytest.fixture(scope="module")
def reconciled(prometheus):
    """One consistent run of the scheduled reconciliation, its metrics scraped (the reconciliation panels)."""
    from monitoring_helpers import reconcile_run, replicate_intended_state, wait_for_reconcile_metrics
    replicate_intended_state(count=100, seed=7)
    status, report = reconcile_run()
    assert status == 0 and report["status"] == "consistent", report
    assert wait_for_reconcile_metrics(report) == 0


@pytest.fixture(scope="module")
def pipeline_running(prometheus, reconciled):
    beats = Heartbeats(KAFKA)
    beats.start()
    yield prometheus
    beats.stop()
    assert beats.error is None, f"writing heartbeats to {KAFKA} failed: {beats.error}"


def instant_query(base, expr):
    """(error or None, result list)."""
    r = requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=30)
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code != 200 or body.get("status") != "success":
        return f"HTTP {r.status_code} {body.get('errorType', '')}: {body.get('error', r.text[:300])}", []
    return None, body["data"]["result"]


def absent_family(base, expr):
    """The reason a query may return nothing: a family it uses that may legitimately be absent, and is."""
    for prefix, reason in MAY_BE_ABSENT.items():
        if prefix in expr:
            _, found = instant_query(base, f'count({{__name__=~"{prefix}.+"}})')
            if not found:
                return reason
    return None


def test_every_dashboard_has_queries():
    assert len(DASHBOARDS) == 4 and len(QUERIES) > 40


@pytest.mark.parametrize("uid,title,ref,expr", QUERIES, ids=[f"{q[0]}:{q[1]}:{q[2]}" for q in QUERIES])
def test_panel_query_runs_and_returns_series(pipeline_running, uid, title, ref, expr):
    prometheus = pipeline_running
    deadline = time.monotonic() + WAIT
    while True:
        error, result = instant_query(prometheus, expr)
        assert error is None, f"{uid} / {title} ({ref}): {error}\n{expr}"
        if result:
            return
        reason = absent_family(prometheus, expr)
        if reason:
            pytest.skip(f"{uid} / {title}: {reason}")
        if time.monotonic() >= deadline:
            pytest.fail(f"{uid} / {title} ({ref}) returned no series after {WAIT:.0f}s while the pipeline runs:\n{expr}")
        time.sleep(5)
