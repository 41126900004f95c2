"""KafkaSink (with a fake producer: no Kafka here), the key partitioner, the paced workload and the CLI."""
import io
import json
import subprocess
import sys

import pytest
from cdcgen_testlib import ROOT, FakeProducer

from tests.support.cdcgen import DEFAULT_PRODUCER_CONFIG, Generator, KafkaSink, SteppingClock, workload
from tests.support.cdcgen.__main__ import main, parse_args
from tests.support.cdcgen.producer import kafka_partition, murmur2


def test_sink_configuration():
    sink = KafkaSink("127.0.0.1:19092", producer=FakeProducer(), config={"linger.ms": 5})
    assert sink.config["bootstrap.servers"] == "127.0.0.1:19092"
    assert sink.config["partitioner"] == "murmur2_random"
    assert sink.config["acks"] == "all" and sink.config["enable.idempotence"] is True
    assert sink.config["linger.ms"] == 5
    assert DEFAULT_PRODUCER_CONFIG["linger.ms"] == 20  # the override did not leak into the defaults


def test_sink_builds_a_confluent_producer_from_its_config(monkeypatch):
    import confluent_kafka

    created = []

    class Recorder(FakeProducer):
        def __init__(self, config):
            super().__init__()
            created.append(config)

    monkeypatch.setattr(confluent_kafka, "Producer", Recorder)
    sink = KafkaSink("k1:9092,k2:9092")
    assert isinstance(sink.producer, Recorder)
    assert created == [sink.config]


def test_sink_sends_records_and_counts_deliveries(gen):
    records = gen.insert("customers", {"id": 1, "email": "a@example.org"}) + gen.delete("customers", 1)
    producer = FakeProducer()
    sink = KafkaSink("x:1", producer=producer)
    assert sink.send_all(records) == 3
    assert sink.flush() == 3 and sink.sent == 3 and sink.failed == 0
    assert producer.produced == [(r.topic, r.key, r.value) for r in records]
    assert producer.produced[-1][2] is None  # the tombstone goes out with a null value


def test_sink_retries_when_the_local_queue_is_full(gen):
    producer = FakeProducer(buffer_errors=2)
    sink = KafkaSink("x:1", producer=producer)
    sink.send_all(gen.insert("customers", {"id": 1, "email": "a@example.org"}))
    assert sink.flush() == 1 and len(producer.produced) == 1 and producer.polls >= 2


def test_sink_reports_failed_and_undelivered_records(gen):
    records = gen.insert("orders", {"id": 1}) + gen.insert("customers", {"id": 1, "email": "e"})
    sink = KafkaSink("x:1", producer=FakeProducer(fail_topics={"sluice.sluice_demo.dbo.orders"}))
    sink.send_all(records)
    with pytest.raises(RuntimeError, match="1 record"):
        sink.flush()
    assert (sink.delivered, sink.failed) == (1, 1) and "authorization" in sink.errors[0]
    stuck = KafkaSink("x:1", producer=FakeProducer(stuck=2))
    with pytest.raises(TimeoutError):
        stuck.flush(timeout=0.1)


def test_sink_as_context_manager_flushes(gen):
    producer = FakeProducer()
    with KafkaSink("x:1", producer=producer) as sink:
        sink.send(gen.insert("customers", {"id": 1, "email": "e"})[0])
    assert sink.delivered == 1


@pytest.mark.parametrize("key, hashed, of3, of12", [
    # Values computed with org.apache.kafka.common.utils.Utils.murmur2/toPositive from kafka-clients 4.3.0.
    (b"21", -973932308, 0, 0),
    (b"foobar", -790332482, 0, 6),
    (b"a-little-bit-long-string", -985981536, 2, 8),
    (b"abc", 479470107, 0, 3),
    (b'{"schema":{"type":"struct"},"payload":{"id":1}}', -502607883, 2, 5),
])
def test_murmur2_partitioner_matches_the_java_client(key, hashed, of3, of12):
    assert murmur2(key) == hashed
    assert (kafka_partition(key, 3), kafka_partition(key, 12)) == (of3, of12)


class VirtualTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def monotonic(self):
        self.now += 0.0001  # generating an event takes a little time
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_workload_paces_to_the_rate_and_reports_progress():
    t = VirtualTime()
    out = io.StringIO()
    sink = KafkaSink("x:1", producer=FakeProducer())
    summary = workload(200, seed=1, rate=100, sink=sink, clock=SteppingClock(), progress=out, progress_interval=0.5,
                       sleep=t.sleep, monotonic=t.monotonic)
    assert summary["events"] == 200
    assert summary["delivered"] == summary["records"] == 200 + summary["tombstones"]
    assert 1.95 <= summary["duration_s"] <= 2.1          # 200 events at 100/s
    assert 95 <= summary["rate"] <= 101
    assert t.sleeps and all(s > 0 for s in t.sleeps)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 4 and "events sent" in lines[0] and "events/s" in lines[0]
    assert lines[-1].startswith("cdcgen: done, 200 events")


def test_workload_without_rate_does_not_sleep():
    t = VirtualTime()
    summary = workload(50, seed=1, clock=SteppingClock(), progress=None, sleep=t.sleep, monotonic=t.monotonic)
    assert t.sleeps == [] and summary["delivered"] is None and summary["events"] == 50


@pytest.mark.parametrize("kwargs", [{"count": -1}, {"count": 1, "rate": 0}])
def test_workload_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        workload(progress=None, **kwargs)


def test_workload_stops_when_told():
    t = VirtualTime()
    sink = KafkaSink("x:1", producer=FakeProducer())
    summary = workload(10 ** 9, seed=1, rate=100, sink=sink, clock=SteppingClock(), progress=None,
                       sleep=t.sleep, monotonic=t.monotonic, stop=lambda: t.now >= 103)
    assert 290 <= summary["events"] <= 310               # 3 s at 100/s, then stopped
    assert summary["delivered"] == summary["records"] == summary["events"] + summary["tombstones"]


def test_workload_of_zero_events():
    summary = workload(0, progress=None)
    assert summary["events"] == 0 and summary["records"] == 0


# --- CLI -----------------------------------------------------------------------------------------------------------
def test_cli_dry_run_prints_a_json_summary():
    out, err = io.StringIO(), io.StringIO()
    assert main(["--dry-run", "--count", "300", "--seed", "1", "--tables", "customers,orders"],
                stdout=out, stderr=err) == 0
    summary = json.loads(out.getvalue())
    assert summary["events"] == 300 and set(summary["events_per_table"]) == {"customers", "orders"}
    assert summary["topics"] == {"customers": "sluice.sluice_demo.dbo.customers",
                                 "orders": "sluice.sluice_demo.dbo.orders"}
    assert set(summary["rows"]) == {"customers", "orders", "line_items", "inventory_levels", "all_types"}
    assert "duration_s" in summary and summary["delivered"] is None
    assert "cdcgen: done" in err.getvalue()


def test_cli_sends_through_the_sink():
    sinks = []

    def factory(bootstrap, config):
        sink = KafkaSink(bootstrap, config=config, producer=FakeProducer())
        sinks.append(sink)
        return sink

    out = io.StringIO()
    code = main(["--bootstrap", "127.0.0.1:19092", "--count", "100", "--rate", "100000", "--seed", "2", "--quiet",
                 "--producer-config", "linger.ms=1"], sink_factory=factory, stdout=out)
    summary = json.loads(out.getvalue())
    assert code == 0 and summary["delivered"] == summary["records"] == sinks[0].delivered
    assert sinks[0].config["linger.ms"] == "1" and summary["bootstrap"] == "127.0.0.1:19092"


def test_cli_reports_delivery_failures():
    def factory(bootstrap, config):
        return KafkaSink(bootstrap, producer=FakeProducer(fail_topics={"sluice.sluice_demo.dbo.customers"}))

    err = io.StringIO()
    assert main(["--bootstrap", "b:1", "--count", "20", "--tables", "customers", "--quiet"], sink_factory=factory,
                stdout=io.StringIO(), stderr=err) == 1
    assert "failed" in err.getvalue()


@pytest.mark.parametrize("argv", [
    ["--count", "10"],                                # no --bootstrap
    ["--dry-run", "--tables", "customers,nope"],
    ["--dry-run", "--rate", "0"],
    ["--dry-run", "--count", "-5"],
    ["--dry-run", "--producer-config", "novalue"],
])
def test_cli_argument_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2


def test_cli_runs_as_a_module_from_the_repository_root():
    out = subprocess.run([sys.executable, "-m", "tests.support.cdcgen", "--dry-run", "--count", "20", "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout)["events"] == 20


def test_generator_defaults():
    g = Generator()
    assert (g.prefix, g.database, g.schema) == ("sluice", "sluice_demo", "dbo")
    assert g.encoder.topic("customers") == "sluice.sluice_demo.dbo.customers"
