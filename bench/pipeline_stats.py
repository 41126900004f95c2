"""Pure helpers of bench/pipeline.py: planning, rates, percentiles, resource parsing, the summary table.

No I/O here, so tests/unit/bench can check every figure's arithmetic without a running pipeline.
"""
from __future__ import annotations

import math

GIB = 1024 ** 3
BUDGET_RSS_BYTES = 4 * GIB   # the seed's budget for Kafka + Connect + PostgreSQL together
BUDGET_CPUS = 2.0


# --- planning ---------------------------------------------------------------------------------------------------
def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` events over ``parts`` generator shards, as evenly as possible (the first ones get the rest)."""
    if total < 0 or parts < 1:
        raise ValueError("need total >= 0 and parts >= 1")
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def plan_steps(rates: list[float], seconds: float) -> list[tuple[float, int]]:
    """(rate, events) of each lag step: ``rate`` events/s held for ``seconds``."""
    if seconds <= 0 or any(r <= 0 for r in rates):
        raise ValueError("rates and seconds must be > 0")
    return [(r, max(1, round(r * seconds))) for r in rates]


def parse_rates(text: str) -> list[float]:
    """``"1000,5000,10k"`` -> [1000.0, 5000.0, 10000.0]."""
    rates = []
    for part in text.split(","):
        part = part.strip().lower()
        if part:
            rates.append(float(part[:-1]) * 1000 if part.endswith("k") else float(part))
    if not rates or any(r <= 0 for r in rates):
        raise ValueError(f"not a list of positive rates: {text!r}")
    return rates


# --- rates and percentiles --------------------------------------------------------------------------------------
def per_second(count: float, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def ops_total(stats: dict[str, tuple[int, int, int]]) -> int:
    """Row operations in pg_stat_user_tables: n_tup_ins + n_tup_upd + n_tup_del summed over the tables."""
    return sum(sum(v) for v in stats.values())


def ops_delta(before: dict, after: dict) -> dict[str, int]:
    """Row operations per table between two pg_stat_user_tables readings ({table: (ins, upd, del)})."""
    return {t: sum(after[t]) - sum(before.get(t, (0, 0, 0))) for t in after}


def rate_series(samples: list[tuple[float, int]]) -> list[float]:
    """Rates between consecutive (time, cumulative count) samples; intervals of zero length are skipped."""
    return [(c1 - c0) / (t1 - t0) for (t0, c0), (t1, c1) in zip(samples, samples[1:]) if t1 > t0]


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of already sorted values, linear between closest ranks (numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError("p must be in 0..100")
    pos = (len(sorted_values) - 1) * p / 100
    low, high = math.floor(pos), math.ceil(pos)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def lag_summary(lags_ms: list[float], expected: int) -> dict:
    """p50/p99/max of lags (ms) and how many of the ``expected`` samples were measured at all."""
    values = sorted(lags_ms)
    out = {"samples": len(values), "expected": expected}
    if values:
        out.update(p50_ms=round(percentile(values, 50), 1), p99_ms=round(percentile(values, 99), 1),
                   max_ms=round(values[-1], 1))
    return out


def lags(sent_ms: dict, arrived_ms: dict) -> list[float]:
    """arrived - sent for every key measured on both sides (keys never seen arriving are left out)."""
    return [arrived_ms[k] - sent_ms[k] for k in sent_ms if k in arrived_ms]


def ratio(pipeline: float | None, limit: float | None) -> float | None:
    """pipeline / PostgreSQL's own limit: the figure that should hold from machine to machine."""
    if not pipeline or not limit:
        return None
    return pipeline / limit


def median_run(runs: list[dict]) -> dict:
    """The run with the median ``rows_per_s`` of repeated sink runs (the lower middle one of an even count), with
    every run's rates and CPU seconds beside it under ``repeats`` so that the spread is printed, not hidden."""
    if not runs:
        raise ValueError("no runs")
    ordered = sorted(runs, key=lambda r: r["rows_per_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])

    def cpu(run, name):
        return ((run.get("resources") or {}).get("components") or {}).get(name, {}).get("cpu_s")

    rates = [r["rows_per_s"] for r in runs]
    chosen["repeats"] = {"rows_per_s": rates, "events_per_s": [r["events_per_s"] for r in runs],
                         "connect_cpu_s": [cpu(r, "connect") for r in runs],
                         "postgresql_cpu_s": [cpu(r, "postgresql") for r in runs],
                         "autovacuums": [(r.get("pg_activity") or {}).get("autovacuums") for r in runs],
                         "spread": round((max(rates) - min(rates)) / chosen["rows_per_s"], 3)
                         if chosen["rows_per_s"] else None,
                         "all_rows_match": all(r["rows_match_intended"] for r in runs)}
    return chosen


def activity_delta(before: dict, after: dict) -> dict:
    """PostgreSQL's own work between two pg_activity readings (counters and the WAL position only grow)."""
    return {k: after[k] - before[k] for k in before}


# --- Connect status -----------------------------------------------------------------------------------------------
def all_in_state(status: dict | None, state: str) -> bool:
    """The connector and every one of its tasks (at least one) are in ``state``."""
    if not status or status.get("connector", {}).get("state") != state:
        return False
    tasks = status.get("tasks") or []
    return bool(tasks) and all(t.get("state") == state for t in tasks)


def task_signature(status: dict) -> tuple:
    """What must not change while tasks settle: each task's id, state and worker (a restart or a rebalance shows)."""
    return tuple(sorted((t.get("id"), t.get("state"), t.get("worker_id")) for t in status.get("tasks") or []))


# --- resources (cgroup v2 files of each component's container) ---------------------------------------------------
def parse_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.stat, several files concatenated) into a dict; other lines ignored."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def resource_sample(text: str) -> tuple[float, int]:
    """(cumulative CPU seconds, resident bytes) of a container from its cpu.stat + memory.stat.

    Resident = anon + shmem: the processes' own memory and PostgreSQL's shared buffers, without the page cache
    (Kafka's log files would otherwise count, and the kernel gives that back under pressure)."""
    values = parse_keyed(text)
    if "usage_usec" not in values or "anon" not in values:
        raise ValueError("not cgroup v2 cpu.stat + memory.stat output")
    return values["usage_usec"] / 1e6, values["anon"] + values.get("shmem", 0)


def cgroup_v1_as_v2(cpuacct_usage: str, memory_stat: str) -> str:
    """cgroup v1 readings (cpuacct.usage in ns, memory.stat) in the cpu.stat + memory.stat form resource_sample
    reads: Docker with the cgroupfs driver on a v1 host keeps a container's counters there."""
    mem = parse_keyed(memory_stat)
    return "usage_usec %d\nanon %d\nshmem %d\n" % (int(cpuacct_usage.strip()) // 1000, mem["total_rss"],
                                                     mem.get("total_shmem", 0))


def window_resources(samples: list[tuple[float, dict[str, tuple[float, int]]]]) -> dict:
    """Per component CPU seconds and peak resident bytes over a window of samples
    [(time, {component: (cpu_s, rss)})], the peak of their sum, and the verdict against the seed's budget."""
    if len(samples) < 2:
        return {}
    names = sorted(samples[0][1])
    seconds = samples[-1][0] - samples[0][0]
    comps = {n: {"cpu_s": round(samples[-1][1][n][0] - samples[0][1][n][0], 2),
                 "peak_rss_mib": round(max(s[1][n][1] for s in samples) / 2 ** 20)} for n in names}
    for c in comps.values():
        c["cpus"] = round(c["cpu_s"] / seconds, 2) if seconds > 0 else None
    peak_sum = max(sum(s[1][n][1] for n in names) for s in samples)
    cpus = sum(c["cpu_s"] for c in comps.values()) / seconds if seconds > 0 else None
    return {"seconds": round(seconds, 1), "components": comps, "peak_rss_total_mib": round(peak_sum / 2 ** 20),
            "cpus_total": round(cpus, 2) if cpus is not None else None,
            "within_budget": peak_sum <= BUDGET_RSS_BYTES and cpus is not None and cpus <= BUDGET_CPUS}


# --- output -----------------------------------------------------------------------------------------------------
def fmt(value, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def table(rows: list[tuple[str, str, str]]) -> str:
    """A plain text table of (figure, value, note) rows with a header."""
    rows = [("figure", "value", "how"), *rows]
    w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
    lines = [f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip() for a, b, c in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
