# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Repair of the rows a full reconciliation found: a plan first, then (unless a dry run) its application.

Two methods, combinable:

* ``signal`` — for a Debezium-fed pipeline: ad-hoc incremental snapshot signals (``execute-snapshot``,
  ``additional-conditions`` selecting exactly the missing and different keys) inserted into the source's signal
  table. Debezium re-reads those rows and the sink upserts them. A row only in the target cannot be repaired this
  way (the source has nothing to re-read): it is listed as needing ``direct``.
* ``direct`` — upserts (missing and different rows, from the source's values of the compared columns) and
  deletes (rows only in the target) applied to the PostgreSQL target, in one transaction per table.

Statements are built by the dialects (identifiers quoted there, values bound). The snapshot filter is the one
exception: Debezium runs it as SQL text, so the key values are rendered as literals by the source dialect.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

METHODS = ("signal", "direct")
SIGNAL_KEYS = 500  # keys per signal at most: bounds the filter Debezium runs per chunk
SIGNAL_DATA_MAX = 2048  # the signal table's data column is VARCHAR(2048) (Debezium's documented layout)


@dataclass
class DifferingRows:
    """One table's differing rows as the drill-down fetched them: (source row, target row) pairs, either None
    where the row is absent. Row layout: key hash, row hash, column hashes, raw keys, raw column values."""

    table: str
    source: tuple
    target: tuple
    pairs: tuple  # (key ColumnPairs, column ColumnPairs)
    missing: list
    extra: list
    different: list
    complete: bool


@dataclass(frozen=True)
class Action:
    kind: str  # "signal" (on the source), "upsert" or "delete" (on the target)
    rows: int
    what: str
    sql: str
    params: list = field(default_factory=list)
    many: bool = False  # params is a list of parameter lists

    @property
    def on(self) -> str:
        return "source" if self.kind == "signal" else "target"


def _raw(row, pairs, part):
    nkey, ncol = len(pairs[0]), len(pairs[1])
    start = 2 + ncol
    return list(row[start:start + nkey]) if part == "key" else list(row[start + nkey:start + nkey + ncol])


def plan(rows: DifferingRows, source_dialect, target_dialect, methods, signal_table: str | None = None,
         database: str | None = None) -> tuple[list, list]:
    """(actions, notes) for one table. Raises ValueError when the repair cannot be planned safely."""
    unknown = set(methods) - set(METHODS)
    if unknown or not methods:
        raise ValueError(f"repair methods must be among {', '.join(METHODS)}, got {sorted(methods)}")
    if not rows.complete:
        raise ValueError(f"{rows.table}: the differing keys are incomplete (report truncated, an error, or not a "
                         f"full-mode run): raise max_keys and run again before repairing")
    keys, cols = rows.pairs
    actions, notes = [], []
    refill = rows.missing + rows.different
    if "signal" in methods and refill:
        if not signal_table:
            raise ValueError("repair method signal needs the source's signal table (signal_table)")
        actions += _signals(rows, source_dialect, signal_table, database, [_raw(s, rows.pairs, "key")
                                                                           for s, _ in refill])
    if "direct" in methods:
        tschema, ttable = rows.target
        knames, cnames = [p.target.name for p in keys], [p.target.name for p in cols]
        name = ".".join(rows.target)
        if refill and "signal" not in methods:
            params = [_raw(s, rows.pairs, "key") + _raw(s, rows.pairs, "values") for s, _ in refill]
            actions.append(Action("upsert", len(params), f"upsert {len(params)} row(s) into {name}",
                                  target_dialect.upsert(tschema, ttable, knames, cnames), params, many=True))
        if rows.extra:
            params = [_raw(t, rows.pairs, "key") for _, t in rows.extra]
            actions.append(Action("delete", len(params), f"delete {len(params)} row(s) only in {name}",
                                  target_dialect.delete(tschema, ttable, knames), params, many=True))
    elif rows.extra:
        notes.append(f"{len(rows.extra)} row(s) exist only in the target: a snapshot cannot remove them; "
                     f"repair them with the direct method")
    return actions, notes


def _signals(rows, dialect, signal_table, database, key_values):
    schema, table = rows.source
    collection = dialect.data_collection(database, schema, table)
    sql = dialect.signal_insert(signal_table)
    infos = [p.source for p in rows.pairs[0]]

    def data(chunk):
        # ASCII JSON (non-ASCII as \u escapes): safe in a VARCHAR column whatever its code page.
        return json.dumps({"data-collections": [collection], "type": "incremental",
                           "additional-conditions": [{"data-collection": collection,
                                                      "filter": dialect.key_filter(infos, chunk)}]},
                          separators=(",", ":"))

    actions, pending = [], [key_values[i:i + SIGNAL_KEYS] for i in range(0, len(key_values), SIGNAL_KEYS)]
    while pending:
        chunk = pending.pop(0)
        text = data(chunk)
        if len(text) > SIGNAL_DATA_MAX:  # halve until the signal fits the data column
            if len(chunk) == 1:
                raise ValueError(f"{rows.table}: the snapshot signal for key {chunk[0]!r} is longer than "
                                 f"{SIGNAL_DATA_MAX} characters; repair it with the direct method")
            pending[:0] = [chunk[:len(chunk) // 2], chunk[len(chunk) // 2:]]
            continue
        signal_id = f"sluice-repair-{uuid.uuid4().hex[:24]}"  # signal ids are varchar(42)
        actions.append(Action("signal", len(chunk), f"snapshot signal for {len(chunk)} key(s) of {collection}",
                              sql, [signal_id, "execute-snapshot", text]))
    return actions


def describe(action: Action, limit: int = 5) -> str:
    """A readable line block for a dry run: where, what, the statement and (some of) its parameters."""
    lines = [f"[{action.on}] {action.what}", f"  {action.sql}"]
    params = action.params if action.many else [action.params]
    for p in params[:limit]:
        lines.append(f"  params: {json.dumps(p, default=str, ensure_ascii=False)}")
    if len(params) > limit:
        lines.append(f"  ... {len(params) - limit} more parameter set(s)")
    return "\n".join(lines)


def apply(actions, source_conn, target_conn) -> None:
    """Run the actions: each side's statements in one transaction (committed at the end, rolled back on error)."""
    for side, conn in (("source", source_conn), ("target", target_conn)):
        mine = [a for a in actions if a.on == side]
        if not mine:
            continue
        cur = conn.cursor()
        try:
            for a in mine:
                if a.many:
                    cur.executemany(a.sql, a.params)
                else:
                    cur.execute(a.sql, a.params)
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        finally:
            cur.close()


def summary(actions, notes, dry_run: bool) -> dict:
    """The ``repair`` entry of a table's report."""
    def rows(kind):
        return sum(a.rows for a in actions if a.kind == kind)
    return {"dry_run": dry_run, "signals": sum(1 for a in actions if a.kind == "signal"),
            "keys_signalled": rows("signal"), "upserts": rows("upsert"), "deletes": rows("delete"),
            "notes": list(notes)}


def repair_report(report: dict, differing: list, source_ep, target_ep, methods, signal_table=None,
                  dry_run: bool = False, echo=None) -> dict:
    """Plan (and unless ``dry_run`` apply) the repair of every different table of a full-mode report; each
    table's report gets a ``repair`` entry, or an error. Returns the report."""
    by_name = {d.table: d for d in differing}
    for t in report["tables"]:
        rows = by_name.get(t["table"])
        if t["status"] != "different" or rows is None:
            continue
        try:
            database = _current_database(source_ep) if "signal" in methods else None
            actions, notes = plan(rows, source_ep.dialect, target_ep.dialect, methods, signal_table, database)
            if echo:
                for a in actions:
                    echo(describe(a))
                for n in notes:
                    echo(f"note: {t['table']}: {n}")
            if not dry_run and actions:
                conns = [ep.connect() for ep in (source_ep, target_ep)]
                try:
                    apply(actions, *conns)
                finally:
                    for c in conns:
                        c.close()
            t["repair"] = summary(actions, notes, dry_run)
        except Exception as exc:  # reported per table, like the comparison's errors
            t["errors"].append(f"repair: {type(exc).__name__}: {exc}")
            t["status"] = "error"
    return report


def _current_database(ep):
    conn = ep.connect()
    try:
        cur = conn.cursor()
        cur.execute(*ep.dialect.current_database())
        return cur.fetchone()[0]
    finally:
        conn.close()
