"""cdcgen: Debezium 3.6 SQL Server change events, byte for byte as the connector writes them through Kafka's
JsonConverter (``schemas.enable=true``), for driving the pipeline without a SQL Server.

- :mod:`.schema` — the sample tables (``sluice_demo.dbo``) and how SQL Server stores each column type;
- :mod:`.events` — pure encoding of keys/values/tombstones (schemas, logical types, LSNs, JSON as Jackson writes it);
- :mod:`.state` — :class:`Generator` (operations → records, intended source state), :class:`RandomWorkload` and
  :class:`Heartbeat` (the heartbeat row's change stream, for end-to-end lag);
- :mod:`.producer` — :class:`KafkaSink` and :func:`workload` (seeded, optionally rate-limited);
- ``python -m tests.support.cdcgen`` — the CLI.

The type mapping and what is still unconfirmed: docs/type-mapping.md.
"""
from .events import DEBEZIUM_VERSION, EventEncoder, Lsn, Record, SourceInfo
from .producer import DEFAULT_PRODUCER_CONFIG, KafkaSink, workload
from .schema import HEARTBEAT_TABLE, TABLES, Column, PreciseDateTime, PreciseTime, Table
from .state import Generator, Heartbeat, RandomWorkload, SteppingClock

__all__ = [
    "DEBEZIUM_VERSION", "DEFAULT_PRODUCER_CONFIG", "HEARTBEAT_TABLE", "TABLES", "Column", "EventEncoder", "Generator",
    "Heartbeat", "KafkaSink",
    "Lsn", "PreciseDateTime", "PreciseTime", "RandomWorkload", "Record", "SourceInfo", "SteppingClock", "Table",
    "workload",
]
