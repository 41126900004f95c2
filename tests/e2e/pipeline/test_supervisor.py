"""sluice-supervisor against the real pipeline: a record PostgreSQL rejects is quarantined exactly (only it is in
the DLQ, with its origin headers; every record before and after it arrives), and `sluice-dlq replay` lands it once
the cause is fixed.

The supervisor runs as the systemd service the role deployed on the Connect worker (sluice-connect); the test only
produces change events, changes PostgreSQL and calls the CLI.
"""
import json
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import ROOT, connect_api, docker_exec, kafka_cli_login, kafka_client
from helpers import (CONNECT, KAFKA, SINK, all_running, connect_status, expected_rows, failed_task, pg,  # noqa: F401
                     rows, table_rows, wait_for, wait_until_replicated)
from tests.support.cdcgen import Generator, KafkaSink

DLQ = "sluice.dlq"
TABLE = "customers"
BAD_ID = 45


def customer(i, name=None):
    import datetime as dt
    return {"id": i, "email": f"user{i}@example.com", "full_name": name or f"User {i}",
            "created_at": dt.datetime(2024, 5, 1, 12, 0, 0, 123456), "is_active": True}


def dlq_records(since=None):
    """Every DLQ record as (partition, offset, key, value, headers dict); `since`: {partition: first offset}."""
    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-supervisor-dlq", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    try:
        meta = consumer.list_topics(DLQ, timeout=10).topics[DLQ]
        out = []
        for p in sorted(meta.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(DLQ, p), timeout=10)
            start = max(low, (since or {}).get(p, low))
            if start >= high:
                continue
            consumer.assign([TopicPartition(DLQ, p, start)])
            while True:
                msg = consumer.poll(5)
                assert msg is not None, f"timed out reading {DLQ}[{p}]"
                if msg.error():
                    break
                out.append((p, msg.offset(), msg.key(), msg.value(),
                            {k: (v or b"").decode() for k, v in msg.headers() or []}))
                if msg.offset() + 1 >= high:
                    break
        return out
    finally:
        consumer.close()


def dlq_ends():
    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-supervisor-dlq"})
    try:
        meta = consumer.list_topics(DLQ, timeout=10).topics[DLQ]
        return {p: consumer.get_watermark_offsets(TopicPartition(DLQ, p), timeout=10)[1] for p in meta.partitions}
    finally:
        consumer.close()


def read_origin(topic, partition, offset):
    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-supervisor-origin"})
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        msg = consumer.poll(10)
        assert msg is not None and not msg.error() and msg.offset() == offset
        return msg.key(), msg.value(), msg.headers() or []
    finally:
        consumer.close()


def sluice_dlq(*args):
    cmd = [sys.executable, str(ROOT / "scripts" / "sluice-dlq"), "--bootstrap", KAFKA, *kafka_cli_login(), "--dlq-topic", DLQ, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def column_type(pg):  # noqa: F811
    return rows(pg, "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = 'cdc.customers'::regclass AND a.attname = 'full_name'")[0][0]


def supervisor_metric(name):
    out = docker_exec("sluice-connect", "python3", "-c", "import urllib.request;print(urllib.request.urlopen("
                      "'http://127.0.0.1:9406/metrics').read().decode())").stdout
    total = 0.0
    for line in out.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_supervisor_is_active_and_exports_metrics():
    assert docker_exec("sluice-connect", "systemctl", "is-active", "sluice-supervisor").stdout.strip() == "active"
    wait_for(lambda: supervisor_metric("sluice_supervisor_active") == 1, timeout=60, what="an active supervisor")
    assert supervisor_metric("sluice_supervisor_up") == 1


def test_rejected_record_is_quarantined_exactly_and_replayed(pg):  # noqa: F811
    gen = Generator()
    sink = KafkaSink(KAFKA, config=kafka_client(KAFKA))
    rows(pg, f"TRUNCATE cdc.{TABLE}")
    topic = gen.encoder.topic(TABLE)
    for i in range(1, 31):
        sink.send_all(gen.insert(TABLE, customer(i)))
    sink.flush(60)
    wait_until_replicated(pg, gen, [TABLE])
    original_type = column_type(pg)
    quarantined_before = supervisor_metric("sluice_supervisor_quarantined_records_total")
    since = dlq_ends()
    # The cause: a target column narrower than the source's (PostgreSQL: 22001 value too long).
    rows(pg, f"ALTER TABLE cdc.{TABLE} ALTER COLUMN full_name TYPE varchar(20)")
    try:
        started = time.monotonic()
        for i in range(31, 61):
            sink.send_all(gen.insert(TABLE, customer(i, "x" * 40 if i == BAD_ID else None)))
            if i % 5 == 0:  # updates of older keys, before and after the bad record
                sink.send_all(gen.update(TABLE, {"id": i - 20, "full_name": f"Renamed {i}"}))
        sink.flush(60)

        def quarantined():
            found = [r for r in dlq_records(since) if r[4].get("sluice.quarantine.topic") == topic]
            return found or None
        found = wait_for(quarantined, timeout=600, interval=5, what="the rejected record in the DLQ")
        seconds = time.monotonic() - started
        expected_keys = {k for k in expected_rows(gen.tables[TABLE], gen.sink_state()[TABLE]) if k != (BAD_ID,)}
        wait_until_replicated(pg, gen, [TABLE], timeout=300, keys={TABLE: expected_keys})
        assert table_rows(pg, gen.tables[TABLE]).keys() == expected_keys, "only the rejected row is missing"
        time.sleep(15)  # nothing else goes to the DLQ afterwards
        found = [r for r in dlq_records(since) if r[4].get("sluice.quarantine.topic") == topic]
        assert len(found) == 1, found
        part, off, key, value, headers = found[0]
        assert json.loads(key)["payload"] == {"id": BAD_ID}
        assert json.loads(value)["payload"]["after"]["full_name"] == "x" * 40
        origin = read_origin(headers["sluice.quarantine.topic"], int(headers["sluice.quarantine.partition"]),
                             int(headers["sluice.quarantine.offset"]))
        assert origin[0] == key and origin[1] == value, "the DLQ copy is the record at the named offset, unchanged"
        assert headers["sluice.quarantine.connector"] == SINK
        assert "value too long" in headers["sluice.quarantine.error"], headers
        assert all_running(connect_status(SINK))
        assert supervisor_metric("sluice_supervisor_quarantined_records_total") == quarantined_before + 1
        assert not [n for n in connect_api().get(f"{CONNECT}/connectors", timeout=10).json()
                    if n.endswith("-sluice-probe")], "the probe connector was removed"
        print(f"\nquarantined {topic}[{headers['sluice.quarantine.partition']}]@{headers['sluice.quarantine.offset']}"
              f" in {seconds:.0f}s; {len(expected_keys)} other rows compared")

        listing = sluice_dlq("list")
        assert listing.returncode == 0 and f"{part}:{off}" in listing.stdout and "quarantined" in listing.stdout, \
            listing.stdout + listing.stderr
        dry = sluice_dlq("replay", f"{part}:{off}", "--dry-run")
        assert dry.returncode == 0 and "would replay" in dry.stdout, dry.stdout + dry.stderr
    finally:
        rows(pg, f"ALTER TABLE cdc.{TABLE} ALTER COLUMN full_name TYPE {original_type}")

    replay = sluice_dlq("replay", f"{part}:{off}")
    assert replay.returncode == 0 and "replayed" in replay.stdout, replay.stdout + replay.stderr
    wait_until_replicated(pg, gen, [TABLE], timeout=120)
    again = sluice_dlq("replay", f"{part}:{off}")
    assert again.returncode == 1 and "already replayed" in again.stdout, again.stdout + again.stderr
    assert "replayed" in sluice_dlq("list").stdout


def psql_admin(sql):
    out = docker_exec("sluice-pg", "runuser", "-u", "postgres", "--", "psql", "-d", "sluice", "-v", "ON_ERROR_STOP=1",
                      "-At", "-c", sql)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_task_failed_by_a_postgresql_outage_is_restarted_without_a_person(pg):  # noqa: F811
    """The sink's PostgreSQL sessions killed and its logins refused for up to 150 s under a trickle of changes
    (this test's own session is kept, so later tests keep theirs): if the sink task fails, the supervisor restarts
    it with back-off and, once logins work again, everything arrives. Prints the recovery time."""
    gen = Generator()
    sink = KafkaSink(KAFKA, config=kafka_client(KAFKA))
    rows(pg, "TRUNCATE cdc.orders")
    restarts_before = supervisor_metric("sluice_supervisor_task_restarts_total")
    failed_seen = False
    i = 0
    try:
        psql_admin("ALTER ROLE sluice_sink NOLOGIN")
        psql_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'sluice_sink' "
                   "AND pid <> %d" % pg.info.backend_pid)
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            i += 1
            sink.send_all(gen.insert("orders", {"id": i, "customer_id": i, "status": "new", "total": None,
                                                "ordered_at": None}))
            sink.flush(30)
            if any(t["state"] == "FAILED" for t in connect_status(SINK)["tasks"]):
                failed_seen = True
                time.sleep(30)   # the supervisor restarts it while logins are still refused: back-off
                break
            time.sleep(2)
    finally:
        psql_admin("ALTER ROLE sluice_sink LOGIN")
    back = time.monotonic()
    wait_until_replicated(pg, gen, ["orders"], timeout=300)
    recovery = time.monotonic() - back
    # A task whose killed session had no batch to write meanwhile fails only at its next batch, after the data is in:
    # the supervisor restarts it after its back-off.
    wait_for(lambda: all_running(connect_status(SINK)), timeout=180, what="every sink task RUNNING again")
    restarts = supervisor_metric("sluice_supervisor_task_restarts_total") - restarts_before
    if failed_seen:
        assert restarts >= 1, "the failed task came back only through a supervisor restart"
    print(f"\nsink sessions killed, logins refused: task failed={failed_seen}, supervisor restarts={restarts:.0f}, "
          f"{i} orders, caught up {recovery:.0f}s after logins were allowed again")


def test_quarantine_interrupted_after_the_dlq_copy_is_finished_without_a_second_copy(pg):  # noqa: F811
    """What a supervisor killed between its DLQ write and its offset move leaves behind — the copy in the DLQ, the
    sink STOPPED at the start of the failed batch, its state file — is finished by the next one: the offset moves
    past the record, everything else arrives, and the DLQ still holds one copy."""
    from confluent_kafka import Producer

    from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import dlq as dlqmod

    gen = Generator()
    sink = KafkaSink(KAFKA, config=kafka_client(KAFKA))
    rows(pg, f"TRUNCATE cdc.{TABLE}")
    topic = gen.encoder.topic(TABLE)
    for i in range(1, 11):
        sink.send_all(gen.insert(TABLE, customer(i)))
    sink.flush(60)
    wait_until_replicated(pg, gen, [TABLE])
    original_type = column_type(pg)
    since = dlq_ends()
    bad_id = 77
    rows(pg, f"ALTER TABLE cdc.{TABLE} ALTER COLUMN full_name TYPE varchar(20)")
    # The column is restored whatever fails below (else every later test sees varchar(20)).
    try:
        docker_exec("sluice-connect", "systemctl", "stop", "sluice-supervisor")
        state = "/var/lib/sluice-supervisor/quarantine-%s.json" % SINK
        try:
            for i in range(11, 21):
                sink.send_all(gen.insert(TABLE, customer(i)))
            sink.flush(60)
            delivered = {}
            producer = Producer({**kafka_client(KAFKA), "acks": "all"})
            for record in gen.insert(TABLE, customer(bad_id, "y" * 40)):
                producer.produce(record.topic, key=record.key, value=record.value,
                                 on_delivery=lambda err, msg: delivered.update(at=(msg.partition(), msg.offset())))
            producer.flush(30)
            partition, offset = delivered["at"]
            for i in range(21, 26):
                sink.send_all(gen.insert(TABLE, customer(i)))
            sink.flush(60)
            wait_for(lambda: failed_task(connect_status(SINK)), timeout=240, interval=2,
                     what="the sink task to fail on the rejected record")
            # The interrupted quarantine: sink stopped, the copy written, the offset not yet moved.
            connect_api().put(f"{CONNECT}/connectors/{SINK}/stop", timeout=30)
            wait_for(lambda: connect_status(SINK)["connector"]["state"] == "STOPPED", timeout=60, what="the sink to stop")
            key, value, headers = read_origin(topic, partition, offset)
            original = {"topic": topic, "partition": partition, "offset": offset, "headers": headers}
            producer.produce(DLQ, key=key, value=value, headers=dlqmod.quarantine_headers(
                original, SINK, "ERROR: value too long for type character varying(20)", "22001"))
            producer.flush(30)
            docker_exec("sluice-connect", "sh", "-c", "echo '{\"connector\": \"%s\", \"started\": 0}' > %s && "
                        "chown sluice-supervisor: %s" % (SINK, state, state))
        finally:
            docker_exec("sluice-connect", "systemctl", "start", "sluice-supervisor")
        expected_keys = {k for k in expected_rows(gen.tables[TABLE], gen.sink_state()[TABLE]) if k != (bad_id,)}
        wait_until_replicated(pg, gen, [TABLE], timeout=300, keys={TABLE: expected_keys})
        assert table_rows(pg, gen.tables[TABLE]).keys() == expected_keys
        copies = [r for r in dlq_records(since) if r[4].get("sluice.quarantine.topic") == topic]
        assert [(r[4]["sluice.quarantine.partition"], r[4]["sluice.quarantine.offset"]) for r in copies] == \
            [(str(partition), str(offset))], "one copy, the one written before the 'crash'"
        assert all_running(connect_status(SINK))
        journal = docker_exec("sluice-connect", "journalctl", "-u", "sluice-supervisor", "-o", "cat",
                              "--since", "-10min").stdout
        assert '"outcome": "already_quarantined"' in journal and "quarantine_resumed" in journal
        assert docker_exec("sluice-connect", "test", "-e", state).returncode == 1, "the state file is gone"
    finally:
        rows(pg, f"ALTER TABLE cdc.{TABLE} ALTER COLUMN full_name TYPE {original_type}")
