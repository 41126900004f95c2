"""The heartbeat row's change stream (end-to-end lag in the monitoring scenario): what the Debezium SQL Server
source emits for `UPDATE dbo.sluice_heartbeat SET ts = SYSUTCDATETIME() WHERE id = 1`."""
import datetime as dt
import io
import json

from cdcgen_testlib import FakeProducer, payload

from tests.support.cdcgen import HEARTBEAT_TABLE, Generator, Heartbeat, KafkaSink, Lsn, SteppingClock, workload
from tests.support.cdcgen.__main__ import main

START_NS = 1_700_000_000_000_000_000  # SteppingClock's first reading: 2023-11-14T22:13:20Z


class VirtualTime:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_heartbeat_table_is_the_one_the_sqlserver_role_creates():
    # docs/sqlserver.md: CREATE TABLE [dbo].[sluice_heartbeat] (id INT PRIMARY KEY, ts DATETIME2(7) NOT NULL)
    assert HEARTBEAT_TABLE.ddl() == ("CREATE TABLE dbo.sluice_heartbeat (\n    id int NOT NULL,\n"
                                     "    ts datetime2(7) NOT NULL,\n"
                                     "    CONSTRAINT PK_sluice_heartbeat PRIMARY KEY (id)\n);")


def test_first_beat_inserts_row_1_later_beats_update_its_ts(gen):
    hb = Heartbeat(gen)
    first = hb.beat()
    second = hb.beat()
    assert [r.topic for r in first + second] == ["sluice.sluice_demo.dbo.sluice_heartbeat"] * 2
    assert hb.topic == "sluice.sluice_demo.dbo.sluice_heartbeat"
    assert [json.loads(r.key)["payload"] for r in first + second] == [{"id": 1}, {"id": 1}]
    p1, p2 = payload(first[0]), payload(second[0])
    assert p1["op"] == "c" and p1["before"] is None
    assert p2["op"] == "u" and p2["before"] == p1["after"]
    # datetime2(7) travels as io.debezium.time.NanoTimestamp: epoch nanoseconds of the UTC wall-clock time
    assert p1["after"]["ts"] == START_NS
    assert p2["after"]["ts"] > p1["after"]["ts"]
    ts_field = [f for f in json.loads(first[0].value)["schema"]["fields"] if f["field"] == "after"][0]["fields"][1]
    assert ts_field["name"] == "io.debezium.time.NanoTimestamp"
    assert p1["source"]["table"] == "sluice_heartbeat" and p1["source"]["db"] == "sluice_demo"
    assert hb.row == {"id": 1, "ts": dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=p2["after"]["ts"] // 1000)}
    assert hb.beats == 2


def test_heartbeats_share_the_generators_lsn_sequence(gen):
    hb = Heartbeat(gen)
    a = payload(gen.insert("customers", {"id": 1, "email": "a@example.org"})[0])["source"]["commit_lsn"]
    b = payload(hb.beat()[0])["source"]["commit_lsn"]
    c = payload(gen.insert("customers", {"id": 2, "email": "b@example.org"})[0])["source"]["commit_lsn"]
    assert Lsn.parse(a) < Lsn.parse(b) < Lsn.parse(c)


def test_an_explicit_ts_is_stored_at_datetime2_7_precision(gen):
    hb = Heartbeat(gen)
    record = hb.beat(ts=dt.datetime(2026, 11, 28, 12, 0, 0, 123456))[0]
    assert payload(record)["after"]["ts"] == 1_795_867_200_123_456_000


def test_workload_emits_heartbeats_during_load():
    t = VirtualTime()
    gen = Generator(clock=SteppingClock())
    hb = Heartbeat(gen)
    producer = FakeProducer()
    summary = workload(300, seed=1, rate=100, sink=KafkaSink("x:1", producer=producer), generator=gen,
                       heartbeat=hb, heartbeat_interval=0.5, progress=None, sleep=t.sleep, monotonic=t.monotonic)
    beats = [p for p in producer.produced if p[0] == hb.topic]
    # 3 s of load at one beat per 0.5 s: a beat at 0, 0.5, ..., 2.5 (and maybe one at the very end)
    assert summary["heartbeats"] == len(beats) and 6 <= len(beats) <= 7
    assert summary["events"] == 300 and "sluice_heartbeat" not in summary["events_per_table"]
    assert summary["delivered"] == summary["records"] + len(beats)


def test_workload_of_zero_events_sends_one_heartbeat():
    summary = workload(0, heartbeat=Heartbeat(Generator(clock=SteppingClock())), progress=None)
    assert summary["heartbeats"] == 1 and summary["events"] == 0


def test_workload_without_heartbeat_has_no_heartbeat_key():
    assert "heartbeats" not in workload(10, seed=1, clock=SteppingClock(), progress=None)


def test_cli_heartbeat_interval():
    out = io.StringIO()
    assert main(["--dry-run", "--count", "20", "--heartbeat-interval", "1", "--quiet"], stdout=out) == 0
    assert json.loads(out.getvalue())["heartbeats"] >= 1
    out = io.StringIO()
    assert main(["--dry-run", "--count", "20", "--quiet"], stdout=out) == 0
    assert "heartbeats" not in json.loads(out.getvalue())
