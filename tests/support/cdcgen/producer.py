"""Writing generated records to Kafka, and the seeded (optionally rate-limited) workload used by e2e tests and
benchmarks."""
from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, Mapping, TextIO

from .events import Record
from .state import Generator, Heartbeat, RandomWorkload

# murmur2_random: librdkafka's equivalent of the Java client's default partitioner (murmur2 of the key bytes), so
# a key lands on the partition Debezium's own producer would have picked; null keys go to a random partition.
DEFAULT_PRODUCER_CONFIG = {
    "partitioner": "murmur2_random",
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 20,
    "batch.num.messages": 10000,
}


def murmur2(data: bytes) -> int:
    """org.apache.kafka.common.utils.Utils.murmur2 (signed 32-bit result), the Java clients' key hash."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - 2 ** 32 if h >= 2 ** 31 else h


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition the Java producer's default partitioner (and librdkafka's murmur2_random) picks for a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KafkaSink:
    """Produces records with confluent_kafka and counts deliveries.

    ``producer`` may be any object with confluent_kafka.Producer's ``produce``/``poll``/``flush`` (unit tests pass
    a fake); by default one is created from ``DEFAULT_PRODUCER_CONFIG`` + ``config``.
    """

    MAX_ERRORS_KEPT = 10

    def __init__(self, bootstrap_servers: str, *, config: Mapping | None = None, producer=None):
        self.config = {"bootstrap.servers": bootstrap_servers, **DEFAULT_PRODUCER_CONFIG, **(config or {})}
        if producer is None:
            from confluent_kafka import Producer  # imported here: encoding needs no Kafka client

            producer = Producer(self.config)
        self.producer = producer
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []

    def _on_delivery(self, err, msg):
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1
            if len(self.errors) < self.MAX_ERRORS_KEPT:
                self.errors.append(str(err))

    def send(self, record: Record) -> None:
        while True:
            try:
                self.producer.produce(record.topic, key=record.key, value=record.value,
                                      on_delivery=self._on_delivery)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                self.producer.poll(0.1)
        self.sent += 1
        self.producer.poll(0)

    def send_all(self, records: Iterable[Record]) -> int:
        n = 0
        for record in records:
            self.send(record)
            n += 1
        return n

    def flush(self, timeout: float = 60.0) -> int:
        """Wait for every delivery report; returns the number delivered. Raises if some were not delivered."""
        remaining = self.producer.flush(timeout)
        if remaining:
            raise TimeoutError(f"{remaining} record(s) still undelivered after {timeout}s")
        if self.failed:
            raise RuntimeError(f"{self.failed} record(s) failed: {'; '.join(self.errors)}")
        return self.delivered

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.flush()


def workload(count: int, *, seed: int = 0, tables: Iterable[str] | None = None, generator: Generator | None = None,
             sink: KafkaSink | None = None, rate: float | None = None, clock: Callable[[], int] | None = None,
             progress: TextIO | None = sys.stderr, progress_interval: float = 1.0, collect: bool = False,
             sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
             heartbeat: Heartbeat | None = None, heartbeat_interval: float = 1.0,
             stop: Callable[[], bool] | None = None) -> dict:
    """Generate ``count`` change events (op c/u/d; tombstones come on top) of random, realistic operations.

    - ``seed`` fixes the operations and values (with a fixed ``clock``, the records are identical run to run);
    - ``generator``: continue from an existing generator (and its state); otherwise a new one (with ``clock``);
    - ``sink``: where to send the records (none: generate only); flushed at the end;
    - ``rate``: events per second to pace at (none: as fast as possible);
    - ``progress``: where to print "events sent, rate" every ``progress_interval`` seconds (None: silent);
    - ``collect``: also return the records themselves under ``"records_list"``;
    - ``heartbeat``: also emit the heartbeat row's updates (:class:`.state.Heartbeat`) every ``heartbeat_interval``
      seconds, one at the start, as the source connector does during load (counted under ``"heartbeats"``; they
      are not among the ``count`` events);
    - ``stop``: checked before every operation; when it returns true the workload ends early (a load that runs
      "until told", e.g. for the whole of a fault-injection case: pass a large ``count``).

    Returns a summary: events per table, tombstones, records delivered, duration, achieved rate and the final
    intended row count of every table.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be > 0")
    if heartbeat is not None and heartbeat_interval <= 0:
        raise ValueError("heartbeat_interval must be > 0")
    gen = generator or (heartbeat.gen if heartbeat is not None else Generator(clock=clock))
    random_ops = RandomWorkload(gen, seed=seed, tables=tables)
    events_per_table = {t: 0 for t in random_ops.tables}
    tombstones = 0
    events = 0
    collected: list[Record] = []
    beats_before = heartbeat.beats if heartbeat is not None else 0
    start = last_report = monotonic()
    next_beat = start  # the first heartbeat goes out before the first event (also when count is 0)
    while events < count or (heartbeat is not None and heartbeat.beats == beats_before):
        if stop is not None and stop():
            break
        now = monotonic()
        if heartbeat is not None and now >= next_beat:
            next_beat = max(next_beat + heartbeat_interval, now + heartbeat_interval / 2)
            beat = heartbeat.beat()
            if sink is not None:
                sink.send_all(beat)
            if collect:
                collected.extend(beat)
            if events >= count:
                break
        if rate is not None:
            wait = start + events / rate - monotonic()
            if wait > 0:
                sleep(wait)
        records = random_ops.step(max_events=count - events)
        for record in records:
            if record.value is None:
                tombstones += 1
            else:
                events += 1
                table = record.topic.rsplit(".", 1)[1]
                events_per_table[table] = events_per_table.get(table, 0) + 1
        if sink is not None:
            sink.send_all(records)
        if collect:
            collected.extend(records)
        now = monotonic()
        if progress is not None and now - last_report >= progress_interval:
            last_report = now
            print(f"cdcgen: {events}/{count} events sent, {events / max(now - start, 1e-9):.1f} events/s",
                  file=progress, flush=True)
    delivered = sink.flush() if sink is not None else None
    duration = monotonic() - start
    summary = {
        "seed": seed,
        "events": events,
        "events_per_table": events_per_table,
        "tombstones": tombstones,
        "records": events + tombstones,
        "delivered": delivered,
        "duration_s": round(duration, 3),
        "rate": round(events / duration, 1) if duration > 0 else None,
        "rows": gen.row_counts(),
    }
    if heartbeat is not None:
        summary["heartbeats"] = heartbeat.beats - beats_before
    if progress is not None:
        print(f"cdcgen: done, {events} events ({tombstones} tombstones) in {duration:.2f}s", file=progress,
              flush=True)
    if collect:
        summary["records_list"] = collected
    return summary
