"""The `cluster` scenario (molecule/cluster): three combined KRaft nodes, two Connect workers, PostgreSQL, all
published on the host's loopback. Helpers of the fault suite: the steady load, the watcher of task states and task
starts, "caught up" from the sink's committed offsets, and the row-by-row comparison with the generator's intended
source state (the comparison rules of tests/e2e/pipeline/helpers.py: temporal values rounded to microseconds,
uniqueidentifier upper-case text, real at single precision; everything else exact).
"""
import dataclasses
import subprocess
import threading
import time

import requests
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from conftest import connect_api, kafka_client, pg_session
from tests.e2e.pipeline.helpers import expected_rows, table_rows
from tests.support.cdcgen import Generator, KafkaSink, workload

KAFKA_NODES = ["sluice-cl-kafka-1", "sluice-cl-kafka-2", "sluice-cl-kafka-3"]
BOOTSTRAP = "127.0.0.1:19391,127.0.0.1:19392,127.0.0.1:19393"
WORKERS = {"sluice-cl-connect-1": "https://127.0.0.1:18281", "sluice-cl-connect-2": "https://127.0.0.1:18282"}
PG_CONTAINER = "sluice-cl-pg"
PG_SERVICE = "postgresql@15-main"
SINK = "sluice-postgres-sink"
SINK_GROUP = f"connect-{SINK}"
DLQ_TOPIC = "sluice.dlq"
SAMPLE_TABLES = ("customers", "orders", "line_items", "inventory_levels", "all_types")
TOPICS = [f"sluice.sluice_demo.dbo.{t}" for t in SAMPLE_TABLES]
RATE = 1100  # events/s the load paces at (the issue asks for at least 1,000)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(container, *argv, check=True):
    out = subprocess.run(["docker", "exec", container, *argv], capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"docker exec {container} {' '.join(argv)}: rc {out.returncode}: {out.stderr.strip()}")
    return out


def container_ip(container, network="sluice-cluster"):
    out = subprocess.run(["docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
                          container], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def pg_connect():
    return pg_session(15632)


def psql_admin(sql):
    return sh(PG_CONTAINER, "su", "postgres", "-c", f'psql -v ON_ERROR_STOP=1 -At -d sluice -c "{sql}"').stdout


def wait_for(predicate, timeout, what, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- Connect ------------------------------------------------------------------------------------------------------
def sink_status(workers=None):
    """The sink's status from the first worker that answers (None if none does)."""
    for url in (workers or WORKERS.values()):
        try:
            resp = connect_api().get(f"{url}/connectors/{SINK}/status", timeout=5)
            if resp.status_code == 200:
                return resp.json()
        except requests.RequestException:
            continue
    return None


def task_view(status):
    """{task id: (state, worker host)} of a status document."""
    return {t["id"]: (t["state"], t["worker_id"].split(":")[0]) for t in (status or {}).get("tasks", [])}


def sink_healthy(status, spread=True):
    """The connector and its (at least two) tasks RUNNING — with `spread`, on both workers."""
    view = task_view(status)
    return bool(status and status["connector"]["state"] == "RUNNING" and len(view) >= 2
                and all(state == "RUNNING" for state, _ in view.values())
                and (not spread or {w for _, w in view.values()} == set(WORKERS)))


def supervisor_restarts():
    """sluice_supervisor_task_restarts_total summed over both workers' supervisors (only the active one acts);
    None where no supervisor is deployed. Read inside the containers: its metrics port is not published."""
    total, found = 0.0, False
    for worker in WORKERS:
        out = sh(worker, "python3", "-c", "import urllib.request; print(urllib.request.urlopen("
                 "'http://127.0.0.1:9406/metrics', timeout=5).read().decode())", check=False).stdout
        for line in out.splitlines():
            if line.startswith("sluice_supervisor_up"):
                found = True
            if line.startswith("sluice_supervisor_task_restarts_total"):
                total += float(line.rsplit(" ", 1)[1])
    return total if found else None


class Watcher(threading.Thread):
    """Polls the sink's status every second while a case runs: the task states over time (every change, with the
    first line and root cause of a failed task's trace) and the task (re)starts seen — a task RUNNING again after
    another state, or RUNNING on another worker. (Connect's task-startup-attempts-total reads 0 through the JMX
    exporter here even after tasks started, so it is not used.) The supervisor's restart counter is read at start
    and stop."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.started_at = time.monotonic()
        self.timeline = []        # (seconds since start, {task: (state, worker)}, connector state)
        self.traces = []
        self.starts = 0
        self.non_running_seen = False
        self._last_view = None
        self._last_tasks = task_view(sink_status())
        self.supervisor_before = supervisor_restarts()
        self.supervisor = None

    def run(self):
        while not self.stopping.wait(1.0):
            self.sample()

    def sample(self):
        status = sink_status()
        view = task_view(status)
        connector = status["connector"]["state"] if status else "UNREACHABLE"
        if (view, connector) != self._last_view:
            self._last_view = (view, connector)
            self.timeline.append((round(time.monotonic() - self.started_at, 1), view, connector))
        if connector != "RUNNING" or any(state != "RUNNING" for state, _ in view.values()):
            self.non_running_seen = True
        for task in (status or {}).get("tasks", []):
            if task.get("trace"):
                lines = task["trace"].strip().splitlines()
                causes = [line for line in lines if line.startswith("Caused by:")]
                summary = lines[0][:200] + (f" ... {causes[-1][:300]}" if causes else "")
                if summary not in self.traces:
                    self.traces.append(summary)
        if status is not None:
            for task, (state, worker) in view.items():
                before = self._last_tasks.get(task)
                if state == "RUNNING" and before != ("RUNNING", worker):  # also after STOPPED (no tasks)
                    self.starts += 1
            self._last_tasks = view

    def stop(self):
        self.stopping.set()
        self.join(10)
        self.sample()
        after = supervisor_restarts()
        if after is not None:
            self.supervisor = int(after - (self.supervisor_before or 0))

    def report(self):
        lines = [f"  t+{t:>6.1f}s connector {c}: "
                 + ", ".join(f"task {i} {s} on {w}" for i, (s, w) in sorted(v.items())) for t, v, c in self.timeline]
        return "\n".join(lines + [f"  trace: {t}" for t in self.traces])


# --- Kafka offsets: "caught up" -----------------------------------------------------------------------------------
class Offsets:
    def __init__(self):
        self.admin = AdminClient(kafka_client(BOOTSTRAP))
        self.consumer = Consumer({**kafka_client(BOOTSTRAP), "group.id": "sluice-e2e-cluster-offsets",
                                  "enable.auto.commit": False})
        meta = self.admin.list_topics(timeout=10)
        self.partitions = [TopicPartition(t, p) for t in TOPICS for p in sorted(meta.topics[t].partitions)]

    def end(self, timeout=120):
        """{(topic, partition): high watermark} of the table topics. Retried while a broker fault moves leaders
        (a request to a dead leader times out until the client learns the new one)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = AdminClient(kafka_client(BOOTSTRAP))
                futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in self.partitions},
                                             request_timeout=10)
                return {(tp.topic, tp.partition): f.result(timeout=15).offset for tp, f in futures.items()}
            except Exception:  # noqa: BLE001 - KafkaException or a timeout: the leaders are moving
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def committed(self):
        """{(topic, partition): offset} the sink has committed (it commits only what it has written); None when
        they cannot be read just now. A fresh admin client each time: after a broker was killed, a long-lived one
        kept failing to find the group coordinator here although the group had one."""
        admin = AdminClient(kafka_client(BOOTSTRAP))
        try:
            futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(SINK_GROUP)],
                                                        request_timeout=10)
            result = futures[SINK_GROUP].result(timeout=15)
        except Exception:  # noqa: BLE001 - the coordinator moving (broker fault): try again on the next poll
            return None
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}

    def behind(self, target):
        """Records the sink has not committed of `target` (None while the committed offsets cannot be read)."""
        if target is None:
            return None
        committed = self.committed()
        if committed is None:
            return None
        return sum(max(0, end - max(committed.get(key, 0), 0)) for key, end in target.items())

    def close(self):
        self.consumer.close()


# --- the load -----------------------------------------------------------------------------------------------------
class Load(threading.Thread):
    """The generator writing change events (inserts, updates, deletes with tombstones, transactions) over all sample
    tables at RATE events/s until stopped; the intended source state is kept by `self.gen`."""

    def __init__(self, seed):
        super().__init__(daemon=True)
        self.gen = Generator()
        self.sink = KafkaSink(BOOTSTRAP, config=kafka_client(BOOTSTRAP, **{"message.timeout.ms": 600000}))
        self.seed = seed
        self.stopping = threading.Event()
        self.summary = None
        self.error = None

    def run(self):
        try:
            self.summary = workload(10 ** 9, seed=self.seed, generator=self.gen, sink=self.sink, rate=RATE,
                                    progress=None, stop=self.stopping.is_set)
        except Exception as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def stop(self):
        self.stopping.set()
        self.join(300)
        assert not self.is_alive(), "the load did not finish delivering within 300 s"
        assert self.error is None, f"the load failed: {self.error}"
        return self.summary


# --- comparison -----------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Comparison:
    rows: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    examples: list = dataclasses.field(default_factory=list)

    @property
    def equal(self):
        return self.missing == self.extra == self.different == 0


def compare(pg, gen, extra=()):
    """Every row of the generator's intended source state (plus the rows of the `extra` generators, which wrote
    other keys) against PostgreSQL, row by row, value by value."""
    result = Comparison()
    state = gen.sink_state()
    for other in extra:
        for name, rows_ in other.sink_state().items():
            state.setdefault(name, {}).update(rows_)
    for name in SAMPLE_TABLES:
        table = gen.tables[name]
        expected = expected_rows(table, state[name])
        actual = table_rows(pg, table)
        result.rows += len(expected)
        for key in expected.keys() - actual.keys():
            result.missing += 1
            if len(result.examples) < 5:
                result.examples.append(f"missing {name}{key}")
        for key in actual.keys() - expected.keys():
            result.extra += 1
            if len(result.examples) < 5:
                result.examples.append(f"extra {name}{key}")
        for key in expected.keys() & actual.keys():
            if expected[key] != actual[key]:
                result.different += 1
                if len(result.examples) < 5:
                    diff = {c: (expected[key][c], actual[key][c]) for c in expected[key]
                            if expected[key][c] != actual[key][c]}
                    result.examples.append(f"different {name}{key}: {diff}")
    return result
