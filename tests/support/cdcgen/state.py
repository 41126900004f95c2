"""The intended source state and the :class:`Generator` that turns operations on it into Debezium change events.

``Generator.state`` is ``{table: {key tuple: row}}``: what SQL Server would hold after the operations (values
normalized by :meth:`schema.Column.normalize`), i.e. what PostgreSQL should converge to once the JDBC sink has
applied every event. Each operation method returns the Kafka records Debezium would emit for it.

Streaming semantics follow the Debezium SQL Server connector (SqlServerStreamingChangeEventSource,
SqlServerOffsetContext.setChangePosition):

- every event of one transaction has the same ``commit_lsn`` (CDC ``__$start_lsn``) and source ``ts_ms`` (the
  commit time), and its own ``change_lsn`` (``__$seqval``);
- ``event_serial_no`` is 1 for an insert or a delete and 2 for an update (SQL Server writes an update as two
  change-table rows at the same position, before and after);
- a delete is followed by a tombstone (same key, null value);
- in an update, an xml column the update did not change carries ``__debezium_unavailable_value`` in ``before``
  (and in ``after`` too when it is NULL): SQL Server CDC does not log the old value of an unchanged large-object
  column and SqlServerChangeTablePointer substitutes the placeholder. Sluice's source connector re-reads such
  after-image columns from the table (ReselectColumnsPostProcessor, roles/connectors), so by default (``reselect``)
  the after-image carries the value; with ``reselect=False`` it keeps the placeholder, which ``Generator.sink_state()``
  accounts for;
- snapshot reads (op ``r``) carry ``change_lsn`` null, ``commit_lsn`` = the highest LSN when the snapshot started,
  ``event_serial_no`` null, and ``snapshot`` first / first_in_data_collection / true / last_in_data_collection /
  last as RelationalSnapshotChangeEventSource.SnapshotMarkerResolver assigns them (Debezium 3.6).
"""
from __future__ import annotations

import datetime as _dt
import decimal
import random
import time
import uuid
from typing import Callable, Iterable, Mapping, Sequence

from .events import (DEBEZIUM_VERSION, OP_CREATE, OP_DELETE, OP_READ, OP_UPDATE, UNAVAILABLE,
                     UNAVAILABLE_PLACEHOLDER, EventEncoder, Lsn, Record, SourceInfo, lob_images)
from .schema import HEARTBEAT_TABLE, TABLES, PreciseDateTime, PreciseTime, Table

START_LSN = "00000027:00000758:0001"
_OP_NAMES = {"insert": OP_CREATE, "c": OP_CREATE, "update": OP_UPDATE, "u": OP_UPDATE, "delete": OP_DELETE,
             "d": OP_DELETE}


class SteppingClock:
    """A deterministic clock for tests: returns ``start_ns``, then advances by ``step_ns`` on every call."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000, step_ns: int = 1_000_000):
        self.now, self.step = start_ns, step_ns

    def __call__(self) -> int:
        value = self.now
        self.now += self.step
        return value


class Generator:
    """Produces Debezium SQL Server change events for operations on the sample tables and tracks the state.

    ``clock`` returns epoch nanoseconds (default ``time.time_ns``); it is read once per transaction for the commit
    time (``source.ts_ms``) and once per event for the connector's processing time (``payload.ts_ms``).
    """

    def __init__(self, prefix: str = "sluice", database: str = "sluice_demo", schema: str = "dbo", *,
                 tables: Mapping[str, Table] = TABLES, clock: Callable[[], int] | None = None,
                 start_lsn: str = START_LSN, connector_version: str = DEBEZIUM_VERSION, tombstones: bool = True,
                 reselect: bool = True):
        self.prefix, self.database, self.schema = prefix, database, schema
        self.tables = dict(tables)
        self.encoder = EventEncoder(self.tables, prefix, database, schema)
        self.clock = clock or time.time_ns
        self.connector_version = connector_version
        self.tombstones = tombstones
        self.reselect = reselect
        self.lsn = Lsn.parse(start_lsn)  # the highest LSN handed out so far
        self.state: dict[str, dict[tuple, dict]] = {name: {} for name in self.tables}
        # Columns whose last emitted after-image carried unavailable.value.placeholder instead of the value.
        self.unavailable: dict[str, dict[tuple, frozenset]] = {name: {} for name in self.tables}

    # --- public operations ------------------------------------------------------------------------------------
    def insert(self, table: str, row: Mapping) -> list[Record]:
        return self.transaction([("insert", table, row)])

    def update(self, table: str, row: Mapping) -> list[Record]:
        """Update the row with ``row``'s key. Columns missing from ``row`` keep their current value; the key
        cannot change (SQL Server CDC shows a key change as a delete plus an insert: use those)."""
        return self.transaction([("update", table, row)])

    def delete(self, table: str, key) -> list[Record]:
        """Delete by key: a tuple in primary-key order, a single value, or a mapping with the key columns."""
        return self.transaction([("delete", table, key)])

    def transaction(self, ops: Iterable[Sequence]) -> list[Record]:
        """Apply ``(op, table, row_or_key)`` operations (op: insert/update/delete or c/u/d) as one transaction.

        All or nothing: if one operation is invalid, the state is unchanged and no LSN is used.
        """
        working: dict[str, _Overlay] = {}
        changes = []
        for op in ops:
            if len(op) != 3:
                raise ValueError(f"operation {op!r} is not (op, table, row_or_key)")
            name, table, arg = op
            code = _OP_NAMES.get(name)
            if code is None:
                raise ValueError(f"unknown operation {name!r}")
            rows = working.get(table)
            if rows is None:
                rows = working[table] = _Overlay(self._table_state(table))
            changes.append((code, table) + self._apply(code, self.tables[table], rows, arg))
        if not changes:
            return []
        change_lsns = []
        for _ in changes:
            self.lsn = self.lsn.next()
            change_lsns.append(self.lsn)
        self.lsn = self.lsn.next()
        commit_lsn = str(self.lsn)
        commit_ms = self.clock() // 1_000_000
        records = []
        for (code, table, before, after, key), change_lsn in zip(changes, change_lsns):
            if code == OP_UPDATE:
                before, lob_after = lob_images(self.tables[table], before, after)
                # The re-select post processor reads the row's value for a placeholder in the after-image; the
                # event is processed right after the change here, so that is the after row itself.
                after = after if self.reselect else lob_after
                missing = frozenset(name for name, value in after.items() if value is UNAVAILABLE)
                if missing:
                    self.unavailable[table][key] = missing
                else:
                    self.unavailable[table].pop(key, None)
            else:
                self.unavailable[table].pop(key, None)
            source = SourceInfo(self.prefix, self.database, self.schema, table, commit_ms, "false",
                                str(change_lsn), commit_lsn, 2 if code == OP_UPDATE else 1, self.connector_version)
            records.append(self.encoder.change(table, code, before, after, source, self.clock(), key=key))
            if code == OP_DELETE and self.tombstones:
                records.append(self.encoder.tombstone(table, key))
        for overlay in working.values():
            overlay.commit()
        return records

    def snapshot(self, tables: str | Iterable[str] | None = None) -> list[Record]:
        """Read events (op ``r``) for the current rows of ``tables`` (default: every table, in name order, as
        Debezium orders captured tables), as an initial snapshot would emit them. The state is unchanged."""
        names = sorted(self.tables) if tables is None else [tables] if isinstance(tables, str) else list(tables)
        for name in names:
            self._table_state(name)
        commit_lsn = str(self.lsn)
        reads = []
        for index, name in enumerate(names):
            keys = sorted(self.state[name], key=_sort_key)
            started_ms = self.clock() // 1_000_000
            for position, key in enumerate(keys):
                marker = _snapshot_marker(first_table=index == 0, last_table=index == len(names) - 1,
                                          first_row=position == 0, last_row=position == len(keys) - 1)
                reads.append([name, self.state[name][key], started_ms, commit_lsn, marker])
        if reads:
            # Debezium buffers the last snapshot record and marks it "last" when the snapshot completes, also
            # when the last table is empty (BufferingSnapshotChangeRecordReceiver.completeSnapshot).
            reads[-1][4] = "last"
        for name in names:
            self.unavailable[name].clear()  # read events carry every value
        return [self._read_event(*read) for read in reads]

    # --- helpers ----------------------------------------------------------------------------------------------
    def _table_state(self, table: str) -> dict:
        if table not in self.tables:
            raise KeyError(f"unknown table {table!r}; known: {sorted(self.tables)}")
        return self.state[table]

    def _read_event(self, table, row, started_ms, commit_lsn, marker) -> Record:
        source = SourceInfo(self.prefix, self.database, self.schema, table, started_ms, marker, None, commit_lsn,
                            None, self.connector_version)
        return self.encoder.change(table, OP_READ, None, row, source, self.clock())

    @staticmethod
    def _apply(code: str, table: Table, rows, arg) -> tuple[dict | None, dict | None, tuple]:
        if code == OP_CREATE:
            if not isinstance(arg, Mapping):
                raise TypeError("insert needs a row mapping")
            after = table.normalize_row(arg)
            key = table.key_of(after)
            if key in rows:
                raise KeyError(f"{table.name}: a row with key {key} already exists")
            rows[key] = after
            return None, after, key
        if code == OP_UPDATE:
            if not isinstance(arg, Mapping):
                raise TypeError("update needs a row mapping")
            key = table.key_of(arg)
            before = rows.get(key)
            if before is None:
                raise KeyError(f"{table.name}: no row with key {key}")
            after = table.normalize_row({**before, **arg})
            rows[key] = after
            return before, after, key
        key = table.key_of(arg)
        before = rows.pop(key, None)
        if before is None:
            raise KeyError(f"{table.name}: no row with key {key}")
        return before, None, key

    def sink_state(self) -> dict[str, dict[tuple, dict]]:
        """``state`` as a sink applying the after-images (JDBC sink, upsert) ends up with: like ``state``, except
        that an xml column an update left NULL and unchanged holds ``unavailable.value.placeholder`` (see
        events.lob_images and docs/type-mapping.md)."""
        result = {}
        for name, rows in self.state.items():
            marked = self.unavailable[name]
            result[name] = {key: ({**row, **{c: UNAVAILABLE_PLACEHOLDER for c in marked[key]}} if key in marked
                                  else row) for key, row in rows.items()}
        return result

    def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.state.items()}


class Heartbeat:
    """The change stream of the heartbeat row: what the Debezium SQL Server source emits when its
    ``heartbeat.action.query`` (``UPDATE dbo.sluice_heartbeat SET ts = SYSUTCDATETIME() WHERE id = 1``) runs.

    :meth:`beat` returns the records of one such update (the first call inserts row 1, as the row appears when CDC
    is enabled on the seeded table). ``ts`` is the clock's time in UTC (naive, as ``SYSUTCDATETIME()`` returns it,
    at ``datetime2(7)`` precision). The heartbeat shares ``generator``'s LSN sequence (one SQL Server log) and its
    topic prefix, database and schema; it is not thread-safe, like the generator.
    """

    def __init__(self, generator: Generator, *, table: Table = HEARTBEAT_TABLE, row_id: int = 1):
        self.gen, self.table, self.row_id = generator, table, row_id
        self.inner = Generator(generator.prefix, generator.database, generator.schema, tables={table.name: table},
                               clock=generator.clock, connector_version=generator.connector_version,
                               tombstones=generator.tombstones)
        self.beats = 0

    @property
    def topic(self) -> str:
        return self.inner.encoder.topic(self.table.name)

    @property
    def row(self) -> dict | None:
        """The heartbeat row as SQL Server holds it after the last beat (None before the first)."""
        return self.inner.state[self.table.name].get((self.row_id,))

    def beat(self, ts: _dt.datetime | None = None) -> list[Record]:
        if ts is None:
            nanos = self.gen.clock()
            ts = PreciseDateTime.of(_dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=nanos // 1000),
                                    nanos % 1000)
        if self.gen.lsn > self.inner.lsn:
            self.inner.lsn = self.gen.lsn
        op = "update" if self.row is not None else "insert"
        records = self.inner.transaction([(op, self.table.name, {"id": self.row_id, "ts": ts})])
        self.gen.lsn = self.inner.lsn
        self.beats += 1
        return records


class _Overlay:
    """Uncommitted changes of one transaction on top of a table's rows (None marks a deleted key)."""

    def __init__(self, base: dict):
        self.base, self.changes = base, {}

    def get(self, key, default=None):
        row = self.changes.get(key, _MISSING)
        if row is _MISSING:
            row = self.base.get(key)
        return default if row is None else row

    def __contains__(self, key) -> bool:
        return self.get(key) is not None

    def __setitem__(self, key, row: dict):
        self.changes[key] = row

    def pop(self, key, default=None):
        row = self.get(key)
        if row is None:
            return default
        self.changes[key] = None
        return row

    def commit(self):
        for key, row in self.changes.items():
            if row is None:
                self.base.pop(key, None)
            else:
                self.base[key] = row


_MISSING = object()


def _sort_key(key: tuple):
    return tuple((v is None, v) for v in key)


def _snapshot_marker(first_table: bool, last_table: bool, first_row: bool, last_row: bool) -> str:
    """RelationalSnapshotChangeEventSource.setSnapshotMarker + SnapshotMarkerResolver.resolve (Debezium 3.6)."""
    if last_row and last_table:
        return "last"
    if first_row and first_table:
        return "first"
    if last_row:
        return "last_in_data_collection"
    if first_row:
        return "first_in_data_collection"
    return "true"


# --------------------------------------------------------------------------------------------------------------
# Random, realistic operations for workloads and benchmarks
# --------------------------------------------------------------------------------------------------------------
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dmitri", "Elif", "François", "Grace", "Hiroshi", "Inès", "Jürgen", "Kofi",
               "Łucja", "Mateo", "Nnamdi", "Olga", "Priya", "Quentin", "Renée", "Søren", "Tomás", "Uma", "Zoë"]
LAST_NAMES = ["Álvarez", "Brown", "Çelik", "Dubois", "Eriksson", "García", "Hernández", "Ivanova", "Jensen",
              "Kowalski", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Peña", "Rossi", "Smith", "Øvergaard"]
STATUSES = ["new", "paid", "packed", "shipped", "delivered", "cancelled", "returned"]
OFFSETS = [0, 60, 120, -300, -420, 330, 540, 600, -180, 345]  # minutes, incl. +05:30 and +05:45
WIDE_TEXT = ["naïve café", "Ærøskøbing", "Straße", "日本語テキスト", "emoji 😀🚀", "e\u0301 (e + combining acute)",
             "한국어", "Ελληνικά", "עברית", "👩🏽‍💻 ZWJ", "ñ vs n\u0303", "tab\tand\nnewline", "quote \" and \\"]
XML_SAMPLES = ['<order id="1"><item sku="A-1" qty="2" /></order>', "<note>café ☕</note>", "<empty />",
               '<a><b c="d">e</b></a>']


class RandomWorkload:
    """Seeded random operations on the sample tables, applied through a :class:`Generator`.

    ``step(max_events)`` picks one operation (sometimes a transaction: an order with its line items) that produces at
    most ``max_events`` change events, applies it and returns the records. Keys are allocated like IDENTITY
    columns; orders refer to existing customers, line items to existing orders (no foreign keys are declared, so
    deletes never fail). Temporal values stay at microsecond precision so PostgreSQL can hold them exactly.
    """

    WEIGHTS = {"customers": 2, "orders": 3, "line_items": 4, "inventory_levels": 2, "all_types": 1}

    def __init__(self, generator: Generator, seed: int = 0, tables: Iterable[str] | None = None):
        self.gen = generator
        self.rng = random.Random(seed)
        self.tables = [t for t in (tables or generator.tables) if t in generator.tables]
        unknown = set(tables or ()) - set(generator.tables)
        if unknown or not self.tables:
            raise ValueError(f"unknown table(s) {sorted(unknown)}; known: {sorted(generator.tables)}")
        self.next_id = {name: max((k[0] for k in generator.state[name]
                                   if isinstance(k[0], int)), default=0) + 1 for name in generator.tables}
        if self.next_id["line_items"] == 1:
            self.next_id["line_items"] = 10_000_000_001  # beyond int32: exercise bigint
        self.skus = [f"SKU-{self.rng.randrange(16 ** 5):05X}" for _ in range(60)]
        self.base_time = _dt.datetime(2024, 1, 1)
        self._pools: dict[str, tuple[list, dict]] = {}

    # --- O(1) random picks of existing keys (a list + index per table, rebuilt if the state changed elsewhere)
    def _pool(self, table: str) -> tuple[list, dict]:
        pool = self._pools.get(table)
        if pool is None or len(pool[0]) != len(self.gen.state[table]):
            keys = list(self.gen.state[table])
            pool = self._pools[table] = (keys, {k: i for i, k in enumerate(keys)})
        return pool

    def pick(self, table: str):
        """A random existing key of ``table`` (None if it is empty)."""
        keys, _ = self._pool(table)
        if not keys:
            return None
        key = self.rng.choice(keys)
        if key not in self.gen.state[table]:  # changed behind our back: start over from the state
            self._pools.pop(table)
            keys, _ = self._pool(table)
            key = self.rng.choice(keys) if keys else None
        return key

    def _track(self, op: str, table: str, key) -> None:
        pool = self._pools.get(table)
        if pool is None:
            return
        keys, index = pool
        if op == "insert" and key not in index:
            index[key] = len(keys)
            keys.append(key)
        elif op == "delete" and key in index:
            i = index.pop(key)
            last = keys.pop()
            if i < len(keys):
                keys[i] = last
                index[last] = i

    def _run(self, ops: list) -> list[Record]:
        records = self.gen.transaction(ops)
        for op, table, arg in ops:
            self._track(op, table, self.gen.tables[table].key_of(arg))
        return records

    # ---
    def step(self, max_events: int = 1_000_000) -> list[Record]:
        table = self.rng.choices(self.tables, [self.WEIGHTS.get(t, 1) for t in self.tables])[0]
        if table == "inventory_levels":
            return self._inventory()
        roll = self.rng.random()
        key = self.pick(table) if roll >= 0.55 else None
        if key is None:
            if table == "orders" and "line_items" in self.tables and max_events >= 2 and self.rng.random() < 0.4:
                return self._order_with_items(max_events)
            return self._run([("insert", table, self.new_row(table))])
        if roll < 0.88:
            return self._run([("update", table, self.changed_row(table, self.gen.state[table][key]))])
        return self._run([("delete", table, key)])

    def _order_with_items(self, max_events: int) -> list[Record]:
        order = self.new_row("orders")
        ops = [("insert", "orders", order)]
        for _ in range(self.rng.randint(1, min(4, max_events - 1))):
            ops.append(("insert", "line_items", self.new_row("line_items", order_id=order["id"])))
        return self._run(ops)

    def _inventory(self) -> list[Record]:
        warehouse, sku = self.rng.randint(1, 5), self.rng.choice(self.skus)
        current = self.gen.state["inventory_levels"].get((warehouse, sku))
        if current is not None and self.rng.random() < 0.1:
            return self._run([("delete", "inventory_levels", (warehouse, sku))])
        row = {"warehouse_id": warehouse, "sku": sku, "on_hand": self.rng.randint(0, 5000),
               "updated_at": self._moment(ms_only=True)}
        return self._run([("update" if current else "insert", "inventory_levels", row)])

    # --- values
    def _moment(self, ms_only: bool = False) -> _dt.datetime:
        value = self.base_time + _dt.timedelta(seconds=self.rng.randrange(3 * 365 * 86400),
                                               microseconds=self.rng.randrange(10 ** 6))
        return value.replace(microsecond=value.microsecond // 1000 * 1000) if ms_only else value

    def _money(self, low: int, high: int, places: int) -> decimal.Decimal:
        return decimal.Decimal(self.rng.randint(low * 10 ** places, high * 10 ** places)).scaleb(-places)

    def _text(self, limit: int) -> str:
        return self.rng.choice(WIDE_TEXT)[:limit]

    def new_row(self, table: str, **fixed) -> dict:
        row = getattr(self, "_new_" + table)() if table in self.WEIGHTS else {}
        if table != "inventory_levels":
            row = {"id": self._take_id(table), **row}
        row.update(fixed)
        return row

    def _take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] += 1
        return value

    def changed_row(self, table: str, current: dict) -> dict:
        fresh = getattr(self, "_new_" + table)()
        names = [n for n in fresh if n not in self.gen.tables[table].primary_key]
        chosen = self.rng.sample(names, k=self.rng.randint(1, min(3, len(names))))
        key = {k: current[k] for k in self.gen.tables[table].primary_key}
        return {**key, **{n: fresh[n] for n in chosen}}

    def _new_customers(self) -> dict:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        return {"email": f"{first}.{last}.{self.rng.randrange(10 ** 6)}@example.com".lower(),
                "full_name": f"{first} {last}" if self.rng.random() > 0.05 else None,
                "created_at": self._moment(), "is_active": self.rng.random() > 0.2}

    def _new_orders(self) -> dict:
        customer = self.pick("customers") if "customers" in self.gen.state else None
        customer = customer[0] if customer else self.rng.randint(1, 1000)
        tz = _dt.timezone(_dt.timedelta(minutes=self.rng.choice(OFFSETS)))
        return {"customer_id": customer, "status": self.rng.choice(STATUSES),
                "total": self._money(0, 99_999, 2), "ordered_at": self._moment().replace(tzinfo=tz)}

    def _new_line_items(self) -> dict:
        order = self.pick("orders") if "orders" in self.gen.state else None
        order = order[0] if order else self.rng.randint(1, 1000)
        return {"order_id": order, "sku": self.rng.choice(self.skus), "quantity": self.rng.randint(1, 20),
                "unit_price": self._money(0, 9_999, 4)}

    def _new_inventory_levels(self) -> dict:
        return {"on_hand": self.rng.randint(0, 5000), "updated_at": self._moment(ms_only=True)}

    def _new_all_types(self) -> dict:
        r = self.rng

        def maybe(value):
            return None if r.random() < 0.08 else value

        return {
            "c_bit": maybe(r.random() < 0.5), "c_tinyint": maybe(r.randint(0, 255)),
            "c_smallint": maybe(r.randint(-32768, 32767)), "c_int": maybe(r.randint(-2 ** 31, 2 ** 31 - 1)),
            "c_bigint": maybe(r.randint(-2 ** 63, 2 ** 63 - 1)),
            "c_decimal": maybe(self._money(-99_999_999_999_999, 99_999_999_999_999, 4)),
            "c_numeric": maybe(decimal.Decimal(r.randint(-9_999_999_999, 9_999_999_999))),
            "c_money": maybe(self._money(-900_000_000_000_000, 900_000_000_000_000, 4)),
            "c_smallmoney": maybe(self._money(-214_748, 214_747, 4)),
            "c_float": maybe(r.choice([r.uniform(-1e6, 1e6), r.uniform(-1, 1) * 10 ** r.randint(-300, 300)])),
            "c_real": maybe(r.uniform(-1e4, 1e4)),
            "c_date": maybe(_dt.date(1900, 1, 1) + _dt.timedelta(days=r.randrange(200 * 365))),
            "c_time": maybe(_dt.time(r.randrange(24), r.randrange(60), r.randrange(60), r.randrange(10 ** 6))),
            "c_datetime": maybe(self._moment(ms_only=True)),
            "c_datetime2": maybe(self._moment()),
            "c_datetimeoffset": maybe(self._moment().replace(
                tzinfo=_dt.timezone(_dt.timedelta(minutes=r.choice(OFFSETS))))),
            "c_char": maybe(r.choice(["A", "abc", "0123456789", "café"])),
            "c_varchar": maybe(r.choice(["plain ascii", "Latin-1: déjà vu", "", "  padded  "])),
            "c_nchar": maybe(r.choice(["😀", "e\u0301", "日本", "x"])),
            "c_nvarchar": maybe(self._text(100)),
            "c_varbinary": maybe(bytes(r.randrange(256) for _ in range(r.randrange(65)))),
            "c_uniqueidentifier": maybe(uuid.UUID(int=r.getrandbits(128), version=4)),
            "c_xml": maybe(r.choice(XML_SAMPLES)),
        }


__all__ = ["Generator", "Heartbeat", "RandomWorkload", "SteppingClock", "PreciseDateTime", "PreciseTime", "START_LSN"]
