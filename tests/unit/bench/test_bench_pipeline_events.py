"""bench/pipeline_events.py and bench/pipeline.py's pure parts: spool frames, send-time stamping, shard key spaces,
end markers, key queries, argument handling and the summary, without Kafka, Connect or PostgreSQL."""
import json

import pytest

from bench import pipeline as bench
from bench import pipeline_events as ev
from bench import pipeline_stats as st
from tests.support.cdcgen import TABLES

NOW_MS = 1_778_000_000_123


def test_frames_round_trip_with_tombstones():
    frames = [(0, b"c", b"k1", b"v1"), (3, b"d", b"key-2", b"{}"), (3, b"t", b"key-2", None)]
    data = b"".join(ev.frame(*f) for f in frames)
    assert list(ev.read_frames(data)) == frames
    assert list(ev.read_frames(b"")) == []


def shard(tmp_path, number, count=400, seed=7):
    path = tmp_path / f"{number}.spool"
    summary = ev.generate_shard((seed, number, count, str(path)))
    return summary, list(ev.read_frames(path.read_bytes()))


def test_generated_shard_is_mixed_and_counted(tmp_path):
    summary, frames = shard(tmp_path, 2, count=1500)
    values = [f for f in frames if f[3] is not None]
    assert summary["events"] == len(values) == 1500
    assert summary["tombstones"] == sum(1 for f in frames if f[1] == b"t") == summary["ops"]["d"]
    assert all(summary["ops"][op] > 0 for op in "cud")   # inserts, updates and deletes
    assert {ev.TABLE_NAMES[f[0]] for f in values} == set(TABLES)   # every sample table, all_types included
    for index, op, key, value in values[:200]:
        envelope = json.loads(value)["payload"]
        assert envelope["op"] == op.decode()
        assert envelope["source"]["table"] == ev.TABLE_NAMES[index]
        assert envelope["source"]["ts_ms"] == ev.SENTINEL_MS
    assert (tmp_path / "2.spool").exists() and not (tmp_path / "2.spool.part").exists()


def test_stamp_sets_every_time_field_without_changing_the_length(tmp_path):
    _, frames = shard(tmp_path, 0, count=50)
    value = next(f[3] for f in frames if f[3] is not None)
    stamped = ev.stamp(value, NOW_MS)
    assert len(stamped) == len(value) and ev.SENTINEL not in stamped
    payload = json.loads(stamped)["payload"]
    assert payload["source"]["ts_ms"] == payload["ts_ms"] == NOW_MS
    assert payload["source"]["ts_us"] == payload["ts_us"] == NOW_MS * 1000
    assert payload["source"]["ts_ns"] == payload["ts_ns"] == NOW_MS * 1_000_000
    assert ev.op_of(stamped) == payload["op"].encode()


def keys(frames):
    return {(ev.TABLE_NAMES[i], ev.key_of(ev.TABLE_NAMES[i], k)) for i, _, k, _ in frames}


def test_shards_have_disjoint_key_spaces(tmp_path):
    _, first = shard(tmp_path, 0)
    _, second = shard(tmp_path, 1)
    assert keys(first) and keys(second)
    assert not keys(first) & keys(second)
    ids = [k[0] for t, k in keys(second) if t == "customers"]
    assert min(ids) > ev.KEY_STRIDE and max(ids) < 2 * ev.KEY_STRIDE
    with pytest.raises(ValueError):
        ev.workload_for(ev.MAX_SHARD + 1, 1)


def test_markers_one_per_partition_and_their_keys():
    partitions = {"customers": 3, "orders": 3, "line_items": 1, "inventory_levels": 2, "all_types": 3}
    records = ev.markers(4, partitions)
    assert [(t, p) for t, p, _, _ in records] == [(t, p) for t in ev.TABLE_NAMES for p in range(partitions[t])]
    expected = ev.marker_keys(4, partitions)
    for table, _, key, value in records:
        assert ev.key_of(table, key) in expected[table]
        assert json.loads(value)["payload"]["op"] == "c"
    assert sum(len(k) for k in expected.values()) == len(records) == 12
    assert not set(expected["customers"]) & set(ev.marker_keys(5, partitions)["customers"])   # phases differ
    assert all(k[0] > 2 ** 31 - 2 ** 27 for k in expected["all_types"])   # above every shard's ids


def test_keys_query_and_arrays():
    sql = ev.keys_query("inventory_levels", "t.xmin")
    assert "unnest(%s::bigint[], %s::text[]) AS k(c0, c1)" in sql
    assert "ON t.warehouse_id = k.c0 AND t.sku = k.c1" in sql and sql.startswith("SELECT json_build_array(")
    assert ", t.xmin FROM cdc.inventory_levels" in sql
    assert "unnest(%s::bigint[]) AS k(c0)" in ev.keys_query("customers")
    assert ev.key_arrays([(1, "a"), (2, "b")]) == [[1, 2], ["a", "b"]]
    assert ev.key_arrays([]) == [[]]


def test_cached_summary(tmp_path):
    path = ev.spool_path(tmp_path, 1, 0, 10)
    assert ev.cached_summary(path) is None
    path.write_bytes(b"")
    path.with_suffix(".json").write_text('{"events": 10}')
    assert ev.cached_summary(path) == {"events": 10}
    assert ev.cdcgen_fingerprint() in path.name


class FakeSender:
    def __init__(self):
        self.records, self.flushed = [], 0

    def produce(self, topic, key, value, partition=-1):
        self.records.append((topic, key, value, partition))

    def flush(self):
        self.flushed += 1


def test_send_spools_stamps_paces_and_reports_events(tmp_path):
    summary, frames = shard(tmp_path, 0, count=300)
    topics = [f"topic.{t}" for t in ev.TABLE_NAMES]
    seen, sender = [], FakeSender()
    events, seconds = bench.send_spools(sender, [str(tmp_path / "0.spool")], topics, ev.stamp, rate=2000,
                                        on_event=lambda *a: seen.append(a))
    assert events == len(seen) == 300 and sender.flushed == 1
    assert len(sender.records) == len(frames)   # tombstones are sent too
    assert seconds >= 299 / 2000 * 0.9
    assert all(v is None or ev.SENTINEL not in v for _, _, v, _ in sender.records)
    assert [s[1] for s in seen] == [f[1] for f in frames if f[3] is not None]
    assert sender.records[0][0] == topics[frames[0][0]]


def test_parse_args_quick_and_phases():
    args = bench.parse_args(["--quick", "--phases", "sink,lag"])
    assert (args.events, args.rates, args.step_seconds) == (20_000, [1000, 5000], 5)
    assert args.phases == ["sink", "lag"]
    default = bench.parse_args([])
    assert default.events == 1_000_000 and default.rates == [1000, 5000, 10000, 20000]
    assert bench.parse_args(["--rates", "2k,8000"]).rates == [2000.0, 8000.0]
    assert default.formats == ["json"] and bench.parse_args(["--formats", "json, avro"]).formats == ["json", "avro"]
    assert default.repeat == 1 and bench.parse_args(["--repeat", "3"]).repeat == 3
    for bad in (["--phases", "sink,warp"], ["--formats", "json,protobuf"], ["--formats", ","], ["--repeat", "0"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_the_machine_speed_is_events_encoded_per_second():
    assert ev.encode_rate(seconds=0.2) > 100


def test_summary_prints_every_figure():
    resources = {"seconds": 30.0, "peak_rss_total_mib": 2900, "cpus_total": 1.7, "within_budget": True,
                 "components": {"kafka": {"cpu_s": 9.0, "cpus": 0.3, "peak_rss_mib": 900}}}
    run = {
        "first": True,
        "sink": {"producer_events_per_s": 90000, "events": 1_000_000, "events_per_s": 36000, "producer_s": 11.1,
                 "rows_per_s": 30500,
                 "row_ops": 850_000, "window_s": 27.9, "row_ops_before_clock": 120_000, "clock_from_resume": False,
                 "per_second_median": 31000, "rows_match_intended": True, "resources": resources,
                 "pg_activity": {"autovacuums": 2, "autoanalyzes": 3, "checkpoints": 1, "wal_bytes": 734003200,
                                 "wal_bytes_per_row_op": 864}},
        "ratio": 30500 / 70000,
        "e2e": {"rows_per_s": 25000, "events": 1_000_000, "events_per_s": 29000, "window_s": 34.0,
                "producer_s": 15.0, "rows_match_intended": True, "resources": {"error": "not measured: no docker"}},
        "lag": [{"rate": 10000, "p50_ms": 80.0, "p99_ms": 700.0, "max_ms": 900.0, "samples": 9000,
                 "expected": 9100, "achieved_rate": 9990, "resolution": "21 ms (mean poll period)",
                 "resources": resources}],
    }
    report = {
        "machine": {"cores": 2, "seconds": 2.0, "encode_events_per_s": 6500},
        "limit": {"copy_upsert": {"rows_per_s": 70000, "row_ops": 860_000, "seconds": 12.3},
                  "multirow_upsert": {"rows_per_s": 50000, "row_ops": 860_000, "seconds": 17.2},
                  "best": "copy_upsert", "best_rows_per_s": 70000},
        "formats": {"json": run},
    }
    text = bench.summary(report)
    for needle in ("6,500 ev/s", "in 2.0 s, 2 cores", "30,500 rows/s", "36,000 events/s", "70,000 rows/s", "0.44",
                   "25,000 rows/s", "lag at 10,000 ev/s", "p99 700 ms",
                   "within 4 GiB / 2 CPUs", "not measured: no docker", "9,000/9,100 samples",
                   "700 MiB WAL", "864 B per row op; 2 autovacuums, 3 autoanalyzes of the five tables, 1 checkpoints"):
        assert needle in text, needle


def test_summary_of_two_formats_names_each_and_the_message_sizes():
    def run(first, rows_per_s):
        return {"first": first, "ratio": rows_per_s / 70000,
                "sink": {"producer_events_per_s": 1, "events": 10, "events_per_s": 1, "producer_s": 1.0,
                         "rows_per_s": rows_per_s, "row_ops": 10, "window_s": 1.0, "row_ops_before_clock": 0,
                         "clock_from_resume": False, "per_second_median": 1, "rows_match_intended": True}}
    report = {"limit": {"copy_upsert": {"rows_per_s": 70000, "row_ops": 1, "seconds": 1.0},
                        "multirow_upsert": {"rows_per_s": 50000, "row_ops": 1, "seconds": 1.0},
                        "best": "copy_upsert", "best_rows_per_s": 70000},
              "formats": {"json": run(True, 9000),
                          "avro": {**run(False, 21000), "sizes": {"records": 1100, "json_bytes_per_record": 3400,
                                                                  "avro_bytes_per_record": 260}}}}
    text = bench.summary(report)
    assert "json: sink alone" in text and "avro: sink alone" in text and "21,000 rows/s" in text
    assert "3,400 -> 260 B" in text and "0.30" in text
    assert text.count("PG limit copy_upsert") == 1   # measured once, shown with the first format


def test_summary_of_repeated_sink_runs_prints_each_run_and_the_spread():
    def sink(rows_per_s, connect_cpu):
        return {"producer_events_per_s": 1, "events": 10, "events_per_s": rows_per_s + 1, "producer_s": 1.0,
                "rows_per_s": rows_per_s, "row_ops": 10, "window_s": 1.0, "row_ops_before_clock": 0,
                "clock_from_resume": False, "per_second_median": 1, "rows_match_intended": True,
                "resources": {"seconds": 1.0, "peak_rss_total_mib": 1, "cpus_total": 1.0, "within_budget": True,
                              "components": {n: {"cpu_s": c, "cpus": 1.0, "peak_rss_mib": 1}
                                             for n, c in (("connect", connect_cpu), ("postgresql", 20.0))}}}
    chosen = st.median_run([sink(12000, 50.0), sink(10000, 60.0), sink(11000, 55.5)])
    text = bench.summary({"formats": {"json": {"first": True, "sink": chosen}}})
    assert "11,000 rows/s" in text and "sink alone, 3 runs" in text and "spread 18 %" in text
    assert "rows/s 12,000, 10,000, 11,000; Connect CPU s 50.0, 60.0, 55.5" in text
    assert "autovacuums n/a, n/a, n/a" in text
