"""Traces: the Connect worker of the monitoring scenario runs the OpenTelemetry Java agent with the logging exporter
(kafka_connect_otel_enabled: true, kafka_connect_otel_exporter: logging), which writes one line per finished span to
the worker's standard error, so to the journal of kafka-connect. No collector or Jaeger is needed to prove that spans
are made: REST calls must give SERVER spans, and the worker's Kafka clients must give producer/consumer spans.

Env: SLUICE_CONNECT_CONTAINER (default sluice-mon-connect). Outside the monitoring suite (SLUICE_E2E_SUITE not
'monitoring') the tests skip when the container is not there; inside it they fail.
"""
import datetime
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import connect_api
from monitoring_helpers import CONNECT

CONTAINER = os.environ.get("SLUICE_CONNECT_CONTAINER", "sluice-mon-connect")
SPAN_LINE = re.compile(r"LoggingSpanExporter - '(?P<name>[^']*)' : (?P<trace>[0-9a-f]{32}) (?P<span>[0-9a-f]{16}) "
                       r"(?P<kind>[A-Z]+) \[tracer: (?P<tracer>[^:\]]+)")
WAIT_SECONDS = 60


def docker_exec(*argv, timeout=60):
    return subprocess.run(["docker", "exec", CONTAINER, *argv], capture_output=True, text=True, check=False,
                          timeout=timeout)


@pytest.fixture(scope="module")
def connect_container():
    try:
        probe = docker_exec("systemctl", "is-active", "kafka-connect", timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        probe = None
        reason = f"docker exec {CONTAINER} failed: {exc}"
    else:
        reason = f"container {CONTAINER}: kafka-connect is {probe.stdout.strip() or probe.stderr.strip()!r}"
    if probe is None or probe.returncode != 0:
        if os.environ.get("SLUICE_E2E_SUITE") == "monitoring":
            pytest.fail(reason)
        pytest.skip(f"{reason} (run inside the monitoring scenario: SLUICE_E2E_SUITE=monitoring)")
    deadline = time.monotonic() + 180  # a worker with the agent takes a while to open its REST port
    while not rest_get("/")[0]:
        assert time.monotonic() < deadline, f"the REST API of {CONTAINER} does not answer"
        time.sleep(3)
    return CONTAINER


def spans_since(since, unit="kafka-connect"):
    out = docker_exec("journalctl", "-u", unit, "--no-pager", "-o", "cat", "--since", since)
    assert out.returncode == 0, out.stderr
    return [m.groupdict() for m in SPAN_LINE.finditer(out.stdout)]


def rest_get(path):
    """GET on the worker's REST API (published on the host's loopback), as the scenario's REST user; returns
    (ok, status or error)."""
    try:
        answer = connect_api().get(CONNECT + path, timeout=30)
    except requests.RequestException as exc:
        return False, str(exc)
    return answer.status_code == 200, answer.status_code


def test_agent_is_loaded_with_the_logging_exporter(connect_container):
    cmdline = docker_exec("systemctl", "show", "kafka-connect", "-p", "ExecStart", "--value")
    assert "-javaagent:" in cmdline.stdout and "opentelemetry-javaagent" in cmdline.stdout, cmdline.stdout
    conf = docker_exec("cat", "/etc/kafka-connect/otel.properties")
    assert conf.returncode == 0, conf.stderr
    assert re.search(r"^otel\.traces\.exporter=(logging|console)$", conf.stdout, re.M), conf.stdout


def test_rest_calls_produce_server_spans(connect_container):
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)).strftime(
        "%Y-%m-%d %H:%M:%S UTC")
    for path in ("/", "/connectors", "/connectors?expand=status", "/connector-plugins"):
        ok, status = rest_get(path)
        assert ok, (path, status)
    deadline = time.monotonic() + WAIT_SECONDS
    server = []
    while time.monotonic() < deadline:
        server = [s for s in spans_since(since) if s["kind"] == "SERVER"]
        if any("/connectors" in s["name"] or s["name"].startswith("GET") for s in server):
            break
        time.sleep(2)
    assert server, f"no SERVER span in the kafka-connect journal of {CONTAINER} since {since}"
    assert all(len(s["trace"]) == 32 for s in server)


def test_kafka_clients_of_the_worker_produce_spans(connect_container):
    """The worker's own producers (status, config, offsets topics) and the sink's consumer are instrumented."""
    started = docker_exec("systemctl", "show", "kafka-connect", "-p", "ActiveEnterTimestamp", "--value").stdout.strip()
    since = started or "-1h"
    # a connector restart writes to the status topic: a PRODUCER span even on an idle pipeline
    ok, status = rest_get("/connectors")
    assert ok, status
    deadline = time.monotonic() + WAIT_SECONDS
    kafka = []
    while time.monotonic() < deadline:
        kafka = [s for s in spans_since(since) if "kafka" in s["tracer"]]
        if kafka:
            break
        time.sleep(3)
    assert kafka, f"no span from the Kafka client instrumentation in the kafka-connect journal of {CONTAINER}"
    assert {s["kind"] for s in kafka} & {"PRODUCER", "CONSUMER"}
