#!/usr/bin/env python3
"""Reconciler benchmark: sluice's engine (checksum and full mode) against reladiff, PostgreSQL vs PostgreSQL.

Prints figures; asserts nothing. Starts a throwaway PostgreSQL cluster (like tests/integration/reconcile's fixture:
initdb as the ``postgres`` OS user, trust auth, fsync off) unless ``--dsn`` names a server to reuse (databases
``src`` and ``dst`` are created there if missing). For each size it generates a table pair ``bench_<rows>`` in
``src`` and ``dst`` (10 mixed-type columns, INSERT ... SELECT generate_series; reused when already there), then runs:

  (a) no differences: checksum mode and full mode;
  (b) 100 scattered differences in the target (34 changed, 33 missing, 33 extra): full mode, checked to be found
      exactly; then the target is restored.

and the same two cases with ``reladiff`` (PyPI reladiff==0.6.0, installed into its own venv, not .venv; run with
``-c '%'`` so that every column is compared, not only the keys).

Each run is a separate child process: wall time and the child's peak RSS (ru_maxrss via os.wait4). The server's
work is noted separately: the CPU seconds its backends (and parallel workers) used, read from the postmaster's
cumulative children times (/proc/<postmaster>/stat; only when the server runs on this machine).

    .venv/bin/python bench/reconcile.py [--rows 1000000,10000000] [--skip-reladiff] [--dsn "host=... user=..."]
                                        [--keep] [--buckets 1024] [--scramble]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import psycopg

ROOT = pathlib.Path(__file__).resolve().parent.parent
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
RELADIFF_VENV = ROOT / ".cache" / "bench-venv"
RELADIFF_REQ = "reladiff[postgresql]==0.6.0"
CLK_TCK = os.sysconf("SC_CLK_TCK")

COLUMNS = """id int NOT NULL, c_big bigint, c_num numeric(12,2), c_dbl double precision, c_text text,
 c_vc varchar(64), c_ts timestamp, c_tstz timestamptz, c_bool boolean, c_bytea bytea"""
# One row per g; a few NULLs so that the NULL frames are exercised too.
ROW_SQL = """g, g::bigint * 7919 - 4000000000, ((g * 37) % 10000000) / 100.0, g / 7.0,
 CASE WHEN g % 97 = 0 THEN NULL ELSE 'text ' || md5(g::text) END, 'v-' || g || '-é',
 TIMESTAMP '2000-01-01' + g * INTERVAL '1.000137 second', TIMESTAMPTZ '2020-06-01 00:00:00+00' - g * INTERVAL '3 ms',
 g % 3 = 0, CASE WHEN g % 101 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END"""
# 100 scattered differences: changed (various columns), missing in the target, extra in the target.
N_CHANGED, N_MISSING, N_EXTRA = 34, 33, 33
CHANGES = ["c_big = c_big + 1", "c_num = c_num + 0.01", "c_dbl = c_dbl * 1.0000001", "c_text = c_text || 'x'",
           "c_vc = NULL", "c_ts = c_ts + INTERVAL '1 microsecond'", "c_tstz = c_tstz - INTERVAL '1 second'",
           "c_bool = NOT c_bool", "c_bytea = c_bytea || '\\x00'::bytea"]


# --- cluster ------------------------------------------------------------------------------------------------------
def _as_postgres(*cmd):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)


def start_cluster():
    tmp = tempfile.mkdtemp(prefix="sluice-bench-reconcile-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data = os.path.join(tmp, "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _as_postgres(os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8")
    # Bulk-load friendly (throwaway data); shared_buffers large enough to hold the 10M-row pair.
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=8GB "
            "-c shared_buffers=4GB -c maintenance_work_mem=1GB")
    _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", os.path.join(tmp, "log"), "-w", "start", "-o", opts)
    return tmp, data, f"host=127.0.0.1 port={port} user=postgres"


def stop_cluster(tmp, data):
    _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
    shutil.rmtree(tmp, ignore_errors=True)


def ensure_databases(dsn):
    with psycopg.connect(dsn + " dbname=postgres", autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for db in ("src", "dst"):
            if db not in have:
                conn.execute(f"CREATE DATABASE {db} TEMPLATE template0 ENCODING 'UTF8'")


def server_cpu(dsn):
    """CPU seconds of the server's exited backends so far (postmaster's cutime + cstime), or None. Waits (up to
    10 s) until the measured run's backends have exited and been reaped: a backend still running is not counted."""
    try:
        with psycopg.connect(dsn + " dbname=postgres", autocommit=True) as conn:
            data = conn.execute("SELECT current_setting('data_directory')").fetchone()[0]
            for _ in range(100):
                others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                      "AND backend_type IN ('client backend', 'parallel worker')").fetchone()[0]
                if not others:
                    break
                time.sleep(0.1)
        pid = int(pathlib.Path(data, "postmaster.pid").read_text().split()[0])

        def reaped():
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[13]) + int(fields[14])) / CLK_TCK  # cutime, cstime (fields 16, 17)

        # A backend leaves pg_stat_activity before the postmaster reaps it: wait until the figure settles.
        last = reaped()
        for _ in range(25):
            time.sleep(0.2)
            now = reaped()
            if now == last:
                return now
            last = now
        return last
    except Exception:
        return None


# --- data ---------------------------------------------------------------------------------------------------------
def generate(dsn, rows, scramble=False):
    table = f"bench_{rows}" + ("_scrambled" if scramble else "")
    started = time.monotonic()
    made = False
    for db in ("src", "dst"):
        with psycopg.connect(f"{dsn} dbname={db}", autocommit=True) as conn:
            have = conn.execute("SELECT 1 FROM pg_class c WHERE c.relname = %s "
                                "AND c.relnamespace = 'public'::regnamespace", [table]).fetchone()
            if have and conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows:
                continue
            made = True
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE UNLOGGED TABLE {table} ({COLUMNS})")
            if scramble and db == "dst":
                # Random physical order, as in a target whose rows CDC updates have moved around: reading a key
                # range then visits heap pages out of order.
                conn.execute(f"INSERT INTO {table} SELECT {ROW_SQL} FROM generate_series(1, {rows}) g "
                             "ORDER BY md5(g::text)")
            else:
                # Chunks of 1M rows: bounded transaction size, same rows in both databases.
                for lo in range(1, rows + 1, 1_000_000):
                    hi = min(rows, lo + 999_999)
                    conn.execute(f"INSERT INTO {table} SELECT {ROW_SQL} FROM generate_series({lo}, {hi}) g")
            conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
            conn.execute(f"VACUUM (ANALYZE, FREEZE) {table}")
        with psycopg.connect(f"{dsn} dbname={db}", autocommit=True) as conn:
            conn.execute(f"SELECT count(*) FROM {table}")  # warm the page cache: the first measured run is not special
    return table, (time.monotonic() - started if made else None)


def diff_ids(rows):
    """Scattered ids: (changed, missing in target, extra in target)."""
    step = rows // (N_CHANGED + N_MISSING + 1)
    picked = [1 + step // 2 + i * step + (i * 7919) % max(1, step // 3) for i in range(N_CHANGED + N_MISSING)]
    return picked[0::2][:N_CHANGED], picked[1::2][:N_MISSING], [rows + 1 + i * 1000 for i in range(N_EXTRA)]


def inject(dsn, table, rows):
    changed, missing, extra = diff_ids(rows)
    with psycopg.connect(f"{dsn} dbname=dst", autocommit=True) as conn:
        for i, k in enumerate(changed):
            conn.execute(f"UPDATE {table} SET {CHANGES[i % len(CHANGES)]} WHERE id = %s", [k])
        conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [missing])
        conn.execute(f"INSERT INTO {table} SELECT {ROW_SQL.replace('%', '%%')} FROM unnest(%s::int[]) g", [extra])
    return changed, missing, extra


def restore(dsn, table, rows):
    changed, missing, extra = diff_ids(rows)
    with psycopg.connect(f"{dsn} dbname=dst", autocommit=True) as conn:
        conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [changed + missing + extra])
        conn.execute(f"INSERT INTO {table} SELECT {ROW_SQL.replace('%', '%%')} FROM unnest(%s::int[]) g", [changed + missing])
        conn.execute(f"VACUUM {table}")


# --- one measured run per child process ---------------------------------------------------------------------------
def child_engine(args):
    """In the child: run the engine once, print its report's figures as JSON."""
    sys.path.insert(0, str(ROOT / "collections"))  # collections/ansible_collections/sluice/cdc -> the repo
    from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import engine
    from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import PostgresDialect

    def endpoint(db):
        return engine.Endpoint(PostgresDialect(), lambda: psycopg.connect(f"{args.dsn} dbname={db}"))

    report = engine.reconcile(endpoint("src"), endpoint("dst"), [args.table], mode=args.mode,
                              buckets=args.buckets, max_keys=1000)
    (t,) = report["tables"]
    print(json.dumps({"status": report["status"], "errors": t["errors"], "rows": [t["rows_source"], t["rows_target"]],
                      "buckets_differing": t["buckets_differing"], "partition": t["partition"],
                      "missing": sorted(k[0] for k in t["missing_in_target"]),
                      "extra": sorted(k[0] for k in t["extra_in_target"]),
                      "changed": sorted(d["key"][0] for d in t["different"])}))


def measured(cmd, dsn):
    """Run cmd; (seconds, child max RSS MiB, server CPU seconds or None, stdout)."""
    cpu0 = server_cpu(dsn)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()  # communicate() reaps the child: take the rusage from a wait4 wrapper instead
    seconds = time.monotonic() - started
    cpu1 = server_cpu(dsn)
    rss = getattr(proc, "_sluice_rusage", None)
    if proc.returncode not in (0, 1):
        print(f"  ! {cmd[:3]}... exited {proc.returncode}: {err.strip()[-500:]}", file=sys.stderr)
    return seconds, (rss.ru_maxrss / 1024 if rss else None), (cpu1 - cpu0 if None not in (cpu0, cpu1) else None), out


class _Popen(subprocess.Popen):
    """Popen that keeps the child's own rusage (os.wait4) instead of discarding it."""

    def _try_wait(self, wait_flags):
        pid, status, usage = os.wait4(self.pid, wait_flags)
        if pid:
            self._sluice_rusage = usage
        return pid, status


subprocess.Popen = _Popen  # only this script's children


def run_engine(dsn, table, mode, buckets):
    cmd = [sys.executable, __file__, "--_child", "--dsn", dsn, "--_table", table, "--_mode", mode,
           "--buckets", str(buckets)]
    seconds, rss, cpu, out = measured(cmd, dsn)
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except Exception:
        result = {"status": "error", "errors": [out[-300:]]}
    return seconds, rss, cpu, result


def ensure_reladiff():
    exe = RELADIFF_VENV / "bin" / "reladiff"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(RELADIFF_VENV)], check=True)
        subprocess.run([str(RELADIFF_VENV / "bin" / "pip"), "install", "-q", RELADIFF_REQ], check=True)
    return str(exe)


def run_reladiff(exe, dsn, table):
    parts = dict(p.split("=", 1) for p in dsn.split())
    url = f"postgresql://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}"
    cmd = [exe, f"{url}/src", table, f"{url}/dst", table, "-k", "id", "-c", "%"]
    seconds, rss, cpu, out = measured(cmd, dsn)
    lines = [ln for ln in out.splitlines() if ln[:1] in "+-"]
    return seconds, rss, cpu, lines


# --- main ---------------------------------------------------------------------------------------------------------
def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="1000000,10000000", help="comma-separated table sizes")
    ap.add_argument("--skip-reladiff", action="store_true")
    ap.add_argument("--dsn", help="reuse this server (libpq keywords, no dbname); default: a throwaway cluster")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway cluster (prints its DSN)")
    ap.add_argument("--buckets", type=int, default=1024)
    ap.add_argument("--scramble", action="store_true",
                    help="store the target table's rows in random physical order (tables bench_<rows>_scrambled)")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_table", help=argparse.SUPPRESS)
    ap.add_argument("--_mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        args.table, args.mode = args._table, args._mode
        return child_engine(args)

    cluster = None
    if not args.dsn:
        cluster = start_cluster()
        args.dsn = cluster[2]
        print(f"throwaway cluster: {args.dsn}")
    try:
        ensure_databases(args.dsn)
        exe = None if args.skip_reladiff else ensure_reladiff()
        results = []
        for rows in [int(r) for r in args.rows.split(",") if r.strip()]:
            table, gen = generate(args.dsn, rows, args.scramble)
            print(f"{table}: " + (f"generated in {gen:.1f} s" if gen is not None else "reused"), flush=True)
            results += bench_one(args, exe, table, rows)
        print_table(results)
    finally:
        if cluster and not args.keep:
            stop_cluster(cluster[0], cluster[1])
        elif cluster:
            print(f"kept: {args.dsn} (data {cluster[1]})")


def bench_one(args, exe, table, rows):
    out = []

    def record(tool, case, seconds, rss, cpu, found):
        out.append((rows, tool, case, seconds, rss, cpu, found))
        print(f"  {tool:9} {case:22} {seconds:8.2f} s  rss {fmt(rss, '.0f')} MiB  server cpu {fmt(cpu, '.1f')} s"
              f"  {found}", flush=True)

    for mode in ("checksum", "full"):
        s, rss, cpu, res = run_engine(args.dsn, table, mode, args.buckets)
        record("sluice", f"identical/{mode}", s, rss, cpu,
               f"{res['status']} ({res.get('partition')})" + (f" {res['errors']}" if res["errors"] else ""))
    if exe:
        s, rss, cpu, lines = run_reladiff(exe, args.dsn, table)
        record("reladiff", "identical", s, rss, cpu, f"{len(lines)} diff lines")
    changed, missing, extra = inject(args.dsn, table, rows)
    try:
        for mode in ("checksum", "full"):
            s, rss, cpu, res = run_engine(args.dsn, table, mode, args.buckets)
            if mode == "full":
                exact = (res.get("changed") == sorted(changed) and res.get("missing") == sorted(missing)
                         and res.get("extra") == sorted(extra))
                found = (f"{len(res.get('changed', []))} changed, {len(res.get('missing', []))} missing, "
                         f"{len(res.get('extra', []))} extra: {'exact' if exact else 'NOT EXACT'}")
            else:
                found = f"{res['status']}, {res.get('buckets_differing')} buckets differ"
            record("sluice", f"100 diffs/{mode}", s, rss, cpu, found)
        if exe:
            s, rss, cpu, lines = run_reladiff(exe, args.dsn, table)
            keys = {ln[1:].strip().split(",")[0].strip("( '") for ln in lines}
            record("reladiff", "100 diffs", s, rss, cpu, f"{len(lines)} diff lines, {len(keys)} keys")
    finally:
        restore(args.dsn, table, rows)
    return out


def print_table(results):
    print("\n| rows | tool | case | wall s | client max RSS MiB | server CPU s | result |")
    print("|---:|---|---|---:|---:|---:|---|")
    for rows, tool, case, s, rss, cpu, found in results:
        print(f"| {rows:,} | {tool} | {case} | {s:.2f} | {fmt(rss, '.0f')} | {fmt(cpu, '.1f')} | {found} |")
    by = {(r[0], r[1], r[2]): r[3] for r in results}
    for rows in sorted({r[0] for r in results}):
        for ours, theirs in ((("identical/checksum"), "identical"), ("100 diffs/full", "100 diffs")):
            a, b = by.get((rows, "sluice", ours)), by.get((rows, "reladiff", theirs))
            if a and b:
                print(f"{rows:,} rows, {theirs}: reladiff / sluice {ours} = {b / a:.1f}x")


if __name__ == "__main__":
    main()
