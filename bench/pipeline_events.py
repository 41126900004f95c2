"""Change events for bench/pipeline.py: generated once (in parallel shards) into spool files, then sent fast.

cdcgen's Python encoder makes ~14K events/s on one core, too slow to drive the sink, so events are encoded ahead
into a spool file per shard (cached under .cache/bench/ by seed, size and cdcgen's source) and sent from there.
The commit time is not known ahead: every event is encoded with the clock at SENTINEL_MS, and :func:`stamp`
writes the real send time over it (source.ts_ms, payload.ts_ms and their ts_us/ts_ns, which are ts_ms with zeros
appended, so one 13-digit replacement fixes all six without changing the record's length).

Shards are independent key spaces (ids offset by ``shard * KEY_STRIDE``, inventory SKUs of their own), so their
streams may be sent in any interleaving and PostgreSQL still ends in the union of their states.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import struct
import time

from tests.support.cdcgen import TABLES, Generator, RandomWorkload

TABLE_NAMES = tuple(TABLES)          # customers, orders, line_items, inventory_levels, all_types
SENTINEL_MS = 1_111_111_111_111      # 2005-03-18: 13 digits, as every ms timestamp until 2286
SENTINEL = str(SENTINEL_MS).encode()
KEY_STRIDE = 40_000_000              # ids per shard; int keys stay below 2**31 for shard < 53
MAX_SHARD = (2 ** 31 - 1 - 200_000_000) // KEY_STRIDE
MARKER_BASE = 2_100_000_000          # end-of-phase marker ids, above every shard
HEADER = struct.Struct("<BcHI")      # table index, op (c/u/d/t), key length, value length
TOMBSTONE = 0xFFFFFFFF


def frame(table_index: int, op: bytes, key: bytes, value: bytes | None) -> bytes:
    return HEADER.pack(table_index, op, len(key), TOMBSTONE if value is None else len(value)) + key + (value or b"")


def read_frames(buf):
    """(table index, op, key, value or None) of every frame in ``buf`` (bytes, mmap)."""
    pos, end = 0, len(buf)
    while pos < end:
        index, op, klen, vlen = HEADER.unpack_from(buf, pos)
        pos += HEADER.size
        key = bytes(buf[pos:pos + klen])
        pos += klen
        if vlen == TOMBSTONE:
            yield index, op, key, None
        else:
            yield index, op, key, bytes(buf[pos:pos + vlen])
            pos += vlen


def stamp(value: bytes, now_ms: int) -> bytes:
    """The record with its commit/processing time set to ``now_ms``."""
    return value.replace(SENTINEL, b"%d" % now_ms)


def op_of(value: bytes) -> bytes:
    """The envelope's op (b'c', b'u', b'd') read from the end of the value, where the encoder writes it."""
    at = value.rindex(b',"op":"')
    return value[at + 7:at + 8]


def cdcgen_fingerprint() -> str:
    """Changes whenever cdcgen or this file changes: a cached spool of another encoder is not reused."""
    digest = hashlib.sha256()
    for path in sorted((pathlib.Path(__file__).parent.parent / "tests" / "support" / "cdcgen").glob("*.py")):
        digest.update(path.read_bytes())
    digest.update(pathlib.Path(__file__).read_bytes())
    return digest.hexdigest()[:12]


def workload_for(shard: int, seed: int) -> RandomWorkload:
    """cdcgen's random mix (about 55 % inserts, 33 % updates, 12 % deletes over all five sample tables) in the
    key space of ``shard``."""
    if not 0 <= shard <= MAX_SHARD:
        raise ValueError(f"shard must be in 0..{MAX_SHARD}")
    gen = Generator(clock=lambda: SENTINEL_MS * 1_000_000, start_lsn=f"{0x100 * (shard + 1):08x}:00000758:0001")
    work = RandomWorkload(gen, seed=seed * 1000 + shard)
    work.next_id = {name: value + shard * KEY_STRIDE for name, value in work.next_id.items()}
    work.skus = [f"SKU-{shard:02d}-{i:02d}" for i in range(60)]
    return work


def generate_shard(spec: tuple[int, int, int, str]) -> dict:
    """Write ``count`` events of shard ``shard`` to ``path`` (runs in a worker process); return its summary."""
    seed, shard, count, path = spec
    work = workload_for(shard, seed)
    per_op = {"c": 0, "u": 0, "d": 0}
    events = tombstones = 0
    with open(path + ".part", "wb") as out:
        while events < count:
            for record in work.step(max_events=count - events):
                index = TABLE_NAMES.index(record.topic.rsplit(".", 1)[1])
                if record.value is None:
                    tombstones += 1
                    out.write(frame(index, b"t", record.key, None))
                else:
                    op = op_of(record.value)
                    per_op[op.decode()] += 1
                    events += 1
                    out.write(frame(index, op, record.key, record.value))
    pathlib.Path(path + ".part").rename(path)
    return {"shard": shard, "events": events, "tombstones": tombstones, "ops": per_op,
            "rows": work.gen.row_counts(), "path": path}


def encode_rate(seconds: float = 2.0, seed: int = 0) -> int:
    """Events/s this process encodes for ``seconds``: a measure of the machine's speed printed beside every
    figure, because the same run on the same code varied by a factor of two between days on a shared host."""
    work = workload_for(0, seed)
    events = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        events += sum(1 for record in work.step() if record.value is not None)
    return round(events / elapsed)


def spool_path(cache: pathlib.Path, seed: int, shard: int, count: int) -> pathlib.Path:
    return cache / f"s{seed}-shard{shard}-n{count}-{cdcgen_fingerprint()}.spool"


def cached_summary(path: pathlib.Path) -> dict | None:
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return json.loads(meta.read_text())
    return None


def markers(phase: int, partitions: dict[str, int]) -> list[tuple[str, int, bytes, bytes]]:
    """One insert per (table, partition), sent last in a phase: (table, partition, key, value).

    The sink applies a partition's records in order, so once every marker of the phase is in PostgreSQL, every
    event sent before it is too (independent of batching and of the reduction buffer)."""
    gen = Generator(clock=lambda: SENTINEL_MS * 1_000_000)
    work = RandomWorkload(gen, seed=phase)
    out = []
    for table in TABLE_NAMES:
        for partition in range(partitions[table]):
            if table == "inventory_levels":
                row = {"warehouse_id": -1 - phase, "sku": f"BENCH-END-{partition}", **work.new_row(table)}
            else:
                row = work.new_row(table, id=MARKER_BASE + phase * 256 + partition)
            record = gen.insert(table, row)[0]
            out.append((table, partition, record.key, record.value))
    return out


def marker_keys(phase: int, partitions: dict[str, int]) -> dict[str, list[tuple]]:
    keys = {}
    for table in TABLE_NAMES:
        n = partitions[table]
        keys[table] = ([(-1 - phase, f"BENCH-END-{p}") for p in range(n)] if table == "inventory_levels"
                       else [(MARKER_BASE + phase * 256 + p,) for p in range(n)])
    return keys


def key_of(table: str, key_bytes: bytes) -> tuple:
    """The primary-key tuple of a record key (JsonConverter with schema), in the table's key order."""
    payload = json.loads(key_bytes)["payload"]
    return tuple(payload[c] for c in TABLES[table].primary_key)


def keys_query(table: str, extra: str = "") -> str:
    """SELECT of the rows of cdc.<table> whose keys are in the per-column arrays passed as parameters, returning
    the key as a JSON array (and ``extra``, an expression over the row ``t``)."""
    t = TABLES[table]
    cols = t.primary_key
    types = ["bigint" if c.type in ("tinyint", "smallint", "int", "bigint") else "text" for c in t.key_columns]
    arrays = ", ".join(f"%s::{ty}[]" for ty in types)
    on = " AND ".join(f"t.{c} = k.c{i}" for i, c in enumerate(cols))
    return (f"SELECT json_build_array({', '.join('t.' + c for c in cols)})::text{', ' + extra if extra else ''} "
            f"FROM cdc.{table} t JOIN unnest({arrays}) AS k({', '.join(f'c{i}' for i in range(len(cols)))}) "
            f"ON {on}")


def key_arrays(keys) -> list[list]:
    """Key tuples as one list per key column (the parameters of :func:`keys_query`)."""
    keys = list(keys)
    width = len(keys[0]) if keys else 1
    return [[k[i] for k in keys] for i in range(width)]
