"""CLI: write a seeded workload of Debezium SQL Server change events into Kafka and print a JSON summary.

    python -m tests.support.cdcgen --bootstrap 127.0.0.1:19092 --count 1000 --rate 500 --seed 1 \\
        [--tables customers,orders] [--prefix sluice] [--database sluice_demo] [--schema dbo] [--dry-run] \\
        [--heartbeat-interval 1]

Progress goes to stderr; the summary (events per table, tombstones, records delivered, duration, achieved rate,
final intended row count per table) to stdout. Exit status 1 if records could not be delivered.
"""
from __future__ import annotations

import argparse
import json
import sys

from .producer import KafkaSink, workload
from .schema import TABLES
from .state import Generator, Heartbeat


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.support.cdcgen",
                                description="Write a seeded workload of Debezium SQL Server change events into Kafka "
                                            "and print a JSON summary.")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers, e.g. 127.0.0.1:19092 (not needed with --dry-run)")
    p.add_argument("--count", type=int, default=1000, help="change events to write (tombstones come on top)")
    p.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tables", default=None,
                   help=f"comma-separated subset of {','.join(TABLES)} (default: all)")
    p.add_argument("--prefix", default="sluice", help="Debezium topic.prefix")
    p.add_argument("--database", default="sluice_demo")
    p.add_argument("--schema", default="dbo")
    p.add_argument("--progress-interval", type=float, default=1.0, help="seconds between progress lines")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--dry-run", action="store_true", help="generate only, send nothing")
    p.add_argument("--heartbeat-interval", type=float, default=None, metavar="SECONDS",
                   help="also emit the heartbeat row's updates (dbo.sluice_heartbeat) every SECONDS, as the source "
                        "connector's heartbeat.action.query does")
    p.add_argument("--producer-config", action="append", default=[], metavar="KEY=VALUE",
                   help="extra librdkafka setting (repeatable)")
    args = p.parse_args(argv)
    if not args.dry_run and not args.bootstrap:
        p.error("--bootstrap is required unless --dry-run")
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.rate is not None and args.rate <= 0:
        p.error("--rate must be > 0")
    if args.heartbeat_interval is not None and args.heartbeat_interval <= 0:
        p.error("--heartbeat-interval must be > 0")
    args.tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    unknown = set(args.tables or ()) - set(TABLES)
    if unknown:
        p.error(f"unknown table(s): {', '.join(sorted(unknown))}")
    try:
        args.producer_config = dict(item.split("=", 1) for item in args.producer_config)
    except ValueError:
        p.error("--producer-config takes KEY=VALUE")
    return args


def main(argv=None, *, sink_factory=KafkaSink, stdout=None, stderr=None) -> int:
    args = parse_args(argv)
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    sink = None if args.dry_run else sink_factory(args.bootstrap, config=args.producer_config)
    gen = Generator(args.prefix, args.database, args.schema)
    heartbeat = Heartbeat(gen) if args.heartbeat_interval else None
    try:
        summary = workload(args.count, seed=args.seed, tables=args.tables, generator=gen, sink=sink,
                           rate=args.rate, progress=None if args.quiet else stderr,
                           progress_interval=args.progress_interval, heartbeat=heartbeat,
                           heartbeat_interval=args.heartbeat_interval or 1.0)
    except (RuntimeError, TimeoutError) as exc:
        print(f"cdcgen: {exc}", file=stderr)
        return 1
    summary.update(bootstrap=args.bootstrap, prefix=args.prefix, database=args.database, schema=args.schema,
                   topics={t: gen.encoder.topic(t) for t in summary["events_per_table"]})
    print(json.dumps(summary, indent=2, sort_keys=False), file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
