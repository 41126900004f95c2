#!/usr/bin/env python3
"""Pipeline benchmark against the running demo (`make demo`): sink throughput and end-to-end lag.

Prints figures; asserts nothing. Change events come from tests/support/cdcgen (SQL Server cannot run here), so "end
to end" starts at the moment the event is committed at the (simulated) source, which is the event's source.ts_ms,
and ends when PostgreSQL commits the row — recorded by a temporary trigger (clock_timestamp()) on cdc.customers.
Both clocks are this machine's.

    .venv/bin/python bench/pipeline.py [--bulk 50000] [--rate 500] [--seconds 30]
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import psycopg

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.cdcgen import Generator, KafkaSink  # noqa: E402
from tests.support.kafka_login import kafka_admin_settings  # noqa: E402

KAFKA = "127.0.0.1:19192"
SECRETS = ROOT / ".cache" / "secrets"
TRIGGER_SQL = """
CREATE TABLE IF NOT EXISTS public.bench_arrivals (id int PRIMARY KEY, arrived timestamptz NOT NULL);
CREATE OR REPLACE FUNCTION public.bench_arrival() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN INSERT INTO public.bench_arrivals VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING; RETURN NEW; END $$;
DROP TRIGGER IF EXISTS bench_arrival ON cdc.customers;
CREATE TRIGGER bench_arrival AFTER INSERT ON cdc.customers FOR EACH ROW EXECUTE FUNCTION public.bench_arrival();
GRANT SELECT ON public.bench_arrivals TO sluice_sink;
TRUNCATE public.bench_arrivals;
"""
CLEANUP_SQL = "DROP TRIGGER IF EXISTS bench_arrival ON cdc.customers; DROP TABLE IF EXISTS public.bench_arrivals;"


def psql_admin(sql):
    subprocess.run(["docker", "exec", "-i", "sluice-pg", "su", "postgres", "-c", "psql -q -v ON_ERROR_STOP=1 -d sluice"],
                   input=sql, text=True, check=True, capture_output=True)


def customer(i):
    return {"id": i, "email": f"bench{i}@example.com", "full_name": f"Bench {i}", "is_active": True}


def count(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def bulk(conn, n):
    gen, sink = Generator(), KafkaSink(KAFKA, config=kafka_admin_settings(SECRETS))
    started = time.monotonic()
    for start in range(0, n, 500):
        sink.send_all(gen.transaction([("insert", "customers", customer(i))
                                       for i in range(1, 1 + n)[start:start + 500]]))
    sink.flush(120)
    produced = time.monotonic() - started
    while count(conn, "SELECT count(*) FROM cdc.customers") < n:
        time.sleep(0.2)
    return produced, time.monotonic() - started


def lag(conn, rate, seconds):
    gen, sink = Generator(), KafkaSink(KAFKA, config={**kafka_admin_settings(SECRETS), "linger.ms": 0})
    base, sent = 2_000_000, {}
    interval, next_at = 1.0 / rate, time.monotonic()
    for i in range(int(rate * seconds)):
        records = gen.insert("customers", customer(base + i))
        sent[base + i] = json.loads(records[0].value)["payload"]["source"]["ts_ms"]
        sink.send_all(records)
        sink.producer.poll(0)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    sink.flush(60)
    deadline = time.monotonic() + 120
    while count(conn, f"SELECT count(*) FROM public.bench_arrivals WHERE id >= {base}") < len(sent):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    with conn.cursor() as cur:
        cur.execute("SELECT id, (extract(epoch FROM arrived) * 1000)::bigint FROM public.bench_arrivals "
                    "WHERE id >= %s", (base,))
        arrived = dict(cur.fetchall())
    lags = sorted(arrived[k] - sent[k] for k in sent if k in arrived)
    return lags, len(sent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=50_000, help="inserts for the throughput run")
    parser.add_argument("--rate", type=float, default=500, help="events/s for the lag run")
    parser.add_argument("--seconds", type=float, default=30, help="length of the lag run")
    args = parser.parse_args()
    password = (SECRETS / "postgres_sink_password").read_text().strip()
    conn = psycopg.connect(host="127.0.0.1", port=15432, dbname="sluice", user="sluice_sink", password=password,
                           autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('cdc.customers') IS NOT NULL")
        if not cur.fetchone()[0]:
            sys.exit("cdc.customers does not exist yet: run `make demo` first")
        cur.execute("TRUNCATE cdc.customers")
    psql_admin(TRIGGER_SQL)
    try:
        produced, total = bulk(conn, args.bulk)
        print(f"throughput: {args.bulk} inserts produced in {produced:.1f} s, all in PostgreSQL after {total:.1f} s "
              f"-> {args.bulk / total:.0f} rows/s through the sink (1 task, batch.size 500)")
        lags, n = lag(conn, args.rate, args.seconds)
        if lags:
            q = statistics.quantiles(lags, n=100)
            print(f"lag at {args.rate:.0f} events/s for {args.seconds:.0f} s: {len(lags)}/{n} rows arrived; "
                  f"commit -> visible in PostgreSQL p50 {q[49]:.0f} ms, p99 {q[98]:.0f} ms, max {lags[-1]} ms")
        else:
            print("lag: no row arrived")
    finally:
        psql_admin(CLEANUP_SQL)


if __name__ == "__main__":
    main()
