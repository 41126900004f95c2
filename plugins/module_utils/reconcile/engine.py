# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Reconciliation engine: proves the target holds exactly the source's rows, or names every differing key.

Collation-independent by construction: rows are never ordered or ranged by text, binary or composite keys. Each
row's canonical key bytes are hashed (MD5, see normalize.py; a single integer key is used as is); that picks one
of N buckets, and both engines aggregate per bucket (row count, sum of 64-bit row hashes mod 2**64) server-side.
A single integer primary key (every engine orders integers alike) whose rows are stored in about key order
instead cuts the table into about N contiguous key ranges of about equal row counts, each digested in key order
(one MD5 per range, not per row; ``_KeyRanges``). Only differing buckets or ranges are drilled into, streaming
both sides ordered by the binary key hash (same order on every engine) and merging.

Modes: ``count`` (row counts), ``checksum`` (bucket digests), ``full`` (down to keys and columns, then an
optional re-check of the differing keys after ``recheck_delay`` seconds for rows changing in flight).

Report schema (JSON-serializable dict; stable)::

    {"status": "consistent" | "different" | "error", "exit_status": 0 | 1 | 2, "mode": str, "buckets": int,
     "totals": {"tables": int, "consistent": int, "different": int, "error": int, "rows_source": int,
                "rows_target": int, "missing_in_target": int, "extra_in_target": int, "different_rows": int,
                "rechecked_resolved": int},
     "tables": [{"table": "schema.table" (source), "target_table": "schema.table", "mode": str,
                 "status": str, "key_columns": [str], "columns": [str] (compared, besides the key),
                 "rows_source": int | None, "rows_target": int | None,
                 "partition": "ranges" (integer primary key) | "buckets",
                 "buckets_compared": int, "buckets_differing": int,
                 "missing_in_target": [[key value, ...]], "extra_in_target": [[key value, ...]],
                 "different": [{"key": [key value, ...], "columns": {column: [source value, target value]}}],
                 "missing_in_target_count": int, "extra_in_target_count": int, "different_count": int,
                 "truncated": bool (lists capped at max_keys each; the counts are complete),
                 "rechecked_resolved": int, "errors": [str], "seconds": float,
                 "repair": {...} (only after repair.repair_report, see repair.summary)}]}

Keys are lists of the key column values in key order (``key_columns``), rendered by ``normalize.display``
(Decimal and timestamps as ISO text, bytes as hex); lists are in key-hash order, not key order.
Exit status: 0 every table consistent, 1 differences and no error, 2 any error (including incompatible
columns: they are listed in ``errors`` and the remaining columns still compared).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from .dialects import Dialect, Side
from .normalize import display
from .repair import DifferingRows
from .typemap import ColumnInfo, Incompatible, pair

MODES = ("count", "checksum", "full")
_MASK64 = (1 << 64) - 1
_BATCH = 5000
_FINE = 64  # full mode: sub-buckets per bucket digested in the first scan
_MAX_FINE = 1 << 32  # the bucket source is 32 bits
# Key ranges read each range through the key's index: on a heap stored far from key order that is random access
# (10M rows, target scrambled: 45 s by key ranges, 30 s by hash buckets' sequential scan). Measured at about 1 and
# about 0 only; 0.9 is a judgment in between.
_MIN_KEY_ORDER = 0.9


@dataclass(frozen=True)
class Endpoint:
    """One database: its dialect and a function returning a new DB-API connection (one per table worker)."""

    dialect: Dialect
    connect: Callable[[], Any]


def exit_status(report: dict) -> int:
    return {"consistent": 0, "different": 1}.get(report["status"], 2)


def reconcile(source: Endpoint, target: Endpoint, tables, mode: str = "checksum", buckets: int = 1024,
              workers: int = 2, recheck_delay: float = 0.0, max_keys: int = 1000, nfc: bool = False,
              differing_rows: list | None = None, progress: Callable[[str, str], None] | None = None,
              split: int = 1) -> dict:
    """Compare each table of ``tables`` (dicts, see ``TableSpec.from_spec``) between source and target.
    ``differing_rows``: a list that receives one ``repair.DifferingRows`` per table (full mode), for repair.
    ``progress(table, phase)`` is called as each table enters a phase (for a CLI's status line).
    ``split``: each table's digest scan runs as that many slices per side, each on its own connection (a big
    table on multi-core servers); 1 is one scan per side."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if int(buckets) < 1 or int(split) < 1:
        raise ValueError("buckets and split must be at least 1")
    options = dict(mode=mode, buckets=int(buckets), recheck_delay=float(recheck_delay), max_keys=int(max_keys),
                   progress=progress, split=int(split))
    specs = [TableSpec.from_spec(t, source.dialect, target.dialect, nfc) for t in tables]
    runs = [_TableRun(source, target, s, **options) for s in specs]
    with ThreadPoolExecutor(max(1, int(workers)), thread_name_prefix="reconcile-table") as pool:
        results = list(pool.map(lambda run: run.run(), runs))
    if differing_rows is not None:
        differing_rows.extend(run.differing_rows() for run in runs)
    return summarize(results, mode, int(buckets))


@dataclass(frozen=True)
class TableSpec:
    source: tuple
    target: tuple
    where_source: str | None
    where_target: str | None
    include: tuple | None
    exclude: tuple
    key: tuple | None
    nfc: bool

    @classmethod
    def from_spec(cls, spec, source_dialect: Dialect, target_dialect: Dialect, nfc: bool = False) -> "TableSpec":
        """``spec``: "schema.table" or {"source": name, "target": name (default: the source table name in the
        target's default schema), "where": sql or {"source": sql, "target": sql}, "include": [columns],
        "exclude": [columns], "key": [columns] (default: the source's primary key), "nfc": bool}.
        A name is "table", "schema.table" or [schema, table] (for names containing dots)."""
        if isinstance(spec, str):
            spec = {"source": spec}
        src = _split_name(spec["source"], source_dialect.default_schema)
        tgt = _split_name(spec["target"], target_dialect.default_schema) if spec.get("target") else \
            (target_dialect.default_schema, src[1])
        where = spec.get("where")
        ws, wt = (where.get("source"), where.get("target")) if isinstance(where, dict) else (where, where)
        include = spec.get("include")
        return cls(src, tgt, ws, wt, tuple(include) if include is not None else None,
                   tuple(spec.get("exclude") or ()), tuple(spec["key"]) if spec.get("key") else None,
                   bool(spec.get("nfc", nfc)))


def _split_name(name, default_schema: str) -> tuple:
    if isinstance(name, (list, tuple)):
        return tuple(name)
    schema, dot, table = name.partition(".")
    return (schema, table) if dot else (default_schema, name)


class _TableRun:
    ranged = False  # a single integer primary key, rows stored in about key order: key ranges, not hash buckets

    def __init__(self, source: Endpoint, target: Endpoint, spec: TableSpec, mode, buckets, recheck_delay,
                 max_keys, progress=None, split=1):
        self.endpoints = (source, target)
        self._progress, self.split = progress, split
        self.spec, self.mode, self.buckets = spec, mode, buckets
        self.recheck_delay, self.max_keys = recheck_delay, max_keys
        self.report = {
            "table": ".".join(spec.source), "target_table": ".".join(spec.target), "mode": mode,
            "status": "consistent", "key_columns": [], "columns": [], "rows_source": None, "rows_target": None,
            "partition": None, "buckets_compared": 0, "buckets_differing": 0, "missing_in_target": [],
            "extra_in_target": [],
            "different": [], "missing_in_target_count": 0, "extra_in_target_count": 0, "different_count": 0,
            "truncated": False, "rechecked_resolved": 0, "errors": [], "seconds": 0.0,
        }

    def run(self) -> dict:
        started = time.monotonic()
        conns = []
        try:
            for ep in self.endpoints:
                conn = ep.connect()
                conns.append(conn)
                ep.dialect.prepare(conn)
            self.conns = conns
            # Two threads: the source's and the target's statement of each step run concurrently.
            with ThreadPoolExecutor(2, thread_name_prefix="reconcile-side") as self.pool:
                self._phase("reading the catalogs")
                self._plan()
                if self.mode == "count":
                    self._phase("counting rows")
                    self._count()
                else:
                    self._phase("digesting buckets")
                    self._checksum()
        except Exception as exc:  # any failure is reported per table; the other tables go on
            self.report["errors"].append(f"{type(exc).__name__}: {exc}")
        finally:
            for conn in conns:
                try:
                    conn.close()
                except Exception:
                    pass
        r = self.report
        if r["errors"]:
            r["status"] = "error"
        elif (r["rows_source"] != r["rows_target"] or r["buckets_differing"] or r["missing_in_target_count"]
              or r["extra_in_target_count"] or r["different_count"]):
            r["status"] = "different"
        r["seconds"] = round(time.monotonic() - started, 3)
        return r

    # --- helpers ------------------------------------------------------------------------------------------------
    def _phase(self, text):
        if self._progress:
            self._progress(self.report["table"], text)

    def _both(self, fn):
        """fn(index, endpoint, connection) for source (0) and target (1), concurrently."""
        futures = [self.pool.submit(fn, i, ep, self.conns[i]) for i, ep in enumerate(self.endpoints)]
        return [f.result() for f in futures]

    @staticmethod
    def _fetchall(ep, conn, statement):
        sql, params = statement
        cur = conn.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall()
        finally:
            cur.close()

    # --- plan ---------------------------------------------------------------------------------------------------
    def _plan(self):
        names = (self.spec.source, self.spec.target)

        def catalog(i, ep, conn):
            cols = [ColumnInfo(n, t.lower(), s) for n, t, s in
                    self._fetchall(ep, conn, ep.dialect.catalog_columns(*names[i]))]
            pk = [r[0] for r in self._fetchall(ep, conn, ep.dialect.catalog_primary_key(*names[i]))]
            return cols, pk

        (scols, spk), (tcols, tpk) = self._both(catalog)
        table = self.report["table"]
        if not scols:
            raise LookupError(f"source table {table} not found or has no columns")
        if not tcols:
            raise LookupError(f"target table {self.report['target_table']} not found or has no columns")
        by_lower = {c.name.lower(): c for c in tcols}
        key_names = list(self.spec.key or spk)
        if not key_names:
            raise LookupError(f"{table}: no primary key; give the table's key columns as 'key'")
        if not self.spec.key and tpk and [k.lower() for k in tpk] != [k.lower() for k in key_names]:
            self.report["errors"].append(f"{table}: primary keys differ: source {spk}, target {tpk}")
        chosen = self._chosen_columns(scols, key_names)
        sdial, tdial = (ep.dialect.name for ep in self.endpoints)
        key, columns = [], []
        for col in chosen:
            tcol = by_lower.get(col.name.lower())
            try:
                if tcol is None:
                    raise Incompatible("missing in the target table")
                p = pair(sdial, col, tdial, tcol, self.spec.nfc)
            except Incompatible as exc:
                self.report["errors"].append(f"{table}.{col.name}: {exc}")
                if col.name in key_names:
                    raise LookupError(f"{table}: key column {col.name} cannot be compared") from None
                continue
            (key if col.name in key_names else columns).append(p)
        key.sort(key=lambda p: key_names.index(p.name))
        # Key ranges are a candidate (decided in _checksum by the physical order); MIN/MAX take no bool/bit.
        self.ranged = (len(key) == 1 and key[0].kind.name == "int"
                       and not {key[0].source.type, key[0].target.type} & {"bool", "bit"}
                       and [k.lower() for k in spk] == [k.lower() for k in tpk] == [key[0].name.lower()])
        self.pairs = (tuple(key), tuple(columns))
        self.sides = tuple(
            Side(names[i][0], names[i][1], tuple((getattr(p, side), p.kind) for p in key),
                 tuple((getattr(p, side), p.kind) for p in columns), where)
            for i, (side, where) in enumerate((("source", self.spec.where_source),
                                               ("target", self.spec.where_target))))
        self.report["key_columns"] = [p.name for p in key]
        self.report["columns"] = [p.name for p in columns]

    def _chosen_columns(self, scols, key_names):
        names = {c.name.lower() for c in scols}
        for k in key_names:
            if k.lower() not in names:
                raise LookupError(f"{self.report['table']}: key column {k} does not exist")
        wanted = [c.lower() for c in self.spec.include] if self.spec.include is not None else None
        unwanted = {c.lower() for c in self.spec.exclude}
        for name in (wanted or []) + sorted(unwanted):
            if name not in names:
                raise LookupError(f"{self.report['table']}: include/exclude names unknown column {name}")
        keys = {k.lower() for k in key_names}
        return [c for c in scols if c.name.lower() in keys or
                ((wanted is None or c.name.lower() in wanted) and c.name.lower() not in unwanted)]

    # --- count / checksum ---------------------------------------------------------------------------------------
    def _count(self):
        (s,), (t,) = self._both(lambda i, ep, conn: self._fetchall(ep, conn, ep.dialect.count(self.sides[i]))[0])
        self.report["rows_source"], self.report["rows_target"] = int(s), int(t)

    def _checksum(self):
        # Full mode digests finer buckets in the same single scan (``_FINE`` sub-buckets per bucket: the bucket
        # source mod buckets * _FINE, which reduces to the bucket mod buckets), so that the drill-down fetches
        # only the rows of the differing sub-buckets (~rows / (buckets * _FINE) each) instead of whole buckets.
        # The report's bucket figures stay those of ``buckets``.
        fine = self.buckets * _FINE if self.mode == "full" else self.buckets
        fine = self.buckets if fine > _MAX_FINE else fine
        self.partition = self._choose_partition(fine)

        src, dst = self._digests()
        r = self.report
        r["partition"] = "ranges" if self.ranged else "buckets"
        r["rows_source"] = sum(n for n, _ in src.values())
        r["rows_target"] = sum(n for n, _ in dst.values())
        differing = sorted(b for b in set(src) | set(dst) if src.get(b) != dst.get(b))
        coarse_src, coarse_dst = self.partition.coarse(src), self.partition.coarse(dst)
        r["buckets_compared"] = len(set(coarse_src) | set(coarse_dst))
        r["buckets_differing"] = sum(1 for b in set(coarse_src) | set(coarse_dst)
                                     if coarse_src.get(b) != coarse_dst.get(b))
        if self.mode == "full" and differing:
            self._phase(f"drilling into {len(differing)} differing bucket(s)")
            self._drill(differing)
            if self.recheck_delay > 0 and self._pending:
                self._phase(f"re-checking {len(self._pending)} key(s) in {self.recheck_delay:g} s")
                time.sleep(self.recheck_delay)
                self._recheck()
            self._render()

    def _choose_partition(self, fine):
        """Key ranges when the key allows them and both sides store the rows in about key order (the bounds are
        read only then), else hash buckets."""
        if self.ranged:
            orders = self._both(lambda i, ep, conn: self._fetchall(ep, conn, ep.dialect.key_order(self.sides[i]))[0])
            self.ranged = all(order is not None and order >= _MIN_KEY_ORDER for order, _ in orders)
        if not self.ranged:
            return _HashBuckets(fine, self.buckets)
        bounds = self._both(lambda i, ep, conn: self._fetchall(ep, conn, ep.dialect.key_bounds(self.sides[i]))[0])
        ends = [v for row in bounds for v in row if v is not None]
        histogram = next((_int_list(h) for _, h in orders if h), ())
        return _KeyRanges(min(ends, default=0), max(ends, default=-1), fine // self.buckets, self.buckets, histogram)

    def _digests(self):
        """{bucket: (rows, hash sum)} per side; with ``split`` > 1 each side's scan runs as that many slices
        (disjoint sets of buckets), each on its own connection, all concurrently."""
        def digests(i, ep, conn, part=0):
            rows = self._fetchall(ep, conn, self.partition.digests(ep.dialect, self.sides[i], part, self.split))
            return {int(b): (int(n), int(s) & _MASK64) for b, n, s in rows}

        if self.split == 1:
            return self._both(digests)
        extra = []
        try:
            for ep in self.endpoints:
                for _ in range(self.split - 1):
                    extra.append(ep.connect())
                    ep.dialect.prepare(extra[-1])
            conns = [[self.conns[i]] + extra[i * (self.split - 1):(i + 1) * (self.split - 1)] for i in range(2)]
            with ThreadPoolExecutor(2 * self.split, thread_name_prefix="reconcile-slice") as pool:
                futures = [[pool.submit(digests, i, ep, conns[i][k], k) for k in range(self.split)]
                           for i, ep in enumerate(self.endpoints)]
                return [{b: v for f in side for b, v in f.result().items()} for side in futures]
        finally:
            for conn in extra:
                try:
                    conn.close()
                except Exception:
                    pass

    # --- full: drill down ---------------------------------------------------------------------------------------
    def _drill(self, differing):
        # key hash -> (kind, source row, target row); only up to max_keys per kind are kept (bounded memory).
        self._pending = {}
        self._counts = {"missing": 0, "extra": 0, "different": 0}
        self._differing = differing
        for kh, s_row, t_row in self._rows_of(differing):
            self._classify(kh, s_row, t_row)

    def _rows_of(self, ids):
        """(key hash, source row | None, target row | None) for every row of the given fine buckets or ranges:
        both sides stream them in key-hash order (one scan per side and chunk of ids) and are merged. The rows
        carry their raw values, so the report needs no other pass over the table."""
        step = min(ep.dialect.max_list for ep in self.endpoints) - 1
        for start in range(0, len(ids), step):
            chunk = ids[start:start + step]
            streams = [_Prefetch(ep, self.conns[i], self.partition.rows(ep.dialect, self.sides[i], chunk))
                       for i, ep in enumerate(self.endpoints)]
            try:
                yield from _merge(*streams)
            finally:
                for s in streams:
                    s.close()

    def _classify(self, kh, s_row, t_row, counted=True):
        if s_row is not None and t_row is not None and s_row[1] == t_row[1]:
            return None
        kind = "missing" if t_row is None else "extra" if s_row is None else "different"
        if counted:
            self._counts[kind] += 1
            if self._counts[kind] > self.max_keys:
                self.report["truncated"] = True
                return kind
        self._pending[kh] = (kind, s_row, t_row)
        return kind

    def _recheck(self):
        """Rows may have been in flight (committed in the source, not yet in the target): the differing buckets
        are read again and their pending keys classified anew (a key always falls in the same bucket)."""
        before = self._pending
        self._pending = {}
        now = dict.fromkeys(before, (None, None))
        for kh, s_row, t_row in self._rows_of(self._differing):
            if kh in now:
                now[kh] = (s_row, t_row)
        for kh, (s_row, t_row) in now.items():
            old = before[kh][0]
            if s_row is None and t_row is None:
                new = None  # deleted on both sides meanwhile
            else:
                new = self._classify(kh, s_row, t_row, counted=False)
            if new != old:
                self._counts[old] -= 1
                if new is None:
                    self.report["rechecked_resolved"] += 1
                else:
                    self._counts[new] += 1

    def _render(self):
        r = self.report
        nkey, ncol = len(self.pairs[0]), len(self.pairs[1])
        for kind, s_row, t_row in self._pending.values():
            if kind == "missing":
                r["missing_in_target"].append(_key(s_row, ncol, nkey))
            elif kind == "extra":
                r["extra_in_target"].append(_key(t_row, ncol, nkey))
            else:
                columns = {p.name: [display(s_row[2 + ncol + nkey + j]), display(t_row[2 + ncol + nkey + j])]
                           for j, p in enumerate(self.pairs[1]) if s_row[2 + j] != t_row[2 + j]}
                r["different"].append({"key": _key(s_row, ncol, nkey), "columns": columns})
        r["missing_in_target_count"] = self._counts["missing"]
        r["extra_in_target_count"] = self._counts["extra"]
        r["different_count"] = self._counts["different"]

    def differing_rows(self) -> DifferingRows:
        """The differing rows with their raw values (drill-down layout), complete only when nothing was
        truncated and no error occurred."""
        pending = getattr(self, "_pending", {})
        by_kind = {k: [(s, t) for kind, s, t in pending.values() if kind == k] for k in ("missing", "extra",
                                                                                    "different")}
        r = self.report
        return DifferingRows(r["table"], self.spec.source, self.spec.target, getattr(self, "pairs", ((), ())),
                             by_kind["missing"], by_kind["extra"], by_kind["different"],
                             complete=not (r["truncated"] or r["errors"]) and self.mode == "full")


class _Partition:
    """How a table's rows are divided for digesting: ``fine`` ids digested, reported as ``buckets`` buckets."""

    def coarse(self, digests):
        """Fine digests summed into their reported bucket: counts add, hash sums add mod 2**64."""
        out = {}
        for b, (n, h) in digests.items():
            on, oh = out.get(self.bucket_of(b), (0, 0))
            out[self.bucket_of(b)] = (on + n, (oh + h) & _MASK64)
        return out


class _HashBuckets(_Partition):
    """Buckets of the key's bucket source (see dialects); fine bucket b belongs to bucket b mod buckets."""

    def __init__(self, fine: int, buckets: int):
        self.fine, self.buckets = fine, buckets

    def bucket_of(self, b):
        return b % self.buckets

    def digests(self, dialect, side, part, parts):
        return dialect.bucket_digests(side, self.fine, part, parts)

    def rows(self, dialect, side, ids):
        return dialect.rows_in_buckets(side, self.fine, ids, raw_columns=True)


class _KeyRanges(_Partition):
    """[lo, hi] (both sides' key bounds) cut into about ``buckets`` contiguous ranges holding about equal numbers of
    rows (``_coarse_ranges``), each cut again into up to ``per_bucket`` fine ranges (the ones digested) of at least
    MIN_FINE_WIDTH key values. Bounds are Python integers: no overflow near the int8 limits."""

    MIN_FINE_WIDTH = 1000  # key values: each range read has a fixed cost (index descent, aggregate, one MD5)

    def __init__(self, lo: int, hi: int, per_bucket: int, buckets: int, histogram=()):
        self.bounds, self._bucket = [], []
        for b, (blo, bhi) in enumerate(_coarse_ranges(lo, hi, buckets, histogram)):
            for bounds in _cut(blo, bhi, max(1, min(per_bucket, (bhi - blo + 1) // self.MIN_FINE_WIDTH))):
                self.bounds.append(bounds)
                self._bucket.append(b)

    def bucket_of(self, i):
        return self._bucket[i]

    def digests(self, dialect, side, part, parts):
        n = len(self.bounds)
        ids = range(part * n // parts, (part + 1) * n // parts)  # a contiguous slice per part
        return dialect.range_digests(side, [(i, *self.bounds[i]) for i in ids])

    def rows(self, dialect, side, ids):
        return dialect.rows_in_ranges(side, [self.bounds[i] for i in ids], raw_columns=True)


def _coarse_ranges(lo: int, hi: int, n: int, histogram=()):
    """[lo, hi] as about n contiguous ranges of about equal row counts. Equal widths would put a dense table with
    one far outlier key (a sentinel such as 2**63 - 1) into a single range, too big for one digest (a value is at
    most 1 GB): so the cut follows the key's histogram from the statistics (equal-depth bounds), interpolated
    within its intervals; keys beyond it (rows added since the last ANALYZE) get ranges of its average width, at
    most n on each side. Without a histogram: equal widths."""
    h = sorted({v for v in histogram if lo <= v <= hi})
    if len(h) < 2:
        return _cut(lo, hi, n)
    k = len(h) - 1  # intervals, each holding about 1/k of the rows
    starts = {h[0]}
    for j in range(1, n):
        i, rem = divmod(j * k, n)
        starts.add(h[i] + (h[i + 1] - h[i]) * rem // n)
    starts = sorted(starts)
    inner = [(a, b - 1) for a, b in zip(starts, starts[1:])] + [(starts[-1], h[-1])]
    width = max(1, (h[-1] - h[0] + 1) // n)
    head = _cut(lo, h[0] - 1, min(n, -(-(h[0] - lo) // width))) if lo < h[0] else []
    tail = _cut(h[-1] + 1, hi, min(n, -(-(hi - h[-1]) // width))) if hi > h[-1] else []
    return head + inner + tail


def _cut(lo: int, hi: int, n: int):
    """[lo, hi] as at most n contiguous (lo, hi) ranges of equal width (fewer when it holds fewer values)."""
    span = hi - lo + 1
    if span <= 0:
        return []
    width = -(-span // min(n, span))
    return [(lo + o, min(hi, lo + o + width - 1)) for o in range(0, span, width)]


def _int_list(text: str):
    """PostgreSQL's array text of integers ('{1,20,300}') as a list; () when it is anything else."""
    try:
        return [int(v) for v in text.strip("{}").split(",")]
    except ValueError:
        return ()


def _key(row, ncol, nkey):
    return [display(v) for v in row[2 + ncol:2 + ncol + nkey]]


def _merge(source, target):
    """Merge two streams ordered by key hash: (key hash, source row | None, target row | None)."""
    s, t = next(source, None), next(target, None)
    while s is not None or t is not None:
        sk = bytes(s[0]) if s is not None else None
        tk = bytes(t[0]) if t is not None else None
        if t is None or (s is not None and sk < tk):
            yield sk, s, None
            s = next(source, None)
        elif s is None or tk < sk:
            yield tk, None, t
            t = next(target, None)
        else:
            yield sk, s, t
            s, t = next(source, None), next(target, None)


class _Prefetch:
    """Runs a query in a background thread and yields its rows; a bounded queue caps the rows held."""

    _DONE = object()

    def __init__(self, ep: Endpoint, conn, statement, depth: int = 4):
        self._queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(ep, conn, statement), daemon=True)
        self._thread.start()
        self._batch = iter(())

    def _produce(self, ep, conn, statement):
        sql, params = statement
        try:
            cur = ep.dialect.stream_cursor(conn)
            try:
                cur.execute(sql, params)
                while not self._stop.is_set():
                    rows = cur.fetchmany(_BATCH)
                    if not rows:
                        break
                    self._put(rows)
            finally:
                cur.close()
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consuming thread
            self._put(exc)

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            row = next(self._batch, None)
            if row is not None:
                return row
            item = self._queue.get()
            if item is self._DONE:
                self._queue.put(item)  # stay exhausted
                raise StopIteration
            if isinstance(item, BaseException):
                raise item
            self._batch = iter(item)

    def close(self):
        self._stop.set()
        self._thread.join()


def summarize(results, mode, buckets) -> dict:
    totals = {"tables": len(results), "consistent": 0, "different": 0, "error": 0, "rows_source": 0,
              "rows_target": 0, "missing_in_target": 0, "extra_in_target": 0, "different_rows": 0,
              "rechecked_resolved": 0}
    for r in results:
        totals[r["status"]] += 1
        totals["rows_source"] += r["rows_source"] or 0
        totals["rows_target"] += r["rows_target"] or 0
        totals["missing_in_target"] += r["missing_in_target_count"]
        totals["extra_in_target"] += r["extra_in_target_count"]
        totals["different_rows"] += r["different_count"]
        totals["rechecked_resolved"] += r["rechecked_resolved"]
    status = "error" if totals["error"] else "different" if totals["different"] else "consistent"
    report = {"status": status, "mode": mode, "buckets": buckets, "totals": totals, "tables": results}
    report["exit_status"] = exit_status(report)
    return report
