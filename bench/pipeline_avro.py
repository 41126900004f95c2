"""Avro records for bench/pipeline.py: cdcgen's Connect-JSON records transcoded for Apicurio Registry 2.6's
``io.apicurio.registry.utils.converter.AvroConverter`` (default settings apart from ``apicurio.registry.url``).

The bytes produced here decode, through that converter, into the same Connect schema and value as the original
JSON through ``org.apache.kafka.connect.json.JsonConverter`` (``schemas.enable=true``): the Debezium logical names
(``io.debezium.time.MicroTimestamp``, ``org.apache.kafka.connect.data.Decimal`` and its ``scale``, ...) by which the
JDBC sink chooses column types survive. Read from the 2.6.13.Final sources:

- schema: :func:`avro_schema` follows ``io.apicurio.registry.utils.converter.avro.AvroData.fromConnectSchema``
  (``connect.name``/``connect.version``/``connect.parameters``/``connect.default``/``connect.doc`` properties,
  ``connect.type`` for int8/int16, an optional schema as a union with null first, or null second when it has a
  default; structs as records named by splitting the Connect name at its last dot; a struct met again is written as
  a reference to its name; Decimal as ``bytes`` with ``logicalType: decimal``, ``scale`` and ``precision``, 64 when
  ``connect.decimal.precision`` is absent). ``AvroData.toConnectSchema`` of it gives back the JSON schema.
- values: bytes and Decimal are base64 in JSON and raw bytes (the unscaled two's complement) in Avro; every other
  Debezium value (int16, int32, int64, float, double, boolean, string, structs, null) is written as it is.
- wire format: no Apicurio headers, so ``AbstractKafkaDeserializer.deserialize(topic, headers, data)`` sees
  ``data[0] == MAGIC_BYTE`` (0) and reads the id with ``DefaultIdHandler``: an 8-byte big-endian long, looked up as
  a *globalId* (``apicurio.registry.use-id`` defaults to ``globalId``; ``SerdeConfig.USE_ID_DEFAULT``), then the
  Avro binary body (``apicurio.registry.avro.encoding`` defaults to BINARY). ``apicurio.registry.headers.enabled``
  defaults to true, which only changes what the converter *writes* (id in headers, no magic byte); reading accepts
  both.
- ids: the deserializer fetches ``GET /apis/registry/v2/ids/globalIds/{id}``; the artifact id does not matter to it,
  but :class:`ApicurioRegistrar` uses ``<topic>-key`` / ``<topic>-value`` (TopicIdStrategy, what the converter's
  serializer would register).

Per record the work is one ``json.loads`` of the payload (the schema text is recognised by prefix and parsed once
per topic), a precompiled per-schema conversion (only bytes/Decimal fields are touched, optional structs get
fastavro's ``(name, value)`` union notation so no branch is validated) and one fastavro ``schemaless_writer``.

:func:`stamp_avro` is :func:`bench.pipeline_events.stamp` for these records: the send time written over the
sentinel clock's zigzag varints.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import time

import fastavro

from bench.pipeline_events import SENTINEL_MS

MAGIC_BYTE = b"\x00"
ID = struct.Struct(">q")     # DefaultIdHandler: ByteBuffer.putLong, big-endian
REGISTRY_API = "/apis/registry/v2"
DEFAULT_NAMESPACE = "io.confluent.connect.avro"   # AvroData.NAMESPACE / DEFAULT_SCHEMA_NAME for unnamed structs
DEFAULT_NAME = "ConnectDefault"
DECIMAL = "org.apache.kafka.connect.data.Decimal"
DECIMAL_PRECISION = "connect.decimal.precision"
DECIMAL_PRECISION_DEFAULT = 64
# Connect's own logical types that AvroData also maps to Avro logical types (Debezium's io.debezium.time.* are not).
CONNECT_LOGICAL = {"org.apache.kafka.connect.data.Time": "time-millis",
                   "org.apache.kafka.connect.data.Timestamp": "timestamp-millis",
                   "org.apache.kafka.connect.data.Date": "date"}
PRIMITIVES = {"int8": "int", "int16": "int", "int32": "int", "int64": "long", "float": "float", "double": "double",
              "boolean": "boolean", "string": "string", "bytes": "bytes"}
UNION_NAME = "io.confluent.connect.avro.Union"
UNION_PARAMETER = "org.apache.kafka.connect.data.Union"     # ConnectUnion.LOGICAL_PARAMETER
FIELD_DEFAULT_FLAG = "io.confluent.connect.avro.field.default"


# --------------------------------------------------------------------------------------------------------------
# Connect schema (JsonConverter's JSON form) -> Avro schema, as AvroData.fromConnectSchema builds it
# --------------------------------------------------------------------------------------------------------------
def _key(schema: dict) -> str:
    """Equality of Connect schemas (ConnectSchema.equals) for JSON schemas: all but the field name they sit under."""
    return json.dumps({k: v for k, v in schema.items() if k != "field"}, sort_keys=True, separators=(",", ":"))


def _split_name(full: str) -> tuple[str | None, str]:
    at = full.rfind(".")
    return (full[:at], full[at + 1:]) if at >= 0 else (None, full)


def _default_json(schema: dict, value):
    """AvroData.defaultValueFromConnect, from the JSON form of a default: bytes as ISO-8859-1 text."""
    if value is None:
        return None
    t = schema["type"]
    if t == "bytes":
        return base64.b64decode(value).decode("latin-1")
    if t == "float" or t == "double":
        return float(value)
    if t == "array":
        return [_default_json(schema["items"], v) for v in value]
    if t == "map":
        if schema["keys"]["type"] == "string" and not schema["keys"].get("optional", False):
            return {k: _default_json(schema["values"], v) for k, v in value.items()}
        return [[_default_json(schema["keys"], k), _default_json(schema["values"], v)] for k, v in value]
    if t == "struct":
        return {f["field"]: _default_json(f, value.get(f["field"])) for f in schema["fields"]}
    return value


class _Context:
    """FromConnectContext: non-optional schemas already converted (by equality), records by Connect name, and the
    counter for unnamed structs."""

    def __init__(self):
        self.done: dict[str, object] = {}
        self.records: set[str] = set()
        self.name_index = 0

    def name_of(self, name: str | None) -> tuple[str | None, str]:
        if name is not None:
            return _split_name(name)
        self.name_index += 1
        return DEFAULT_NAMESPACE, DEFAULT_NAME + (str(self.name_index) if self.name_index > 1 else "")


def _optional(schema: dict, base):
    """AvroData.maybeMakeOptional: null first, unless there is a default (which must match the first branch)."""
    if not schema.get("optional", False):
        return base
    return [base, "null"] if schema.get("default") is not None else ["null", base]


def _full_name(record: dict) -> str:
    return record["name"] if record.get("namespace") is None else record["namespace"] + "." + record["name"]


def _with_cycle(schema: dict, ctx: _Context):
    """AvroData.fromConnectSchemaWithCycle for a non-optional schema: a record already defined by that name is
    referenced by name."""
    if schema.get("name") in ctx.records:
        return schema["name"]
    return _from_connect(schema, ctx)


def _from_connect(schema: dict, ctx: _Context):
    t = schema["type"]
    optional = schema.get("optional", False)
    name = schema.get("name")
    params = schema.get("parameters")
    if name == UNION_NAME or (params and UNION_PARAMETER in params):
        raise NotImplementedError("Connect union structs are not produced by Debezium's SQL Server connector")
    if not optional:
        known = ctx.done.get(_key(schema))
        if known is not None:
            return known
    if t == "struct" and optional:
        # A union of null and the record; the record carries the metadata (AvroData: STRUCT, isOptional()).
        inner = _with_cycle(dict(schema, optional=False), ctx)
        return ["null", inner]
    if t in PRIMITIVES:
        base: dict = {"type": PRIMITIVES[t]}
        if t == "bytes" and name is not None and params and "connect.fixed.size" in params:
            namespace, short = ctx.name_of(name)
            base = {"type": "fixed", "name": short, "size": int(params["connect.fixed.size"])}
            if namespace is not None:
                base["namespace"] = namespace
        if t == "bytes" and name is not None and name.lower() == DECIMAL.lower():
            base["scale"] = int(params["scale"])
            base["precision"] = int(params.get(DECIMAL_PRECISION, DECIMAL_PRECISION_DEFAULT))
    elif t == "array":
        base = {"type": "array", "items": _with_cycle_any(schema["items"], ctx)}
    elif t == "map":
        keys, values = schema["keys"], schema["values"]
        if keys["type"] == "string" and not keys.get("optional", False):
            base = {"type": "map", "values": _with_cycle_any(values, ctx)}
        else:
            if name is None:
                entry = {"type": "record", "name": "MapEntry", "namespace": DEFAULT_NAMESPACE}
            else:
                namespace, short = ctx.name_of(name)
                entry = {"type": "record", "name": short, "connect.internal.type": "MapEntry"}
                if namespace is not None:
                    entry["namespace"] = namespace
            entry["fields"] = [_field("key", keys, None, ctx), _field("value", values, None, ctx)]
            base = {"type": "array", "items": entry}
    elif t == "struct":
        namespace, short = ctx.name_of(name)
        base = {"type": "record", "name": short}
        base["namespace"] = namespace if namespace is not None else ""
        doc = params.get("io.confluent.connect.avro.record.doc") if params else None
        if doc is not None:
            base["doc"] = doc
        if name is not None:
            ctx.records.add(name)
        fields = []
        for f in schema["fields"]:
            fdoc = params.get("io.confluent.connect.avro.field.doc." + f["field"]) if params else None
            fields.append(_field(f["field"], f, fdoc, ctx))
        base["fields"] = fields
    else:
        raise ValueError(f"unknown Connect schema type {t!r}")

    # connect.meta.data (default true): the properties toConnectSchema reads back.
    if schema.get("doc") is not None:
        base["connect.doc"] = schema["doc"]
    if schema.get("version") is not None:
        base["connect.version"] = schema["version"]
    if params:
        kept = {k: v for k, v in params.items() if k != FIELD_DEFAULT_FLAG}
        if kept:
            base["connect.parameters"] = kept
    if schema.get("default") is not None and not (params and FIELD_DEFAULT_FLAG in params):
        base["connect.default"] = _default_json(schema, schema["default"])
    if name is not None:
        base["connect.name"] = name
    if t in ("int8", "int16"):
        base["connect.type"] = t
    if name is not None:
        if name.lower() == DECIMAL.lower():
            base["logicalType"] = "decimal"   # also when scale > precision (AvroData's legacy path)
        elif name in CONNECT_LOGICAL:
            base["logicalType"] = CONNECT_LOGICAL[name]
    if params:
        for k, v in params.items():
            if k.startswith("avro"):
                base[k] = v
    result = _optional(schema, base)
    if not optional:
        # The same Connect schema again is the same Avro schema object: a record is then written as its name.
        ctx.done[_key(schema)] = _full_name(base) if base["type"] in ("record", "fixed") else base
    return result


def _with_cycle_any(schema: dict, ctx: _Context):
    """fromConnectSchemaWithCycle for array items and map values (possibly optional)."""
    if schema.get("name") in ctx.records:
        return _optional(schema, schema["name"])
    return _from_connect(schema, ctx)


def _field(name: str, schema: dict, doc: str | None, ctx: _Context) -> dict:
    """AvroData.addAvroRecordField: the field default is the Connect default, else null for an optional field."""
    avro = _from_connect(schema, ctx)
    field = {"name": name, "type": avro}
    if doc is not None:
        field["doc"] = doc
    if schema.get("default") is not None:
        if not (isinstance(avro, list) and avro[0] == "null"):   # an optional struct's union starts with null:
            field["default"] = _default_json(schema, schema["default"])   # Avro rejects, AvroData drops it
    elif schema.get("optional", False):
        field["default"] = None
    return field


def avro_schema(connect_schema: dict):
    """The Avro schema (JSON-able) AvroData.fromConnectSchema makes of a Connect schema in JsonConverter's form."""
    return _from_connect(connect_schema, _Context())


def avro_schema_text(connect_schema: dict) -> str:
    return json.dumps(avro_schema(connect_schema), separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------------------------
# JSON payload -> Avro datum (JsonConverter conventions), compiled once per schema
# --------------------------------------------------------------------------------------------------------------
_b64 = base64.b64decode


def _datum_default(schema: dict):
    """The Avro datum of a Connect default in JSON form (JsonConverter returns the default for a JSON null)."""
    conv = converter(schema)
    default = schema.get("default")
    return conv(default) if conv is not None and default is not None else default


def converter(schema: dict):
    """A function JSON value -> fastavro datum for ``schema`` (structs are converted in place), or None when the
    JSON value is the datum already."""
    t = schema["type"]
    optional = schema.get("optional", False)
    if t == "bytes":
        if optional:
            return lambda v: None if v is None else _b64(v)
        return _b64
    if t == "array":
        items = converter(schema["items"])
        if items is None:
            return None
        if optional:
            return lambda v: None if v is None else [items(x) for x in v]
        return lambda v: [items(x) for x in v]
    if t == "map":
        keys, values = schema["keys"], schema["values"]
        kconv, vconv = converter(keys), converter(values)
        if keys["type"] == "string" and not keys.get("optional", False):
            if vconv is None:
                return None

            def string_map(v):
                return None if v is None else {k: vconv(x) for k, x in v.items()}
            return string_map
        kconv = kconv or (lambda x: x)
        vconv = vconv or (lambda x: x)

        def entries(v):   # JsonConverter: a non-string-keyed map is an array of [key, value] pairs
            return None if v is None else [{"key": kconv(k), "value": vconv(x)} for k, x in v]
        return entries
    if t != "struct":
        return None
    steps = []
    for f in schema["fields"]:
        conv = converter(f)
        default = _datum_default(f) if f.get("default") is not None else None
        if conv is not None or default is not None:
            steps.append((f["field"], conv, default))
    # fastavro's (name, value) union notation writes the record branch without validating the record against it
    # (an unnamed struct's record name depends on its position, ConnectDefault<n>: left to fastavro to match).
    name = schema.get("name")
    if name is None:
        optional = False
    if not steps:
        if optional:
            return lambda v: None if v is None else (name, v)
        return None

    def struct(v):   # in place: the caller's dict is fresh from json.loads
        if v is None:
            return None
        for fname, conv, default in steps:
            x = v[fname]
            if x is None:
                if default is not None:
                    v[fname] = default
            elif conv is not None:
                v[fname] = conv(x)
        return (name, v) if optional else v
    return struct


# --------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------
def register_schema(session, base_url: str, artifact_id: str, schema_text: str, group: str = "default") -> int:
    """Register ``schema_text`` as a version of AVRO artifact ``artifact_id`` (or find the version that already has
    exactly this content) and return its globalId, the id the converter's deserializer looks up.

    Apicurio 2.6: ``POST /apis/registry/v2/groups/{group}/artifacts?ifExists=RETURN_OR_UPDATE`` with
    X-Registry-ArtifactId and X-Registry-ArtifactType; the same content again returns the existing version (of any
    age), other content adds a version. ``session`` carries TLS (verify=CA), auth and timeouts of the caller's
    choosing."""
    for attempt in range(3):
        response = session.post(
            f"{base_url.rstrip('/')}{REGISTRY_API}/groups/{group}/artifacts",
            params={"ifExists": "RETURN_OR_UPDATE"},
            headers={"Content-Type": "application/json", "X-Registry-ArtifactId": artifact_id,
                     "X-Registry-ArtifactType": "AVRO"},
            data=schema_text.encode("utf-8"), timeout=30)
        # 409: another client created the artifact between the registry's check and its insert; asked again,
        # the registry finds it (processes transcoding shards in parallel register the same schemas).
        if response.status_code != 409 or attempt == 2:
            break
        time.sleep(0.2 * (attempt + 1))
    response.raise_for_status()
    return int(response.json()["globalId"])


class ApicurioRegistrar:
    """``registrar(artifact_id, schema_text) -> globalId`` against one registry."""

    def __init__(self, session, base_url: str, group: str = "default"):
        self.session, self.base_url, self.group = session, base_url, group

    def __call__(self, artifact_id: str, schema_text: str) -> int:
        return register_schema(self.session, self.base_url, artifact_id, schema_text, self.group)


# --------------------------------------------------------------------------------------------------------------
# Transcoder
# --------------------------------------------------------------------------------------------------------------
_PAYLOAD = b',"payload":'
_SCHEMA_OPEN = b'{"schema":'
_decoder = json.JSONDecoder()


class _Compiled:
    __slots__ = ("prefix", "connect_schema", "avro_text", "parsed", "convert", "header", "global_id")

    def __init__(self, prefix, connect_schema, avro_text, parsed, convert, header, global_id):
        self.prefix, self.connect_schema, self.avro_text = prefix, connect_schema, avro_text
        self.parsed, self.convert, self.header, self.global_id = parsed, convert, header, global_id


class AvroTranscoder:
    """Connect-JSON records (as cdcgen writes them) -> Apicurio AvroConverter records.

    ``registrar(artifact_id, avro_schema_text) -> globalId`` is called once per distinct schema and subject
    (:class:`ApicurioRegistrar`, or a fake in tests)."""

    def __init__(self, registrar):
        self.registrar = registrar
        self._last: dict[tuple[str, bool], _Compiled] = {}      # (topic, is_key) -> schema seen last
        self._by_schema: dict[tuple[str, bool, bytes], _Compiled] = {}
        self._buffer = io.BytesIO()

    def key(self, topic: str, json_bytes: bytes) -> bytes:
        out = self._encode(topic, True, json_bytes)
        if out is None:
            raise ValueError("a record key with a null payload")
        return out

    def value(self, topic: str, json_bytes: bytes | None) -> bytes | None:
        """The Avro value; None for a tombstone (and for a JSON null payload, which the converter cannot carry)."""
        if json_bytes is None:
            return None
        return self._encode(topic, False, json_bytes)

    def schema_of(self, topic: str, is_key: bool) -> _Compiled:
        """The compiled entry used last for (topic, key/value): its Avro schema text, globalId, ..."""
        return self._last[(topic, is_key)]

    def _encode(self, topic, is_key, data: bytes):
        compiled = self._last.get((topic, is_key))
        if compiled is None or not data.startswith(compiled.prefix):
            compiled = self._compile(topic, is_key, data)
        if compiled.prefix:
            payload = json.loads(data[len(compiled.prefix):-1])
        else:  # not in cdcgen's {"schema":...,"payload":...} layout
            payload = json.loads(data)["payload"]
        if payload is None:
            return None
        if compiled.convert is not None:
            payload = compiled.convert(payload)
        buf = self._buffer
        buf.seek(0)
        buf.truncate()
        buf.write(compiled.header)
        fastavro.schemaless_writer(buf, compiled.parsed, payload)
        return buf.getvalue()

    def _compile(self, topic, is_key, data: bytes) -> _Compiled:
        prefix = b""
        if data.startswith(_SCHEMA_OPEN) and data.endswith(b"}"):
            text = data.decode("utf-8")
            schema, end = _decoder.raw_decode(text, len(_SCHEMA_OPEN))
            head = text[:end].encode("utf-8")
            if data.startswith(head + _PAYLOAD):
                prefix = head + _PAYLOAD
        if prefix:
            cache_key = (topic, is_key, prefix)
        else:
            schema = json.loads(data)["schema"]
            cache_key = (topic, is_key, hashlib.sha256(_key(schema).encode()).digest())
        compiled = self._by_schema.get(cache_key)
        if compiled is None:
            avro = avro_schema(schema)
            avro_text = json.dumps(avro, separators=(",", ":"), ensure_ascii=False)
            global_id = self.registrar(f"{topic}-{'key' if is_key else 'value'}", avro_text)
            parsed = fastavro.parse_schema(json.loads(avro_text))
            compiled = _Compiled(prefix, schema, avro_text, parsed, converter(schema),
                                 MAGIC_BYTE + ID.pack(global_id), global_id)
            self._by_schema[cache_key] = compiled
        self._last[(topic, is_key)] = compiled
        return compiled


def decode(compiled: _Compiled, data: bytes):
    """The datum of one of this transcoder's records (the bench reads the keys it sends), by its compiled schema."""
    return fastavro.schemaless_reader(io.BytesIO(data[len(compiled.header):]), compiled.parsed, None)


# --------------------------------------------------------------------------------------------------------------
# Send-time stamping
# --------------------------------------------------------------------------------------------------------------
def zigzag_varint(n: int) -> bytes:
    """An Avro long: zigzag, then 7 bits per byte, low group first, high bit = more bytes follow."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


SENTINEL_AVRO_MS = zigzag_varint(SENTINEL_MS)                  # 6 bytes
SENTINEL_AVRO_US = zigzag_varint(SENTINEL_MS * 1000)           # 8 bytes
SENTINEL_AVRO_NS = zigzag_varint(SENTINEL_MS * 1_000_000)      # 9 bytes
# The ms varint keeps its 6 bytes only while 2 * ms < 2**42, i.e. until 2039-09-07T15:47:35.551Z; us (8) and ns (9)
# keep theirs from 2020 to past 2100. A longer varint after that is still a valid record (Avro records carry no
# length; the timestamps are not inside any length-prefixed string/bytes), it just moves the bytes after it.
MS_SAME_LENGTH_UNTIL = (2 ** 42) // 2 - 1

# Why a replace cannot hit anything else in practice: each sentinel is a whole varint (5/7/8 bytes >= 0x80, then
# one < 0x80). Inside another varint it could only be that varint's tail, i.e. a long whose zigzag value shifted
# right by a multiple of 7 bits equals the sentinel's; inside string/bytes data (UTF-8 text, decimals, LSN text)
# it is one fixed 6-9 byte sequence, ~2**-42 per position for random content. None of the three is a substring of
# another (checked below), and the envelope's other longs (ids, event_serial_no, column timestamps) are not the
# sentinel clock (cdcgen's row timestamps come from the workload, not from the clock).
assert SENTINEL_AVRO_MS not in SENTINEL_AVRO_US and SENTINEL_AVRO_MS not in SENTINEL_AVRO_NS
assert SENTINEL_AVRO_US not in SENTINEL_AVRO_NS

_last_stamp: list = [None, None, None, None]


def stamp_avro(value: bytes, now_ms: int) -> bytes:
    """The Avro record with its commit/processing time (source.ts_ms/ts_us/ts_ns, ts_ms/ts_us/ts_ns) set to
    ``now_ms``: the sentinel clock's varints replaced by those of ``now_ms``, longest first."""
    last = _last_stamp
    if last[0] != now_ms:
        last[:] = [now_ms, zigzag_varint(now_ms * 1_000_000), zigzag_varint(now_ms * 1000), zigzag_varint(now_ms)]
    return (value.replace(SENTINEL_AVRO_NS, last[1]).replace(SENTINEL_AVRO_US, last[2])
            .replace(SENTINEL_AVRO_MS, last[3]))
