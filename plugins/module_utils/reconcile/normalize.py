# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Canonical typed encoding of column values: the reference for the server-side SQL expressions.

Two values are equal across engines exactly when their canonical bytes are equal. The SQL expressions in
``dialects.py`` must produce the same bytes as :func:`encode_value` for every kind (tests check PostgreSQL's
byte for byte). Kinds and their encodings (``>q`` = 8-byte big-endian two's complement):

==============  =============================================================================================
kind            canonical bytes of a non-NULL value
==============  =============================================================================================
``int``         ``>q`` of the integer (bit/boolean as 0/1; tinyint..bigint)
``decimal``     ASCII text of the value at the column pair's scale S (max of both sides), ``-`` sign, no
                exponent, ``0.50`` not ``.5``; negative zero is zero. S unknown on both sides (PostgreSQL
                ``numeric`` without typmod): trailing fractional zeros removed (``trim_scale``)
``float``       ``>d`` IEEE-754 bits of the value widened to double; -0.0 -> +0.0, every NaN -> 0x7FF8000000000000
``date``        ``>q`` days since 1970-01-01
``time``        ``>q`` microseconds since midnight (time(7) rounded half-up, 24:00:00 wraps to 0: the pipeline)
``timestamp``   ``>q`` microseconds since 2000-01-01T00:00 of the wall-clock value, rounded half-up from 100 ns
``timestamptz`` ``>q`` microseconds since 2000-01-01T00:00Z of the UTC instant, rounded half-up
``uuid``        UTF-8 of the upper-case canonical text ``6F9619FF-8B86-D011-B42D-00C04FC964FF``
``text``        UTF-8 (NFC first only when the ``nfc`` option is on; off by default: NFC != NFD)
``char``        as ``text`` after removing trailing U+0020 (fixed-length CHAR padding), applied to BOTH sides
``bytes``       the raw bytes
==============  =============================================================================================

Framing (so that NULL differs from '' and adjacent columns cannot run into each other): NULL is ``00``;
a value is ``01`` + ``>I`` length + canonical bytes. Row and key hashes are MD5 over the concatenated frames:
``key_hash = md5(key frames)`` (16 bytes, the merge order), ``bucket = source mod N`` where the source is the key
itself for a single integer key column, else ``>I of key_hash[0:4]``, ``row_hash = >q of md5(key frames + column frames)[0:8]`` (signed, summed mod 2**64 per bucket).
MD5 is used as a checksum, not for security: both engines have it built in and fast.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import math
import struct
import unicodedata
import uuid
from dataclasses import dataclass

KINDS = ("int", "decimal", "float", "date", "time", "timestamp", "timestamptz", "uuid", "text", "char", "bytes")
FIXED_WIDTH = frozenset(("int", "float", "date", "time", "timestamp", "timestamptz"))  # always 8 bytes

NULL_FRAME = b"\x00"
CANONICAL_NAN = struct.pack(">Q", 0x7FF8000000000000)
_EPOCH_DATE = _dt.date(1970, 1, 1)
_UTC = _dt.timezone.utc
_DAY_US = 86_400_000_000
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Kind:
    """How a column pair is compared. ``scale``: decimal scale (None: trim trailing zeros); ``nfc``: text/char."""

    name: str
    scale: int | None = None
    nfc: bool = False

    def __post_init__(self):
        if self.name not in KINDS:
            raise ValueError(f"unknown kind {self.name!r}")


def encode_value(kind: Kind, value) -> bytes | None:
    """Canonical bytes of ``value`` (None for NULL). Accepts what psycopg and pyodbc return for the kind."""
    if value is None:
        return None
    return _ENCODERS[kind.name](kind, value)


def frame(canonical: bytes | None) -> bytes:
    """NULL flag + length prefix: NULL and '' differ, and a column cannot spill into the next."""
    if canonical is None:
        return NULL_FRAME
    return b"\x01" + struct.pack(">I", len(canonical)) + canonical


def frames(kinds, values) -> bytes:
    return b"".join(frame(encode_value(k, v)) for k, v in zip(kinds, values))


def key_hash(key_frames: bytes) -> bytes:
    return hashlib.md5(key_frames).digest()


def bucket_source(key_kinds, key_values, key_frames: bytes) -> int:
    """A single integer key is its own bucket source (no hash per row server-side); any other key: the first
    4 bytes of its key hash, unsigned."""
    if len(key_kinds) == 1 and key_kinds[0].name == "int":
        return int(key_values[0] or 0)
    return int.from_bytes(key_hash(key_frames)[:4], "big")


def bucket_of(source: int, buckets: int) -> int:
    return source % buckets


def row_hash(key_frames: bytes, column_frames: bytes) -> int:
    return int.from_bytes(hashlib.md5(key_frames + column_frames).digest()[:8], "big", signed=True)


def range_digest(row_frames) -> int:
    """Digest of a key range (single integer primary key): MD5 of its rows' frames concatenated in key order,
    first 8 bytes signed. Order-dependent, so one MD5 per range instead of one per row."""
    return int.from_bytes(hashlib.md5(b"".join(row_frames)).digest()[:8], "big", signed=True)


def column_hash(kind: Kind, value) -> bytes:
    """Per-column digest used to name the differing columns of a row."""
    return hashlib.md5(frame(encode_value(kind, value))).digest()


def digest_sum(values) -> int:
    """Order-independent bucket digest: the sum of signed 64-bit row hashes, mod 2**64."""
    return sum(values) & _MASK64


# --- encoders ---------------------------------------------------------------------------------------------------
def _int(kind, v):
    if isinstance(v, decimal.Decimal):
        if v != v.to_integral_value():
            raise ValueError(f"{v} is not an integer")
        v = int(v)
    return struct.pack(">q", int(v))


def _decimal(kind, v):
    d = v if isinstance(v, decimal.Decimal) else decimal.Decimal(str(v) if isinstance(v, float) else v)
    if not d.is_finite():
        # PostgreSQL numeric may hold NaN/Infinity; SQL Server cannot: keep them distinct from every number.
        return str(d).encode("ascii")
    ctx = decimal.Context(prec=1000)
    if kind.scale is None:
        d = d.normalize(ctx)
    else:
        d = d.quantize(decimal.Decimal(1).scaleb(-kind.scale), rounding=decimal.ROUND_HALF_UP, context=ctx)
    if d.is_zero():
        d = d.copy_abs()
    return format(d, "f").encode("ascii")


def _float(kind, v):
    f = float(v)
    if f == 0.0:
        f = 0.0
    elif math.isnan(f):
        return CANONICAL_NAN
    return struct.pack(">d", f)


def _date(kind, v):
    if isinstance(v, _dt.datetime):
        raise TypeError(f"date needs a datetime.date, got {v!r}")
    return struct.pack(">q", (v - _EPOCH_DATE).days)


def _time(kind, v):
    if isinstance(v, _dt.timedelta):  # some drivers return time as an interval
        us = v // _dt.timedelta(microseconds=1)
    else:
        us = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
        us += (getattr(v, "nanosecond", 0) + 500) // 1000
    return struct.pack(">q", us % _DAY_US)


# Timestamps count from 2000-01-01, PostgreSQL's own epoch: its binary send format is then the canonical form
# (timestamp_send is ten times cheaper than computing Unix-epoch microseconds in SQL).
_TS_EPOCH = _dt.datetime(2000, 1, 1)


def _epoch_us(v: _dt.datetime) -> int:
    """Microseconds since 2000-01-01; an aware value as its UTC instant, a naive one read as UTC (wall clock)."""
    base = _TS_EPOCH.replace(tzinfo=_UTC) if v.tzinfo is not None else _TS_EPOCH
    us = (v - base) // _dt.timedelta(microseconds=1)
    # cdcgen's PreciseDateTime carries the 7th-9th digits: the pipeline rounds them half-up (pgjdbc).
    return us + (getattr(v, "nanosecond", 0) + 500) // 1000


def _timestamp(kind, v):
    if not isinstance(v, _dt.datetime):
        raise TypeError(f"timestamp needs a datetime.datetime, got {v!r}")
    if kind.name == "timestamp" and v.tzinfo is not None:
        raise TypeError(f"timestamp needs a naive datetime, got {v!r}")
    if kind.name == "timestamptz" and v.tzinfo is None:
        raise TypeError(f"timestamptz needs an aware datetime, got {v!r}")
    return struct.pack(">q", _epoch_us(v))


def _uuid(kind, v):
    # uuid.UUID (psycopg) or text (pyodbc, the pipeline's text column): the upper-case text, nothing parsed, so
    # that the server-side upper(x::text) / CONVERT(varchar(36), x) give the same bytes.
    return str(v).upper().encode("utf-8")


def _text(kind, v):
    if not isinstance(v, str):
        raise TypeError(f"{kind.name} needs a str, got {v!r}")
    if kind.name == "char":
        v = v.rstrip(" ")
    if kind.nfc:
        v = unicodedata.normalize("NFC", v)
    return v.encode("utf-8")


def _bytes(kind, v):
    if not isinstance(v, (bytes, bytearray, memoryview)):
        raise TypeError(f"bytes needs bytes, got {v!r}")
    return bytes(v)


_ENCODERS = {"int": _int, "decimal": _decimal, "float": _float, "date": _date, "time": _time,
             "timestamp": _timestamp, "timestamptz": _timestamp, "uuid": _uuid, "text": _text, "char": _text,
             "bytes": _bytes}


def display(value):
    """A JSON-serializable rendering of a fetched value, for the report (not used for comparison)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)
