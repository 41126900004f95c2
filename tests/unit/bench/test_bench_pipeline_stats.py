"""bench/pipeline_stats.py: the arithmetic behind every figure bench/pipeline.py prints."""
import pytest

from bench import pipeline_stats as st


def test_split_evenly_sums_and_spreads_the_rest():
    assert st.split_evenly(10, 3) == [4, 3, 3]
    assert st.split_evenly(2, 4) == [1, 1, 0, 0]
    assert sum(st.split_evenly(1_000_000, 7)) == 1_000_000
    with pytest.raises(ValueError):
        st.split_evenly(5, 0)


def test_plan_steps_and_parse_rates():
    assert st.parse_rates("1000, 5k,10000") == [1000.0, 5000.0, 10000.0]
    assert st.plan_steps([1000, 2500.5], 20) == [(1000, 20000), (2500.5, 50010)]
    for bad in ("", "0", "1000,-5"):
        with pytest.raises(ValueError):
            st.parse_rates(bad)
    with pytest.raises(ValueError):
        st.plan_steps([1000], 0)


def test_ops_and_rates():
    before = {"customers": (10, 5, 1), "orders": (0, 0, 0)}
    after = {"customers": (110, 25, 6), "orders": (40, 0, 0), "all_types": (3, 0, 0)}
    assert st.ops_total(after) == 184
    assert st.ops_delta(before, after) == {"customers": 125, "orders": 40, "all_types": 3}
    assert st.per_second(30_000, 2.0) == 15_000
    assert st.per_second(5, 0) is None
    assert st.rate_series([(0.0, 0), (1.0, 100), (1.0, 150), (3.0, 350)]) == [100.0, 100.0]


def test_percentile_interpolates_between_ranks():
    values = list(range(1, 101))   # 1..100
    assert st.percentile(values, 50) == pytest.approx(50.5)
    assert st.percentile(values, 99) == pytest.approx(99.01)
    assert st.percentile(values, 100) == 100
    assert st.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        st.percentile([], 50)


def test_lags_and_summary_leave_out_keys_that_never_arrived():
    sent = {("customers", (1,)): 1000, ("customers", (2,)): 1000, ("orders", (9,)): 2000}
    arrived = {("customers", (1,)): 1040.0, ("orders", (9,)): 2600.0}
    measured = st.lags(sent, arrived)
    assert sorted(measured) == [40.0, 600.0]
    summary = st.lag_summary(measured, len(sent))
    assert summary == {"samples": 2, "expected": 3, "p50_ms": 320.0, "p99_ms": 594.4, "max_ms": 600.0}
    assert st.lag_summary([], 5) == {"samples": 0, "expected": 5}


def test_ratio():
    assert st.ratio(36_000, 72_000) == 0.5
    assert st.ratio(None, 72_000) is None
    assert st.ratio(36_000, 0) is None


def test_connect_states_and_signature():
    running = {"connector": {"state": "RUNNING"},
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w:8083"},
                         {"id": 1, "state": "RUNNING", "worker_id": "w:8083"}]}
    assert st.all_in_state(running, "RUNNING")
    assert not st.all_in_state(running, "PAUSED")
    assert not st.all_in_state({"connector": {"state": "RUNNING"}, "tasks": []}, "RUNNING")
    assert not st.all_in_state(None, "RUNNING")
    moved = {**running, "tasks": [running["tasks"][0], {"id": 1, "state": "RUNNING", "worker_id": "v:8083"}]}
    assert st.task_signature(running) != st.task_signature(moved)
    assert st.task_signature(running) == st.task_signature({**running, "tasks": running["tasks"][::-1]})


CGROUP = """usage_usec 12500000
user_usec 10000000
system_usec 2500000
anon 734003200
file 2147483648
shmem 134217728
oom_kill 0
some avg10=0.00 avg60=0.00
"""


def test_resource_sample_counts_anon_and_shmem_not_page_cache():
    cpu_s, rss = st.resource_sample(CGROUP)
    assert cpu_s == 12.5
    assert rss == 734003200 + 134217728
    assert st.parse_keyed("a 1\nb -2\nc x\nd 1 2\n") == {"a": 1, "b": -2}
    with pytest.raises(ValueError):
        st.resource_sample("usage_usec 1\n")


def test_window_resources_and_budget():
    mib = 2 ** 20
    samples = [(0.0, {"kafka": (10.0, 900 * mib), "connect": (5.0, 1000 * mib), "postgresql": (1.0, 300 * mib)}),
               (5.0, {"kafka": (12.0, 1000 * mib), "connect": (10.0, 1100 * mib), "postgresql": (4.0, 500 * mib)}),
               (10.0, {"kafka": (14.0, 950 * mib), "connect": (14.0, 1200 * mib), "postgresql": (6.0, 400 * mib)})]
    out = st.window_resources(samples)
    assert out["seconds"] == 10.0
    assert out["components"]["kafka"] == {"cpu_s": 4.0, "peak_rss_mib": 1000, "cpus": 0.4}
    assert out["components"]["connect"]["cpu_s"] == 9.0
    assert out["components"]["postgresql"]["peak_rss_mib"] == 500
    assert out["peak_rss_total_mib"] == 2600   # the peak of the sum, not the sum of the peaks (2700)
    assert out["cpus_total"] == 1.8
    assert out["within_budget"] is True
    hungry = [(t, {**s, "connect": (s["connect"][0] * 3, s["connect"][1])}) for t, s in samples]
    assert st.window_resources(hungry)["within_budget"] is False   # 27 + 4 + 5 CPU s in 10 s
    assert st.window_resources(samples[:1]) == {}


def test_table_and_fmt():
    text = st.table([("sink alone", st.fmt(36123.4, " rows/s"), "1 task"), ("ratio", st.fmt(None), "")])
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "value", "how"]
    assert set(lines[1]) == {"-"}
    assert lines[2].startswith("sink alone") and "36,123 rows/s" in lines[2] and lines[2].endswith("1 task")
    assert lines[3].split() == ["ratio", "n/a"]
    assert st.fmt(0.4567, "", 2) == "0.46"


def test_cgroup_v1_readings_become_the_v2_sample():
    text = st.cgroup_v1_as_v2("2500000000\n", "cache 99\nrss 10\ntotal_rss 3145728\ntotal_shmem 1048576\n")
    assert st.resource_sample(text) == (2.5, 4 * 2 ** 20)


def test_median_run_keeps_every_run_and_the_spread():
    def run(rate, match=True, cpu=None):
        res = {"components": {"connect": {"cpu_s": cpu}}} if cpu else None
        return {"rows_per_s": rate, "events_per_s": rate * 2, "rows_match_intended": match, "resources": res}
    chosen = st.median_run([run(300, cpu=9.0), run(100), run(200, match=False)])
    assert chosen["rows_per_s"] == 200 and chosen["rows_match_intended"] is False
    rep = chosen["repeats"]
    assert rep["rows_per_s"] == [300, 100, 200] and rep["events_per_s"] == [600, 200, 400]
    assert rep["connect_cpu_s"] == [9.0, None, None] and rep["spread"] == 1.0 and rep["all_rows_match"] is False
    assert st.median_run([run(5), run(7)])["rows_per_s"] == 5      # the lower middle of an even count
    assert st.median_run([run(0)])["repeats"]["spread"] is None
    with pytest.raises(ValueError):
        st.median_run([])


def test_activity_delta():
    before = {"autovacuums": 3, "autoanalyzes": 5, "checkpoints": 1, "wal_bytes": 1000}
    after = {"autovacuums": 5, "autoanalyzes": 5, "checkpoints": 2, "wal_bytes": 9000}
    assert st.activity_delta(before, after) == {"autovacuums": 2, "autoanalyzes": 0, "checkpoints": 1,
                                                "wal_bytes": 8000}
