"""Fault suite on the cluster scenario: each case injects one ordinary fault under steady generated load (about
1,100 change events/s of inserts, updates and deletes over every sample table, all_types included), lets the
pipeline heal with no person acting (the test never calls the Connect REST API to restart or resume anything), and
ends with the generator's intended source state compared with PostgreSQL row by row: 0 missing, 0 extra,
0 different.

Printed per case: the load (events, achieved rate), rows compared, the recovery time (fault cleared → the sink has
committed every record written before that moment; the sink commits every 5 s in this scenario), the task starts
(Connect's task-startup-attempts-total over both workers) and the task states over time. Timings are reported,
never asserted; "caught up" only has a generous timeout.
"""
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
import zlib

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import ROOT, kafka_cli_login, kafka_client
from tests.support.cdcgen import Generator
from cluster_helpers import (BOOTSTRAP, DLQ_TOPIC, PG_CONTAINER, PG_SERVICE, SAMPLE_TABLES, WORKERS,
                             Load, Offsets, Watcher, compare, container_ip, log, pg_connect, psql_admin, sh,
                             sink_healthy, sink_status, supervisor_restarts, task_view, wait_for)

WARM_UP = 10          # seconds of load before the fault
AFTER_RECOVERY = 5    # seconds of load after the sink has caught up
LOAD_AFTER_CLEAR = 30  # seconds the load goes on at least after the fault was cleared
HEAL_TIMEOUT = 660    # the supervisor's back-off is capped at 600 s (supervisor_backoff_max)
RECOVERY_TIMEOUT = 420
DRAIN_TIMEOUT = 600
FIGURES = []


@pytest.fixture(scope="module")
def offsets():
    o = Offsets()
    yield o
    o.close()


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    print("\n== fault suite figures ==")
    for line in FIGURES:
        print(line)


def run_case(name, offsets, inject, clear, during=None, healed=None, extra=()):
    """One fault under load: start the load and the watcher, inject, clear, wait until the sink has committed
    everything written before the clear, keep the load a little longer, stop it, wait until everything is
    committed, compare row by row. `during` runs while the fault holds (its own assertions), `healed` after the
    sink caught up (e.g. a broker back in every ISR); `extra`: generators of rows written besides the load's.
    Returns the watcher and the comparison."""
    wait_for(lambda: sink_healthy(sink_status()), 180, "the sink and its tasks RUNNING on both workers before the case")
    wait_for(lambda: offsets.behind(offsets.end()) == 0, DRAIN_TIMEOUT, "the previous case's records to be committed")
    with pg_connect() as pg:  # compare this case's state as a whole: start from empty tables
        for table in SAMPLE_TABLES:  # (the sink creates them on its first record)
            if pg.execute("SELECT to_regclass(%s)", (f"cdc.{table}",)).fetchone()[0]:
                pg.execute(f"TRUNCATE cdc.{table}")
    load = Load(seed=zlib.crc32(name.encode()))
    watcher = Watcher()
    watcher.start()
    load.start()
    try:
        time.sleep(WARM_UP)
        log(f"{name}: inject")
        injected = time.monotonic()
        inject()
        if during:
            during()
        clear()
        cleared = time.monotonic()
        target = offsets.end()
        log(f"{name}: cleared after {cleared - injected:.0f} s; {offsets.behind(target)} records to catch up")
        # The load goes on while the pipeline recovers, for LOAD_AFTER_CLEAR seconds at least and until the sink
        # has caught up; on a machine too busy to catch up under full load it then stops, so that recovery is
        # still measured (and reported as such) instead of the case racing the machine's spare capacity.
        while offsets.behind(target) != 0:
            now = time.monotonic()
            if now - cleared > LOAD_AFTER_CLEAR and not load.stopping.is_set():
                log(f"{name}: not caught up {LOAD_AFTER_CLEAR} s after the fault was cleared: load stopped")
                load.stopping.set()
            if now - cleared > RECOVERY_TIMEOUT:
                raise AssertionError(f"{name}: not caught up {RECOVERY_TIMEOUT} s after the fault was cleared "
                                     f"({offsets.behind(target)} records behind); task states over time:\n"
                                     f"{watcher.report()}")
            time.sleep(1)
        recovery = time.monotonic() - cleared
        under_load = not load.stopping.is_set()
        log(f"{name}: caught up {recovery:.1f} s after the fault was cleared"
            f"{' (under load)' if under_load else ' (load stopped)'}")
        if healed:
            healed()
        if under_load:
            time.sleep(AFTER_RECOVERY)
    finally:
        summary_ = load.stop()
    final = offsets.end()
    wait_for(lambda: offsets.behind(final) == 0, DRAIN_TIMEOUT, "every record to be committed")
    # Caught up is not healed: a FAILED task's partitions go to the other task's consumer, so the data can catch up
    # with a task still FAILED. Every task must be RUNNING again, by itself (the supervisor's capped back-off).
    try:
        wait_for(lambda: sink_healthy(sink_status(), spread=False), HEAL_TIMEOUT, "every sink task RUNNING again")
    except AssertionError:
        watcher.stop()
        raise AssertionError(f"{name}: a task still not RUNNING {HEAL_TIMEOUT} s after catching up; task states "
                             f"over time:\n{watcher.report()}") from None
    healed_after = time.monotonic() - cleared
    watcher.stop()
    with pg_connect() as pg:
        result = compare(pg, load.gen, extra)
        deadline = time.monotonic() + 30
        while not result.equal and time.monotonic() < deadline:  # offsets are committed after the writes: a margin
            time.sleep(5)
            result = compare(pg, load.gen, extra)
    figures = (f"{name}: load {summary_['events']} events ({summary_['tombstones']} tombstones) in "
               f"{summary_['duration_s']:.0f} s = {summary_['rate']:.0f} events/s, per table "
               f"{summary_['events_per_table']}; fault held {cleared - injected:.0f} s; recovery {recovery:.1f} s "
               f"({'under load' if under_load else f'load stopped {LOAD_AFTER_CLEAR} s after the clear'}); "
               f"all tasks RUNNING {healed_after:.0f} s after the clear; "
               f"rows compared {result.rows}: {result.missing} missing, {result.extra} extra, "
               f"{result.different} different; task starts {watcher.starts}; supervisor restarts "
               f"{'(no supervisor)' if watcher.supervisor is None else watcher.supervisor}")
    FIGURES.append(figures)
    print(figures)
    print(f"{name}: task states over time\n{watcher.report()}")
    assert all(summary_["events_per_table"][t] > 0 for t in SAMPLE_TABLES) and summary_["tombstones"] > 0
    assert result.equal, f"{name}: {result.missing} missing, {result.extra} extra, {result.different} different, " \
                         f"e.g. {result.examples}"
    return watcher, result


# --- g. a record the converter cannot read --------------------------------------------------------------------------
def dlq_end(offsets):
    meta = offsets.admin.list_topics(DLQ_TOPIC, timeout=10).topics[DLQ_TOPIC]
    return {p: offsets.consumer.get_watermark_offsets(TopicPartition(DLQ_TOPIC, p), timeout=10)[1]
            for p in meta.partitions}


def read_dlq(since, expected, timeout=120):
    consumer = Consumer({**kafka_client(BOOTSTRAP), "group.id": f"e2e-dlq-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(DLQ_TOPIC, p, o) for p, o in since.items()])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=100, timeout=1):
                if msg.error() is None:
                    got.append(msg)
    finally:
        consumer.close()
    return got


def test_g_unreadable_records_go_to_the_dlq_and_nothing_stops(offsets):
    topic = "sluice.sluice_demo.dbo.customers"
    poison = [  # (key, value): not JSON at all; JSON that is not a schema+payload envelope
        (json.dumps({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": False, "field": "id"}],
                                "optional": False, "name": "sluice.sluice_demo.dbo.customers.Key"},
                     "payload": {"id": 2_000_000_001}}).encode(), b"\x00\x01 this is not JSON {"),
        (b"not a key either", json.dumps({"id": 2_000_000_002, "email": "no-envelope@example.com"}).encode()),
    ]
    since = dlq_end(offsets)
    delivered = []

    def inject():
        producer = Producer({**kafka_client(BOOTSTRAP), "acks": "all"})
        for key, value in poison:
            producer.produce(topic, key=key, value=value,
                             on_delivery=lambda err, msg: delivered.append((err, msg.partition(), msg.offset())))
        assert producer.flush(30) == 0 and all(err is None for err, _, _ in delivered), delivered

    watcher, _ = run_case("g. unreadable records", offsets, inject, clear=lambda: None)
    dlq = read_dlq(since, len(poison))
    headers = [{k: (v or b"").decode(errors="replace") for k, v in (m.headers() or [])} for m in dlq]
    found = {(h.get("__connect.errors.topic"), int(h.get("__connect.errors.partition", -1)),
              int(h.get("__connect.errors.offset", -1))) for h in headers}
    assert found == {(topic, p, o) for _, p, o in delivered}, (found, delivered)
    assert {m.value() for m in dlq} == {v for _, v in poison}, "the DLQ holds the records unchanged"
    assert all("DataException" in h.get("__connect.errors.exception.class.name", "") for h in headers), headers
    assert all(h.get("__connect.errors.stage") in ("KEY_CONVERTER", "VALUE_CONVERTER") for h in headers), headers
    assert not watcher.non_running_seen, f"a task left RUNNING:\n{watcher.report()}"
    assert watcher.starts == 0
    with pg_connect() as pg:
        assert pg.execute("SELECT count(*) FROM cdc.customers WHERE id > 2000000000").fetchone() == (0,)


# --- b. PostgreSQL restarted quickly, its sink sessions killed ----------------------------------------------------
def test_b_postgresql_restart_and_killed_sessions(offsets):
    def inject():
        killed = psql_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE usename = 'sluice_sink' AND pid <> pg_backend_pid()")
        log(f"b: terminated {killed.strip()} sink session(s); restarting PostgreSQL")
        assert int(killed.strip()) >= 1, "the sink had no session to kill"
        time.sleep(3)
        sh(PG_CONTAINER, "systemctl", "restart", PG_SERVICE)

    run_case("b. PostgreSQL restart + sink sessions killed", offsets, inject, clear=lambda: None)


# --- d. a Connect worker killed with SIGKILL ----------------------------------------------------------------------
def test_d_worker_sigkill_tasks_move_and_it_rejoins(offsets):
    victim, survivor = "sluice-cl-connect-2", "sluice-cl-connect-1"
    moved = {}

    def inject():
        held = [i for i, (_, w) in task_view(sink_status()).items() if w == victim]
        assert held, "the victim worker holds no sink task"
        moved["tasks"] = held
        # SIGKILL, then `stop` cancels systemd's automatic restart (RestartSec=5), so the worker stays away until
        # its tasks have moved.
        sh(victim, "sh", "-c", "systemctl kill -s KILL kafka-connect && systemctl stop kafka-connect")

    def during():
        started = time.monotonic()
        wait_for(lambda: sink_healthy(sink_status([WORKERS[survivor]]), spread=False)
                 and {w for _, w in task_view(sink_status([WORKERS[survivor]])).values()} == {survivor},
                 180, f"every sink task RUNNING on {survivor}")
        moved["after"] = time.monotonic() - started
        log(f"d: tasks {moved['tasks']} moved to {survivor} {moved['after']:.0f} s after the kill")

    def clear():
        sh(victim, "systemctl", "start", "kafka-connect")

    def healed():
        wait_for(lambda: sink_healthy(sink_status()), 180, f"{victim} to rejoin and run a task again")

    try:
        run_case("d. Connect worker SIGKILL", offsets, inject, clear, during=during, healed=healed)
    finally:
        sh(victim, "systemctl", "start", "kafka-connect", check=False)
    FIGURES.append(f"d. tasks {moved['tasks']} moved to {survivor} {moved['after']:.0f} s after the kill")


# --- e. a broker killed with SIGKILL ----------------------------------------------------------------------------
def in_sync(offsets):
    meta = offsets.admin.list_topics(timeout=10)
    return all(len(p.isrs) == 3 for t in meta.topics.values() if not t.topic.startswith("__")
               for p in t.partitions.values())


def test_e_broker_sigkill_then_restart(offsets):
    victim = "sluice-cl-kafka-2"

    def inject():
        sh(victim, "sh", "-c", "systemctl kill -s KILL kafka && systemctl stop kafka")

    def during():
        wait_for(lambda: 2 not in offsets.admin.list_topics(timeout=10).brokers, 60, "broker 2 to leave the cluster")
        time.sleep(20)  # the cluster runs on two of three brokers (min.insync.replicas 2) under load

    def clear():
        sh(victim, "systemctl", "start", "kafka")

    def healed():
        wait_for(lambda: in_sync(offsets), 180, "every partition back in sync on three brokers")

    try:
        run_case("e. broker SIGKILL", offsets, inject, clear, during=during, healed=healed)
    finally:
        sh(victim, "systemctl", "start", "kafka", check=False)
    assert sorted(offsets.admin.list_topics(timeout=10).brokers) == [1, 2, 3]


# --- c. the network between Connect and PostgreSQL cut for 60 s ----------------------------------------------------
def test_c_network_cut_between_connect_and_postgresql(offsets):
    # Blackhole routes inside the PostgreSQL container to both workers: their packets arrive, no answer leaves,
    # connections hang as in a real partition; the host's published port keeps working.
    ips = [container_ip(w) for w in WORKERS]

    def inject():
        for ip in ips:
            sh(PG_CONTAINER, "ip", "route", "add", "blackhole", f"{ip}/32")

    def clear():
        time.sleep(60)
        for ip in ips:
            sh(PG_CONTAINER, "ip", "route", "del", "blackhole", f"{ip}/32")

    try:
        run_case("c. network Connect-PostgreSQL cut 60 s", offsets, inject, clear)
    finally:
        for ip in ips:
            sh(PG_CONTAINER, "ip", "route", "del", "blackhole", f"{ip}/32", check=False)


# --- a. PostgreSQL stopped for 2 minutes ---------------------------------------------------------------------------
def test_a_postgresql_stopped_for_two_minutes(offsets):
    def inject():
        sh(PG_CONTAINER, "systemctl", "stop", PG_SERVICE)

    def clear():
        time.sleep(120)
        sh(PG_CONTAINER, "systemctl", "start", PG_SERVICE)

    try:
        run_case("a. PostgreSQL stopped 2 min", offsets, inject, clear)
    finally:
        sh(PG_CONTAINER, "systemctl", "start", PG_SERVICE, check=False)


# --- f. a record PostgreSQL rejects: quarantined by the supervisor, replayed with sluice-dlq -------------------------
BAD_ID = 2_100_000_001


def sluice_dlq(*args):
    cmd = [sys.executable, str(ROOT / "scripts" / "sluice-dlq"), "--bootstrap", BOOTSTRAP, *kafka_cli_login(), "--dlq-topic", DLQ_TOPIC,
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def test_f_rejected_record_quarantined_then_replayed(offsets):
    if supervisor_restarts() is None:
        pytest.skip("no supervisor deployed on the Connect workers")
    topic = "sluice.sluice_demo.dbo.customers"
    bad_gen = Generator()  # one row of its own key range, beside the load's rows
    row = {"id": BAD_ID, "email": "rejected@example.com", "full_name": "Rejected Row",
           "created_at": dt.datetime(2024, 5, 1, 12, 0, 0, 123456), "is_active": True}
    since = dlq_end(offsets)
    seen = {}

    def inject():
        # The cause: a constraint in PostgreSQL that the source row breaks (SQLSTATE 23514, a data error).
        psql_admin(f"ALTER TABLE cdc.customers ADD CONSTRAINT e2e_reject CHECK (id <> {BAD_ID})")
        records = bad_gen.insert("customers", row)
        delivered = []
        producer = Producer({**kafka_client(BOOTSTRAP), "acks": "all", "partitioner": "murmur2_random"})
        for r in records:
            producer.produce(r.topic, key=r.key, value=r.value,
                             on_delivery=lambda err, msg: delivered.append((err, msg.partition(), msg.offset())))
        assert producer.flush(30) == 0 and all(err is None for err, _, _ in delivered), delivered
        seen["origin"] = delivered[0][1:]
        seen["record"] = records[0]
        seen["started"] = time.monotonic()

    def during():
        def quarantined():
            found = [m for m in read_dlq(since, 100, timeout=5)
                     if dict((k, (v or b"").decode()) for k, v in m.headers() or []).get("sluice.quarantine.topic")
                     == topic]
            return found or None
        found = wait_for(quarantined, 900, "the supervisor to quarantine the rejected record", interval=5)
        seen["quarantine_s"] = time.monotonic() - seen["started"]
        assert len(found) == 1, [m.headers() for m in found]
        msg = found[0]
        headers = {k: (v or b"").decode() for k, v in msg.headers() or []}
        seen["dlq"] = (msg.partition(), msg.offset())
        assert (int(headers["sluice.quarantine.partition"]), int(headers["sluice.quarantine.offset"])) \
            == seen["origin"], headers
        assert msg.key() == seen["record"].key and msg.value() == seen["record"].value, "the DLQ copy is unchanged"
        assert headers["sluice.quarantine.connector"] == "sluice-postgres-sink"
        assert "e2e_reject" in headers["sluice.quarantine.error"], headers
        log(f"f: quarantined {topic}[{seen['origin'][0]}]@{seen['origin'][1]} {seen['quarantine_s']:.0f} s after "
            f"it was written")

    def clear():  # the cause fixed
        psql_admin("ALTER TABLE cdc.customers DROP CONSTRAINT e2e_reject")

    def healed():
        with pg_connect() as pg:
            assert pg.execute("SELECT count(*) FROM cdc.customers WHERE id = %s", (BAD_ID,)).fetchone() == (0,)
        part, off = seen["dlq"]
        replay = sluice_dlq("replay", f"{part}:{off}")
        assert replay.returncode == 0 and "replayed" in replay.stdout, replay.stdout + replay.stderr
        with pg_connect() as pg:
            wait_for(lambda: pg.execute("SELECT count(*) FROM cdc.customers WHERE id = %s",
                                        (BAD_ID,)).fetchone() == (1,), 180, "the replayed record in PostgreSQL")

    try:
        watcher, _ = run_case("f. record PostgreSQL rejects", offsets, inject, clear, during=during, healed=healed,
                              extra=[bad_gen])
    finally:
        psql_admin("ALTER TABLE cdc.customers DROP CONSTRAINT IF EXISTS e2e_reject")
    FIGURES.append(f"f. quarantined {seen.get('quarantine_s', float('nan')):.0f} s after the record was written; "
                   f"1 record quarantined and replayed; supervisor restarts {watcher.supervisor}")
