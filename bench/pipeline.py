#!/usr/bin/env python3
"""Pipeline benchmark against the running demo (`make demo`): sink throughput, PostgreSQL's own upsert limit, lag.

Prints figures; asserts nothing. Change events come from tests/support/cdcgen (SQL Server cannot run here): mixed
inserts, updates and deletes over the five sample tables (incl. the 24-column all_types), encoded ahead into spool
files (bench/pipeline_events.py) and sent by one confluent-kafka producer. Phases (docs/performance.md):

  sink   the sink alone: connector paused, every event produced, resumed; the clock starts once its tasks have been
         RUNNING and unchanged for --settle s. rows/s = n_tup_ins + n_tup_upd + n_tup_del of the target tables
         (pg_stat_user_tables) over the window; the end is when the marker each partition got last is in PostgreSQL.
  limit  PostgreSQL alone on the same rows, on scratch copies (schema bench_limit): COPY into a temp table +
         INSERT ... ON CONFLICT, 5,000 rows per transaction, and multi-row INSERT ... VALUES ... ON CONFLICT;
         the best of them, and the ratio sink / limit.
  e2e    the same events again (tables truncated first) with the sink running: first send to last marker.
  lag    stepped rates: source.ts_ms (= the send time) -> the row's commit in PostgreSQL, by
         pg_xact_commit_timestamp(xmin) when track_commit_timestamp is on, else by polling sampled new keys.

--formats json,avro runs the sink, e2e and lag phases once per format. json: the demo's own sink and topics, the
schema inside every message. avro: the same events transcoded for Apicurio Registry's converter
(bench/pipeline_avro.py; schemas registered in the demo's registry), Avro topics of their own (prefix sluice.avro)
and a second sink with the connectors role's converter settings for connectors_serialization avro, created for the
run and removed after it (topics too), writing into the same tables.

CPU seconds and peak resident memory of the Kafka, Connect and PostgreSQL containers are read from their cgroup v2
files over each measured window.

    .venv/bin/python bench/pipeline.py [--quick] [--events 1000000] [--rates 1000,5000,10000,20000]
                                       [--step-seconds 20] [--phases sink,limit,e2e,lag] [--formats json,avro]
                                       [--repeat N] [--profile] [--json FILE]

--repeat runs the sink phase N times and reports the median run with every run's figures; --profile records the
Connect worker with JFR during each sink window and prints where its sink tasks spend their time
(bench/pipeline_profile.py).
"""
from __future__ import annotations

import argparse
import json
import mmap
import multiprocessing
import os
import pathlib
import subprocess
import sys
import threading
import time

import psycopg
import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "collections")]
from ansible_collections.sluice.cdc.plugins.module_utils.table_map import sink_routes  # noqa: E402
from bench import pipeline_events as ev  # noqa: E402
from bench import pipeline_stats as st  # noqa: E402
from bench.pipeline_profile import ConnectProfile  # noqa: E402
from tests.support.cdcgen import DEFAULT_PRODUCER_CONFIG, TABLES, Generator  # noqa: E402
from tests.support.kafka_login import kafka_admin_settings  # noqa: E402

KAFKA, CONNECT, PG_PORT = "127.0.0.1:19192", "https://127.0.0.1:18083", 15432
REGISTRY = "https://127.0.0.1:18181"   # the demo's registry, published on the loopback
REGISTRY_IN_NETWORK = "https://sluice-connect:8081/apis/registry/v2"  # as the Connect worker reaches it
AVRO_PREFIX = "sluice.avro"   # inside the workers' topic ACLs (prefix "sluice."); an Avro name: no hyphen
AVRO_CONNECTOR = "sluice-avro-bench-sink"
SECRETS = pathlib.Path(os.environ.get("SLUICE_SECRETS_DIR") or ROOT / ".cache" / "secrets")
CACHE = ROOT / ".cache" / "bench"
CONNECT_USER = "sluice"   # sluice_connect_username in inventories/demo
CONTAINERS = {"kafka": "sluice-kafka", "connect": "sluice-connect", "postgresql": "sluice-pg"}
# A backend that flushed its statistics less than 1 s ago and then goes idle reports the rest after 10 s
# (PostgreSQL 15 PGSTAT_MIN_INTERVAL / PGSTAT_IDLE_INTERVAL): counters are final once unchanged this long.
STATS_QUIET_S = 11
MACHINE_SPEED_S = 2.0                  # the machine-speed probe: long enough to be steady, short at start-up
LIMIT_BATCH = 5000
MAX_BIND_PARAMS = 65535
SINK_KNOBS = ("tasks.max", "batch.size", "consumer.override.max.poll.records", "consumer.override.fetch.min.bytes",
              "consumer.override.fetch.max.bytes", "consumer.override.max.partition.fetch.bytes",
              "use.reduction.buffer", "dialect.postgres.unnest.insert.enabled", "connection.url")
PG_SETTINGS = ("synchronous_commit", "track_commit_timestamp", "shared_buffers", "max_wal_size", "wal_compression",
               "checkpoint_timeout")
STARTED = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - STARTED:7.1f}s] {msg}", file=sys.stderr, flush=True)


def secret(name):
    return (SECRETS / name).read_text().strip()


def psql_admin(sql):
    subprocess.run(["docker", "exec", "-i", "sluice-pg", "su", "postgres", "-c",
                    "psql -q -v ON_ERROR_STOP=1 -d sluice"], input=sql, text=True, check=True, capture_output=True)


def pg_connect(**settings):
    return psycopg.connect(host="127.0.0.1", port=PG_PORT, dbname="sluice", user="sluice_sink",
                           password=secret("postgres_sink_password"), sslmode="verify-full",
                           sslrootcert=str(SECRETS / "pki" / "ca.crt"), autocommit=True, **settings)


def query(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# --- PostgreSQL: counters, markers ------------------------------------------------------------------------------
def table_stats(conn):
    rows = query(conn, "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                       "WHERE schemaname = 'cdc' AND relname = ANY(%s)", (list(ev.TABLE_NAMES),))
    return {name: (ins, upd, dele) for name, ins, upd, dele in rows}


def pg_activity(conn):
    """PostgreSQL's own work beside the sink's statements, which moves its CPU seconds from run to run: autovacuum
    and autoanalyze runs on the five tables, checkpoints, and the WAL position."""
    (vacuums, analyzes), = query(conn, "SELECT sum(autovacuum_count), sum(autoanalyze_count) FROM pg_stat_user_tables "
                                       "WHERE schemaname = 'cdc' AND relname = ANY(%s)", (list(ev.TABLE_NAMES),))
    (checkpoints, wal), = query(conn, "SELECT checkpoints_timed + checkpoints_req, "
                                      "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') FROM pg_stat_bgwriter")
    return {"autovacuums": int(vacuums or 0), "autoanalyzes": int(analyzes or 0), "checkpoints": int(checkpoints),
            "wal_bytes": int(wal)}


def wait_stats_quiet(conn, quiet=STATS_QUIET_S, timeout=120):
    """pg_stat_user_tables once no counter moved for ``quiet`` seconds (every backend has reported)."""
    stats, since, deadline = table_stats(conn), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.5)
        now = table_stats(conn)
        if now != stats:
            stats, since = now, time.monotonic()
    return stats


def next_counter_step(conn, timeout=5.0):
    """(time, stats) at the next change of the counters: a backend has just flushed, so the reading is fresh."""
    first, deadline = table_stats(conn), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = table_stats(conn)
        if now != first:
            return time.monotonic(), now
        time.sleep(0.05)
    return time.monotonic(), first


def row_counts(conn):
    return {t: query(conn, f"SELECT count(*) FROM cdc.{t}")[0][0] for t in ev.TABLE_NAMES}


def markers_seen(conn, keys):
    return sum(len(query(conn, ev.keys_query(t), ev.key_arrays(k))) for t, k in keys.items())


def wait_markers(conn, keys, timeout, label, base_ops=None):
    """Wait until every marker row is in PostgreSQL; returns (time, [(time, ops)] sampled each second)."""
    total, deadline, samples, last_log = sum(len(k) for k in keys.values()), time.monotonic() + timeout, [], 0.0
    while True:
        now = time.monotonic()
        if markers_seen(conn, keys) == total:
            return now, samples
        if now > deadline:
            raise SystemExit(f"{label}: not every event reached PostgreSQL within {timeout:.0f} s "
                             "(see the sink's status and the dead-letter topic)")
        if base_ops is not None and (not samples or now - samples[-1][0] >= 1):
            samples.append((now, st.ops_total(table_stats(conn)) - base_ops))
            if now - last_log >= 5:
                last_log = now
                rates = st.rate_series(samples[-6:])
                log(f"{label}: {samples[-1][1]:,} row operations so far"
                    + (f", {sum(rates) / len(rates):,.0f}/s" if rates else ""))
        time.sleep(0.1)


def truncate(conn):
    conn.execute("TRUNCATE " + ", ".join(f"cdc.{t}" for t in ev.TABLE_NAMES))


# --- Kafka Connect ----------------------------------------------------------------------------------------------
class Connect:
    def __init__(self, name):
        self.name, self.http = name, requests.Session()
        self.http.auth = (CONNECT_USER, secret("connect_rest_password"))
        self.http.verify = str(SECRETS / "pki" / "ca.crt")   # HTTPS from the demo's internal CA
        self.http.trust_env = False   # else $REQUESTS_CA_BUNDLE replaces verify (psf/requests#3829)

    def get(self, what):
        response = self.http.get(f"{CONNECT}/connectors/{self.name}/{what}", timeout=10)
        response.raise_for_status()
        return response.json()

    def put(self, action):
        self.http.put(f"{CONNECT}/connectors/{self.name}/{action}", timeout=30).raise_for_status()

    def wait(self, state, settle, timeout=300):
        """Until the connector and all tasks are in ``state`` and their ids, states and workers have not changed
        for ``settle`` seconds (a task restarted by a reconfiguration or a rebalance must not be measured)."""
        since, signature, deadline = None, None, time.monotonic() + timeout
        while True:
            try:
                status = self.get("status")
            except requests.RequestException:
                status = None
            now = time.monotonic()
            if st.all_in_state(status, state):
                if since is None or st.task_signature(status) != signature:
                    since, signature = now, st.task_signature(status)
                if now - since >= settle:
                    return status
            else:
                since = None
                failed = [t for t in (status or {}).get("tasks", []) if t.get("state") == "FAILED"]
                if failed:
                    raise SystemExit(f"{self.name}: task(s) FAILED: {failed[0].get('trace', '')[:2000]}")
            if now > deadline:
                raise SystemExit(f"{self.name} not {state} within {timeout} s; last status {status}")
            time.sleep(0.5)


# --- resources --------------------------------------------------------------------------------------------------
def cgroup_reader(container):
    """A function returning the container's cpu.stat + memory.stat: read on the host when its cgroup directory is
    visible (cheap), else through `docker exec` (reads only)."""
    files = ("cpu.stat", "memory.stat")
    ident = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container], capture_output=True, text=True,
                           check=True).stdout.strip()
    for directory in (f"/sys/fs/cgroup/system.slice/docker-{ident}.scope", f"/sys/fs/cgroup/docker/{ident}"):
        if all((pathlib.Path(directory) / f).exists() for f in files):
            return lambda: "".join((pathlib.Path(directory) / f).read_text() for f in files)
    cpu_v1 = pathlib.Path(f"/sys/fs/cgroup/cpuacct/docker/{ident}/cpuacct.usage")
    mem_v1 = pathlib.Path(f"/sys/fs/cgroup/memory/docker/{ident}/memory.stat")
    if cpu_v1.exists() and mem_v1.exists():   # cgroup v1 host (Docker's cgroupfs driver)
        return lambda: st.cgroup_v1_as_v2(cpu_v1.read_text(), mem_v1.read_text())
    argv = ["docker", "exec", container, "cat"] + [f"/sys/fs/cgroup/{f}" for f in files]
    return lambda: subprocess.run(argv, capture_output=True, text=True, check=True).stdout


class Resources:
    """Samples every component each ``interval`` seconds between start() and stop()."""

    def __init__(self, interval):
        self.interval, self.readers, self.error = interval, {}, None
        try:
            self.readers = {name: cgroup_reader(c) for name, c in CONTAINERS.items()}
            for read in self.readers.values():
                st.resource_sample(read())
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            self.error = f"not measured: {e}"
        self.samples, self._stop, self._thread, self.failure = [], threading.Event(), None, None

    def _sample(self):
        self.samples.append((time.monotonic(), {n: st.resource_sample(r()) for n, r in self.readers.items()}))

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except (OSError, subprocess.CalledProcessError, ValueError) as e:
                self.failure = str(e)
                return

    def start(self):
        if self.error:
            return
        self.samples, self._stop, self.failure = [], threading.Event(), None
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        if self.error:
            return {"error": self.error}
        self._stop.set()
        self._thread.join()
        try:
            self._sample()
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            self.failure = str(e)
        if self.failure:
            return {"error": f"sampling failed: {self.failure}"}
        return st.window_resources(self.samples)


# --- producing --------------------------------------------------------------------------------------------------
class Sender:
    def __init__(self, linger_ms):
        from confluent_kafka import Producer

        # zstd as the topics: the broker keeps the producer's batches instead of recompressing them.
        self.producer = Producer({"bootstrap.servers": KAFKA, **DEFAULT_PRODUCER_CONFIG,
                                  **kafka_admin_settings(SECRETS), "linger.ms": linger_ms, "batch.size": 1_000_000,
                                  "compression.type": "zstd", "queue.buffering.max.messages": 500_000,
                                  "queue.buffering.max.kbytes": 1_048_576})
        self.sent = self.failed = 0
        self.error = None

    def _delivered(self, err, _msg):
        if err is not None:
            self.failed += 1
            self.error = str(err)

    def produce(self, topic, key, value, partition=-1):
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, partition=partition, on_delivery=self._delivered)
                break
            except BufferError:   # local queue full: let librdkafka send, then retry
                self.producer.poll(0.05)
        self.sent += 1
        if self.sent % 1000 == 0:
            self.producer.poll(0)

    def flush(self):
        if self.producer.flush(300) or self.failed:
            raise SystemExit(f"producer: {self.failed} record(s) failed ({self.error}) or undelivered")

    def partitions(self, topics):
        meta = self.producer.list_topics(timeout=15).topics
        missing = [t for t in topics if t not in meta or meta[t].error is not None]
        if missing:
            raise SystemExit(f"topics missing: {missing}: run `make demo` first")
        return {t: len(meta[t].partitions) for t in topics}


def send_spools(sender, paths, topics, stamp, rate=None, on_event=None, label="send"):
    """Send the spooled records (tombstones included), stamping each with the send time; paced to ``rate``
    events/s when given. Returns (events, seconds until every record was acknowledged)."""
    start = last_log = time.monotonic()
    events = 0
    for path in paths:
        if os.path.getsize(path) == 0:
            continue
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            for index, op, key, value in ev.read_frames(buf):
                if value is not None:
                    if rate:
                        ahead = start + events / rate - time.monotonic()
                        if ahead > 0.001:   # sleep in >= 1 ms steps: finer sleeps cost more than they pace
                            time.sleep(ahead)
                    now_ms = time.time_ns() // 1_000_000
                    value = stamp(value, now_ms)
                    events += 1
                    if on_event:
                        on_event(index, op, key, now_ms)
                sender.produce(topics[index], key, value)
                if events % 10_000 == 0 and time.monotonic() - last_log >= 5:
                    last_log = time.monotonic()
                    log(f"{label}: {events:,} events sent, {events / (last_log - start):,.0f}/s")
    sender.flush()
    return events, time.monotonic() - start


def send_markers(sender, fmt, phase, partitions):
    by_table = dict(zip(ev.TABLE_NAMES, fmt.topics))
    for table, partition, key, value in ev.markers(phase, {t: partitions[by_table[t]] for t in ev.TABLE_NAMES}):
        key, value = fmt.encode(by_table[table], key, value)
        sender.produce(by_table[table], key, fmt.stamp(value, time.time_ns() // 1_000_000), partition)
    sender.flush()
    return ev.marker_keys(phase, {t: partitions[by_table[t]] for t in ev.TABLE_NAMES})


# --- formats ----------------------------------------------------------------------------------------------------
class JsonFormat:
    """The demo's own sink and topics: the spooled records as they are."""
    name = "json"

    def __init__(self, connector):
        self.connector = connector
        self.topics = [Generator().encoder.topic(t) for t in ev.TABLE_NAMES]
        self.stamp = ev.stamp
        self.key_of = ev.key_of

    def paths(self, specs):
        return [str(ev.spool_path(CACHE, *spec)) for spec in specs]

    def encode(self, _topic, key, value):
        return key, value

    def setup(self, _json_config, _partitions, _json_paths, _workers):
        return {}

    def teardown(self):
        pass


def registry_session():
    session = requests.Session()
    session.verify = str(SECRETS / "pki" / "ca.crt")
    session.trust_env = False
    return session


def avro_converters():
    """The connectors role's converter settings for connectors_serialization avro, from the role's own variables
    (tests/e2e/pipeline/test_avro.py proves the same settings end to end)."""
    from tests.support.templating import role_vars  # pylint: disable=import-outside-toplevel

    return role_vars(ROOT / "roles" / "connectors", strict=False, connectors_serialization="avro",
                     connectors_schema_registry_url=REGISTRY_IN_NETWORK)["__connectors_converter_config"]


def avro_sink_config(json_config, topics_by_table):
    """A sink like the JSON one (its config as Connect returns it), reading Avro topics into the same tables."""
    config = {k: v for k, v in json_config.items() if not k.startswith("transforms") and k != "name"}
    config.update(sink_routes([{"topic": topic, "target": table} for table, topic in topics_by_table.items()]))
    config.update(avro_converters())
    config["topics"] = ",".join(topics_by_table.values())
    return config


def transcode_spool(spec):
    """Write the Avro spool of one JSON spool (runs in a worker process); return (records, JSON bytes, Avro bytes)
    of the keys and values."""
    from bench import pipeline_avro as pa  # pylint: disable=import-outside-toplevel

    json_path, avro_path = spec
    topics = [Generator(prefix=AVRO_PREFIX).encoder.topic(t) for t in ev.TABLE_NAMES]
    transcoder = pa.AvroTranscoder(pa.ApicurioRegistrar(registry_session(), REGISTRY))
    records = json_bytes = avro_bytes = 0
    with open(json_path, "rb") as f, open(avro_path + ".part", "wb") as out:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if os.path.getsize(json_path) else b""
        for index, op, key, value in ev.read_frames(buf):
            akey, avalue = transcoder.key(topics[index], key), transcoder.value(topics[index], value)
            out.write(ev.frame(index, op, akey, avalue))
            records += 1
            json_bytes += len(key) + len(value or b"")
            avro_bytes += len(akey) + len(avalue or b"")
    os.replace(avro_path + ".part", avro_path)
    sizes = {"records": records, "json_bytes": json_bytes, "avro_bytes": avro_bytes}
    pathlib.Path(avro_path + ".json").write_text(json.dumps(sizes))
    return sizes


class AvroFormat:
    """Apicurio's Avro converter: transcoded spools, Avro topics of their own, a sink of its own for the run."""
    name = "avro"

    def __init__(self):
        from bench import pipeline_avro as pa  # pylint: disable=import-outside-toplevel

        self.pa = pa
        self.connector = AVRO_CONNECTOR
        self.topics = [Generator(prefix=AVRO_PREFIX).encoder.topic(t) for t in ev.TABLE_NAMES]
        self.transcoder = pa.AvroTranscoder(pa.ApicurioRegistrar(registry_session(), REGISTRY))
        self.stamp = pa.stamp_avro
        self.sizes = []
        self.created = False

    def paths(self, specs):
        return [str(ev.spool_path(CACHE, *spec)) + ".avro" for spec in specs]

    def encode(self, topic, key, value):
        return self.transcoder.key(topic, key), self.transcoder.value(topic, value)

    def key_of(self, table, key_bytes):
        topic = self.topics[ev.TABLE_NAMES.index(table)]
        payload = self.pa.decode(self.transcoder.schema_of(topic, True), key_bytes)
        return tuple(payload[c] for c in TABLES[table].primary_key)

    def transcode(self, json_paths, workers):
        todo = [(p, p + ".avro") for p in json_paths
                if not (os.path.exists(p + ".avro.json") and os.path.getmtime(p + ".avro.json") >= os.path.getmtime(p))]
        if todo:
            log(f"avro: transcoding {len(todo)} spool(s) on {workers} process(es) …")
            with multiprocessing.get_context("fork").Pool(min(workers, len(todo))) as pool:
                pool.map(transcode_spool, todo)
        return [json.loads(pathlib.Path(p + ".avro.json").read_text()) for p in json_paths]

    def setup(self, json_config, partitions, json_paths, workers):
        """The Avro topics (as many partitions as the JSON ones) and the Avro sink; the spools' sizes."""
        from confluent_kafka.admin import AdminClient, NewTopic  # pylint: disable=import-outside-toplevel

        admin = AdminClient({"bootstrap.servers": KAFKA, **kafka_admin_settings(SECRETS)})
        existing = admin.list_topics(timeout=15).topics
        new = [NewTopic(t, num_partitions=n, replication_factor=1, config={"compression.type": "zstd"})
               for t, n in zip(self.topics, partitions.values()) if t not in existing]
        for future in (admin.create_topics(new).values() if new else []):
            future.result()
        http = Connect(self.connector).http
        config = avro_sink_config(json_config, dict(zip(ev.TABLE_NAMES, self.topics)))
        http.put(f"{CONNECT}/connectors/{self.connector}/config", json=config, timeout=30).raise_for_status()
        self.created = True
        sizes = self.transcode(json_paths, workers)
        records = sum(s["records"] for s in sizes)
        return {"records": records, "json_bytes_per_record": round(sum(s["json_bytes"] for s in sizes) / records),
                "avro_bytes_per_record": round(sum(s["avro_bytes"] for s in sizes) / records)} if records else {}

    def teardown(self):
        if not self.created:
            return
        from confluent_kafka.admin import AdminClient  # pylint: disable=import-outside-toplevel

        Connect(self.connector).http.delete(f"{CONNECT}/connectors/{self.connector}", timeout=30)
        admin = AdminClient({"bootstrap.servers": KAFKA, **kafka_admin_settings(SECRETS)})
        for future in admin.delete_topics(self.topics).values():
            future.result()


# --- event generation -------------------------------------------------------------------------------------------
def prepare(specs, workers):
    """Generate the spool of every (seed, shard, count) not cached yet, in parallel; return their summaries."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out, todo = {}, []
    for seed, shard, count in specs:
        path = ev.spool_path(CACHE, seed, shard, count)
        cached = ev.cached_summary(path)
        if cached:
            out[shard] = cached
        else:
            todo.append((seed, shard, count, str(path)))
    if todo:
        total = sum(s[2] for s in todo)
        log(f"generating {total:,} events in {len(todo)} shard(s) on {workers} process(es) into {CACHE} …")
        with multiprocessing.get_context("fork").Pool(min(workers, len(todo))) as pool:
            for summary in pool.imap_unordered(ev.generate_shard, todo):
                pathlib.Path(summary["path"]).with_suffix(".json").write_text(json.dumps(summary))
                out[summary["shard"]] = summary
                log(f"shard {summary['shard']}: {summary['events']:,} events generated")
    return [out[shard] for _, shard, _ in specs]


def expected_rows(summaries, partitions_per_table):
    rows = {t: sum(s["rows"][t] for s in summaries) for t in ev.TABLE_NAMES}
    return {t: rows[t] + partitions_per_table[t] for t in ev.TABLE_NAMES}


# --- phases -----------------------------------------------------------------------------------------------------
def phase_sink(ctx):
    conn, connect, args = ctx["conn"], ctx["connect"], ctx["args"]
    truncate(conn)
    connect.wait("RUNNING", args.settle)
    connect.put("pause")
    try:
        connect.wait("PAUSED", 1)
        sender = Sender(linger_ms=50)
        events, produced_s = send_spools(sender, ctx["bulk_paths"], ctx["topics"], ctx["fmt"].stamp,
                                         label="sink: producing")
        keys = send_markers(sender, ctx["fmt"], 0, ctx["partitions"])
        log(f"sink: {events:,} events in Kafka after {produced_s:.1f} s; waiting for the counters to settle")
        base = wait_stats_quiet(conn)
    finally:
        connect.put("resume")
    resumed = time.monotonic()
    connect.wait("RUNNING", args.settle)
    t0, at_t0 = next_counter_step(conn)
    done_early = markers_seen(conn, keys) == sum(len(k) for k in keys.values())
    if done_early:   # a small run: everything was applied while the tasks settled; time it from the resume
        t0, at_t0 = resumed, base
    ctx["res"].start()
    activity = pg_activity(conn)
    if profile := ctx["profile"]:
        profile.start()
    t1, samples = wait_markers(conn, keys, args.timeout, "sink", st.ops_total(at_t0))
    resources = ctx["res"].stop()
    activity = st.activity_delta(activity, pg_activity(conn))
    profiled = profile.stop(str(CACHE / f"connect-sink-{ctx['fmt'].name}.jfr")) if profile else None
    final = wait_stats_quiet(conn)
    ops = st.ops_total(final) - st.ops_total(at_t0)
    counts = row_counts(conn)
    per_second = st.rate_series(samples)
    before = st.ops_total(at_t0) - st.ops_total(base)
    # The reduction buffer folds a key's events in one batch into one row operation, so rows/s alone would punish
    # it: events/s counts the events applied in the window, by their share of the phase's row operations.
    applied = events * ops / (ops + before) if ops + before else 0
    return {"events": events, "producer_s": round(produced_s, 2),
            "producer_events_per_s": round(st.per_second(events, produced_s) or 0),
            "window_s": round(t1 - t0, 2), "row_ops": ops,
            "row_ops_before_clock": before, "rows_per_s": round(st.per_second(ops, t1 - t0) or 0),
            "events_per_s": round(st.per_second(applied, t1 - t0) or 0),
            "per_second_median": round(st.percentile(sorted(per_second), 50)) if per_second else None,
            "clock_from_resume": done_early, "ops_per_table": st.ops_delta(at_t0, final),
            "rows_match_intended": counts == ctx["expected"], "rows": counts, "resources": resources,
            "pg_activity": {**activity, "wal_bytes_per_row_op": round(activity["wal_bytes"] / ops) if ops else None},
            "profile": profiled}


def phase_limit(ctx):
    """PostgreSQL's upsert limit on the rows the sink wrote, on scratch copies (never the pipeline's tables)."""
    psql_admin("CREATE SCHEMA IF NOT EXISTS bench_limit AUTHORIZATION sluice_sink;")
    totals = {"copy_upsert": [0, 0.0], "multirow_upsert": [0, 0.0]}
    try:
        with pg_connect() as conn, conn.cursor() as cur:
            for table in ev.TABLE_NAMES:
                cur.execute(f"SELECT * FROM cdc.{table}")
                rows = cur.fetchall()
                if not rows:
                    continue
                cols = [d.name for d in cur.description]
                with cur.copy(f"COPY cdc.{table} TO STDOUT") as copy:   # text format: a newline ends a row
                    lines = b"".join(bytes(chunk) for chunk in copy).split(b"\n")[:-1]
                key = ", ".join(TABLES[table].primary_key)
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in TABLES[table].primary_key)
                conflict = f"ON CONFLICT ({key}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
                scratch = f"bench_limit.{table}"
                cur.execute(f"DROP TABLE IF EXISTS {scratch}")
                cur.execute(f"CREATE TABLE {scratch} (LIKE cdc.{table} INCLUDING ALL)")
                cur.execute(f"CREATE TEMP TABLE stage_{table} (LIKE {scratch}) ON COMMIT DELETE ROWS")
                per = min(LIMIT_BATCH, MAX_BIND_PARAMS // len(cols))
                values = "(" + ", ".join(["%s"] * len(cols)) + ")"
                for method in totals:
                    started = time.monotonic()
                    for _ in ("into the empty table", "over the full table"):   # inserts, then updates
                        if method == "copy_upsert":
                            for i in range(0, len(lines), LIMIT_BATCH):
                                with conn.transaction():
                                    with cur.copy(f"COPY stage_{table} FROM STDIN") as copy:
                                        copy.write(b"\n".join(lines[i:i + LIMIT_BATCH]) + b"\n")
                                    cur.execute(f"INSERT INTO {scratch} SELECT * FROM stage_{table} {conflict}")
                        else:
                            for i in range(0, len(rows), per):
                                batch = rows[i:i + per]
                                with conn.transaction():
                                    cur.execute(f"INSERT INTO {scratch} ({', '.join(cols)}) VALUES "
                                                + ", ".join([values] * len(batch)) + f" {conflict}",
                                                [v for row in batch for v in row])
                    totals[method][0] += 2 * len(rows)
                    totals[method][1] += time.monotonic() - started
                    cur.execute(f"TRUNCATE {scratch}")
                    log(f"limit: {table} {method} done")
                cur.execute(f"DROP TABLE {scratch}")
                cur.execute(f"DROP TABLE stage_{table}")
    finally:
        psql_admin("DROP SCHEMA IF EXISTS bench_limit CASCADE;")
    out = {m: {"row_ops": n, "seconds": round(s, 2), "rows_per_s": round(st.per_second(n, s) or 0)}
           for m, (n, s) in totals.items()}
    best = max(out, key=lambda m: out[m]["rows_per_s"])
    return {**out, "best": best, "best_rows_per_s": out[best]["rows_per_s"]}


def phase_e2e(ctx):
    conn, connect, args = ctx["conn"], ctx["connect"], ctx["args"]
    truncate(conn)
    connect.wait("RUNNING", args.settle)
    base = wait_stats_quiet(conn)
    sender = Sender(linger_ms=50)
    ctx["res"].start()
    t0 = time.monotonic()
    events, produced_s = send_spools(sender, ctx["bulk_paths"], ctx["topics"], ctx["fmt"].stamp,
                                     label="e2e: producing")
    keys = send_markers(sender, ctx["fmt"], 1, ctx["partitions"])
    t1, _ = wait_markers(conn, keys, args.timeout, "e2e", st.ops_total(base))
    resources = ctx["res"].stop()
    ops = st.ops_total(wait_stats_quiet(conn)) - st.ops_total(base)
    return {"events": events, "producer_s": round(produced_s, 2), "window_s": round(t1 - t0, 2), "row_ops": ops,
            "rows_per_s": round(st.per_second(ops, t1 - t0) or 0),
            "events_per_s": round(st.per_second(events, t1 - t0) or 0),
            "rows_match_intended": row_counts(conn) == ctx["expected"], "resources": resources}


class Poller:
    """Polls sampled new keys every ``interval`` s; a key's arrival is the start of the first query that sees it
    (the row became visible at most one poll period before)."""

    def __init__(self, interval):
        self.interval, self.conn, self.lock = interval, pg_connect(prepare_threshold=None), threading.Lock()
        self.pending, self.sent, self.arrived = {t: {} for t in ev.TABLE_NAMES}, {}, {}
        self.periods, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def add(self, table, key, ms):
        with self.lock:
            self.pending[table][key] = ms
            self.sent[(table, key)] = ms

    def _run(self):
        last = None
        while not self._stop.is_set():
            with self.lock:
                todo = {t: list(keys) for t, keys in self.pending.items() if keys}
            started = time.time_ns() / 1e6
            if todo:
                sql = " UNION ALL ".join(f"SELECT '{t}', q.* FROM ({ev.keys_query(t)}) q" for t in todo)
                found = query(self.conn, sql, [a for keys in todo.values() for a in ev.key_arrays(keys)])
                with self.lock:
                    for table, key_json in found:
                        key = tuple(json.loads(key_json))
                        if self.pending[table].pop(key, None) is not None:
                            self.arrived[(table, key)] = started
            if last is not None:
                self.periods.append(started - last)
            last = started
            time.sleep(max(0.0, self.interval - (time.time_ns() / 1e6 - started) / 1000))

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.conn.close()
        return self.sent, self.arrived


def commit_times(conn, sent):
    """{(table, key): commit ms} of the rows whose last event in the step was an insert or update."""
    arrived = {}
    for table, keys in sent.items():
        if keys:
            extra = "extract(epoch FROM pg_xact_commit_timestamp(t.xmin)) * 1000"
            for key_json, ms in query(conn, ev.keys_query(table, extra), ev.key_arrays(keys)):
                if ms is not None:
                    arrived[(table, tuple(json.loads(key_json)))] = float(ms)
    return arrived


def phase_lag(ctx):
    conn, connect, args, key_of = ctx["conn"], ctx["connect"], ctx["args"], ctx["fmt"].key_of
    results = []
    truncate(conn)   # a rerun sends the same keys and markers: they must not be found before they are sent
    for i, ((rate, count), paths) in enumerate(zip(ctx["steps"], ctx["step_paths"])):
        connect.wait("RUNNING", min(args.settle, 2))
        sender, inserts = Sender(linger_ms=5), [0]
        if ctx["lag_method"] == "commit-ts":
            sent = {t: {} for t in ev.TABLE_NAMES}

            def on_event(index, op, key, ms, sent=sent):
                table = ev.TABLE_NAMES[index]
                if op == b"d":
                    sent[table].pop(key_of(table, key), None)
                else:
                    sent[table][key_of(table, key)] = ms
        else:
            poller = Poller(args.poll_ms / 1000)

            def on_event(index, op, key, ms, poller=poller):
                if op == b"c":
                    inserts[0] += 1
                    if inserts[0] % args.lag_sample == 0:
                        table = ev.TABLE_NAMES[index]
                        poller.add(table, key_of(table, key), ms)
        log(f"lag: {rate:,.0f} events/s for {args.step_seconds:.0f} s ({count:,} events)")
        ctx["res"].start()
        events, seconds = send_spools(sender, paths, ctx["topics"], ctx["fmt"].stamp, rate=rate,
                                      on_event=on_event, label=f"lag {rate:,.0f}/s")
        keys = send_markers(sender, ctx["fmt"], 2 + i, ctx["partitions"])
        wait_markers(conn, keys, args.timeout, f"lag {rate:,.0f}/s")
        resources = ctx["res"].stop()
        if ctx["lag_method"] == "commit-ts":
            sent_ms = {(t, k): ms for t, keys in sent.items() for k, ms in keys.items()}
            arrived, resolution = commit_times(conn, sent), "1 µs (commit timestamp)"
        else:
            time.sleep(args.poll_ms / 1000 * 3)   # the poller's last rounds
            sent_ms, arrived = poller.stop()
            period = sum(poller.periods) / len(poller.periods) if poller.periods else None
            resolution = f"{period:.0f} ms (mean poll period)" if period else "n/a"
        results.append({"rate": rate, "achieved_rate": round(st.per_second(events, seconds) or 0), "events": events,
                        **st.lag_summary(st.lags(sent_ms, arrived), len(sent_ms)), "resolution": resolution,
                        "resources": resources})
    return results


# --- report -----------------------------------------------------------------------------------------------------
def resource_rows(label, res):
    if not res or "error" in res:
        return [(f"{label}: resources", "n/a", (res or {}).get("error", ""))]
    rows = [(f"{label}: {name}", f"{c['cpu_s']:.1f} CPU s", f"{c['cpus']} CPUs, peak {c['peak_rss_mib']:,} MiB")
            for name, c in res["components"].items()]
    verdict = "within" if res["within_budget"] else "OVER"
    rows.append((f"{label}: Kafka+Connect+PG", f"{res['cpus_total']} CPUs",
                 f"peak {res['peak_rss_total_mib']:,} MiB together; {verdict} 4 GiB / 2 CPUs over {res['seconds']} s"))
    return rows


def summary(report):
    rows = []
    if machine := report.get("machine"):
        rows.append(("machine speed", st.fmt(machine["encode_events_per_s"], " ev/s"),
                     f"cdcgen events encoded by one process in {machine['seconds']} s, {machine['cores']} cores: "
                     "compare runs by it"))
    for name, run in report["formats"].items():
        if sizes := run.get("sizes"):
            rows.append(("message size json -> avro", f"{sizes['json_bytes_per_record']:,} -> "
                         f"{sizes['avro_bytes_per_record']:,} B", f"key + value per record, mean of "
                         f"{sizes['records']:,} records (tombstones included), before compression"))
        rows += [(f"{name}: {label}" if len(report["formats"]) > 1 else label, value, note)
                 for label, value, note in format_rows(run, report.get("limit"))]
    return st.table(rows)


def format_rows(report, limit):
    """The summary rows of one format's phases; the PostgreSQL limit with the first format's."""
    rows = []
    sink, e2e = report.get("sink"), report.get("e2e")
    if sink:
        rows += [("producer (sink paused)", st.fmt(sink["producer_events_per_s"], " ev/s"),
                  f"{sink['events']:,} events in {sink['producer_s']} s"),
                 ("sink alone", st.fmt(sink["rows_per_s"], " rows/s"),
                  f"{sink['events_per_s']:,} events/s; {sink['row_ops']:,} row ops in {sink['window_s']} s; "
                  f"{sink['row_ops_before_clock']:,} before the "
                  f"clock{' (clock from resume: run too small to settle)' if sink['clock_from_resume'] else ''}; "
                  f"per-second median {st.fmt(sink['per_second_median'])}; rows match: {sink['rows_match_intended']}")]
        if act := sink.get("pg_activity"):
            rows.append(("sink: PostgreSQL's own work", f"{act['wal_bytes'] / 2 ** 20:,.0f} MiB WAL",
                         f"{st.fmt(act['wal_bytes_per_row_op'])} B per row op; {act['autovacuums']} autovacuums, "
                         f"{act['autoanalyzes']} autoanalyzes of the five tables, {act['checkpoints']} checkpoints "
                         "in the window"))
        if rep := sink.get("repeats"):
            rows.append((f"sink alone, {len(rep['rows_per_s'])} runs", f"spread {st.fmt(rep['spread'] * 100, ' %')}"
                         if rep["spread"] is not None else "n/a",
                         "rows/s " + ", ".join(f"{r:,}" for r in rep["rows_per_s"]) + "; Connect CPU s "
                         + ", ".join(st.fmt(c, "", 1) for c in rep["connect_cpu_s"]) + "; PostgreSQL CPU s "
                         + ", ".join(st.fmt(c, "", 1) for c in rep["postgresql_cpu_s"]) + "; autovacuums "
                         + ", ".join(st.fmt(a) for a in rep["autovacuums"])
                         + f"; rows match in every run: {rep['all_rows_match']}"))
    if limit and report.get("first"):
        rows += [(f"PG limit {m}", st.fmt(limit[m]["rows_per_s"], " rows/s"),
                  f"{limit[m]['row_ops']:,} upserts in {limit[m]['seconds']} s") for m in ("copy_upsert",
                                                                                         "multirow_upsert")]
    if sink and limit:
        rows.append(("ratio sink / PG limit", st.fmt(report["ratio"], "", 2), f"best limit: {limit['best']}"))
    if e2e:
        rows.append(("end to end (producer running)", st.fmt(e2e["rows_per_s"], " rows/s"),
                     f"{e2e['events']:,} events, {e2e['events_per_s']:,} ev/s over {e2e['window_s']} s; "
                     f"producer done after {e2e['producer_s']} s; rows match: {e2e['rows_match_intended']}"))
    if profiled := (sink or {}).get("profile"):
        rows += profile_rows(profiled)
    for step in report.get("lag", []):
        rows.append((f"lag at {step['rate']:,.0f} ev/s", f"p99 {st.fmt(step.get('p99_ms'), ' ms')}",
                     f"p50 {st.fmt(step.get('p50_ms'), ' ms')}, max {st.fmt(step.get('max_ms'), ' ms')}; "
                     f"{step['samples']:,}/{step['expected']:,} samples; achieved {step['achieved_rate']:,} ev/s; "
                     f"resolution {step['resolution']}"))
    for label, res in (("sink", (sink or {}).get("resources")), ("e2e", (e2e or {}).get("resources"))):
        if res is not None:
            rows += resource_rows(label, res)
    for step in report.get("lag", []):
        rows += resource_rows(f"lag {step['rate']:,.0f}", step["resources"])
    return rows


def profile_rows(profiled):
    def shares(found):
        return "; ".join(f"{name} {share * 100:.1f} %" for name, share in found.items())

    gc = profiled["gc"]
    return [("Connect profile: threads", f"{profiled['samples']:,} samples", shares(profiled["threads"])),
            ("Connect profile: sink tasks", f"{profiled['task_samples']:,} samples",
             shares(profiled["task_components"])),
            ("Connect profile: hottest leaves", "", shares(profiled["task_leaf_methods"])),
            ("Connect profile: GC", f"{gc['pause_s']:.2f} s paused", f"{gc['collections']:,} collections; "
             f"recording {profiled['file']} (open it in JDK Mission Control)")]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="mixed events for the sink and e2e phases")
    parser.add_argument("--rates", type=st.parse_rates, default=[1000, 5000, 10000, 20000],
                        help="lag steps in events/s, comma-separated (default 1000,5000,10000,20000)")
    parser.add_argument("--step-seconds", type=float, default=20, help="length of each lag step")
    parser.add_argument("--phases", default="sink,limit,e2e,lag", help="which of sink,limit,e2e,lag to run")
    parser.add_argument("--formats", default="json",
                        help="json and/or avro (comma-separated): the sink, e2e and lag phases run for each")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the sink phase this many times; the median run is reported, with the spread")
    parser.add_argument("--profile", action="store_true",
                        help="record the Connect worker with JFR during the sink phase (needs the host's jcmd and jfr)")
    parser.add_argument("--settle", type=float, default=5, help="seconds the sink's tasks must stay RUNNING")
    parser.add_argument("--lag-method", choices=("auto", "commit-ts", "poll"), default="auto",
                        help="auto: commit-ts when track_commit_timestamp is on, else poll")
    parser.add_argument("--poll-ms", type=float, default=20, help="poll period of the poll lag method")
    parser.add_argument("--lag-sample", type=int, default=10, help="poll method: every n-th insert is sampled")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="seconds between resource samples")
    parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                        help="processes generating events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connector", default="sluice-postgres-sink")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for a phase's events to land")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20K events, lag at 1K and 5K/s for 5 s each (50K events generated)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.rates, args.step_seconds, args.settle = 20_000, [1000, 5000], 5, 2
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = (set(args.phases) - {"sink", "limit", "e2e", "lag"}) | (set(args.formats) - {"json", "avro"})
    if unknown or not args.formats or min(args.lag_sample, args.events, args.repeat) < 1:
        parser.error(f"bad --phases or --formats {sorted(unknown)}, or --lag-sample, --events or --repeat below 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    # found once, before anything is generated: the host's JDK tools and the worker's JVM
    profile = ConnectProfile(CONTAINERS["connect"]) if args.profile else None
    conn = pg_connect(prepare_threshold=None)
    missing = [t for t in ev.TABLE_NAMES if query(conn, "SELECT to_regclass(%s)", (f"cdc.{t}",))[0][0] is None]
    if missing:
        sys.exit(f"cdc.{missing[0]} does not exist yet: run `make demo` first")
    config = Connect(args.connector).get("config")
    formats = [JsonFormat(args.connector) if name == "json" else AvroFormat() for name in args.formats]
    json_topics = JsonFormat(args.connector).topics
    if not set(json_topics) <= set(config.get("topics", "").split(",")):
        sys.exit(f"{args.connector} does not consume all of {json_topics}")
    settings = dict(query(conn, "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(PG_SETTINGS),)))
    lag_method = args.lag_method
    if lag_method == "auto":
        lag_method = "commit-ts" if settings.get("track_commit_timestamp") == "on" else "poll"
    if lag_method == "commit-ts" and settings.get("track_commit_timestamp") != "on":
        sys.exit("--lag-method commit-ts needs track_commit_timestamp = on on the target (a restart; "
                 "postgresql_target_settings), see docs/performance.md")

    shards = args.workers
    step_plan = st.plan_steps(args.rates, args.step_seconds)
    bulk_specs = [(args.seed, s, n) for s, n in enumerate(st.split_evenly(args.events, shards))]
    step_specs = [[(args.seed, shards * (1 + i) + j, n) for j, n in enumerate(st.split_evenly(count, shards))]
                  for i, (_, count) in enumerate(step_plan)]
    if shards * (1 + len(step_plan)) - 1 > ev.MAX_SHARD:
        sys.exit(f"too many shards: lower --workers or the number of --rates (at most {ev.MAX_SHARD + 1} shards)")
    wanted = list(bulk_specs) if {"sink", "e2e"} & set(args.phases) else []   # a copy: += below
    if "lag" in args.phases:
        wanted += [spec for step in step_specs for spec in step]
    summaries = {s["shard"]: s for s in prepare(wanted, args.workers)}
    partitions = Sender(linger_ms=5).partitions(json_topics)
    report = {"args": {k: v for k, v in vars(args).items() if k != "json"}, "lag_method": lag_method,
              "sink_config": {k: config[k] for k in SINK_KNOBS if k in config}, "pg_settings": settings,
              "partitions": partitions,
              "machine": {"cores": os.cpu_count(), "seconds": MACHINE_SPEED_S,
                          "encode_events_per_s": ev.encode_rate(MACHINE_SPEED_S)}, "formats": {}}
    print("sink connector:", json.dumps(report["sink_config"]), "\nPostgreSQL:", json.dumps(settings),
          "\nmachine:", json.dumps(report["machine"]), flush=True)
    expected = expected_rows([summaries[s] for _, s, _ in bulk_specs],
                             {t: partitions[topic] for t, topic in zip(ev.TABLE_NAMES, json_topics)})
    try:
        for fmt in formats:
            run = report["formats"][fmt.name] = {"first": fmt is formats[0]}
            sizes = fmt.setup(config, partitions, [str(ev.spool_path(CACHE, *spec)) for spec in wanted],
                              args.workers)
            if sizes:
                run["sizes"] = sizes
            ctx = {"args": args, "conn": conn, "connect": Connect(fmt.connector), "fmt": fmt, "topics": fmt.topics,
                   "partitions": dict(zip(fmt.topics, partitions.values())), "lag_method": lag_method,
                   "res": Resources(args.sample_interval), "profile": profile, "steps": step_plan, "expected": expected,
                   "bulk_paths": fmt.paths(bulk_specs), "step_paths": [fmt.paths(step) for step in step_specs]}
            run_phases(ctx, run, report)
    finally:
        for fmt in formats:
            fmt.teardown()
    print(summary(report))
    print(f"lag method: {lag_method} — " + (
        "source.ts_ms (the send time) to pg_xact_commit_timestamp(xmin) of the row's last insert/update"
        if lag_method == "commit-ts" else
        f"source.ts_ms (the send time) of every {args.lag_sample}th insert to the start of the first poll "
        f"(every {args.poll_ms:.0f} ms) that sees the row; an upper bound by at most one poll period"))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"figures written to {args.json}")


def run_phases(ctx, run, report):
    """One format's phases into ``run``; PostgreSQL's limit once, after the first format's sink phase."""
    args, name = ctx["args"], ctx["fmt"].name
    if "sink" in args.phases:
        runs = []
        for i in range(args.repeat):
            runs.append(phase_sink(ctx))
            log(f"{name}: sink alone{f' (run {i + 1}/{args.repeat})' if args.repeat > 1 else ''}: "
                f"{runs[-1]['rows_per_s']:,} rows/s")
        run["sink"] = st.median_run(runs) if args.repeat > 1 else runs[0]
    if "limit" in args.phases and "limit" not in report:
        report["limit"] = phase_limit(ctx)
        log(f"PostgreSQL limit: {report['limit']['best_rows_per_s']:,} rows/s ({report['limit']['best']})")
    if "sink" in run and "limit" in report:
        run["ratio"] = st.ratio(run["sink"]["rows_per_s"], report["limit"]["best_rows_per_s"])
    if "e2e" in args.phases:
        run["e2e"] = phase_e2e(ctx)
        log(f"{name}: end to end: {run['e2e']['rows_per_s']:,} rows/s")
    if "lag" in args.phases:
        run["lag"] = phase_lag(ctx)


if __name__ == "__main__":
    main()
