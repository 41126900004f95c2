"""bench/pipeline_avro.py: Connect-JSON -> Apicurio AvroConverter records, checked through fastavro (no registry, no
Java: a fake registrar hands out ids). That the Java AvroConverter 2.6.13 decodes these bytes into exactly what
JsonConverter makes of the JSON was checked by hand against the real classes (see the module docstring)."""
import base64
import datetime as dt
import decimal
import io
import json
import struct

import fastavro
import pytest

from bench import pipeline_avro as pa
from bench import pipeline_events as ev
from tests.support.cdcgen import TABLES, Generator

NOW_MS = 1_778_000_000_123


class FakeRegistrar:
    """Hands out globalIds like the registry: the same (artifact, content) keeps its id."""

    def __init__(self, first_id=41):
        self.ids, self.calls, self.next = {}, [], first_id

    def __call__(self, artifact_id, schema_text):
        self.calls.append(artifact_id)
        json.loads(schema_text)
        if (artifact_id, schema_text) not in self.ids:
            self.ids[(artifact_id, schema_text)] = self.next
            self.next += 1
        return self.ids[(artifact_id, schema_text)]


def records(count=600, shard=0, seed=11):
    """(table, op, topic, key, value) of a cdcgen shard as the bench spools it: all five tables, c/u/d, tombstones."""
    work = ev.workload_for(shard, seed)
    out = []
    while sum(1 for r in out if r[4] is not None) < count:
        for r in work.step():
            table = r.topic.rsplit(".", 1)[1]
            op = b"t" if r.value is None else ev.op_of(r.value)
            out.append((table, op, r.topic, r.key, r.value))
    return out


def expected(schema, value):
    """What fastavro reads back for a JSON value: bytes decoded from base64, Decimal as decimal.Decimal."""
    if value is None:
        return None
    t = schema["type"]
    if t == "bytes":
        raw = base64.b64decode(value)
        if schema.get("name") == pa.DECIMAL:
            scale = int(schema["parameters"]["scale"])
            return decimal.Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)
        return raw
    if t == "float":
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if t == "struct":
        return {f["field"]: expected(f, value[f["field"]]) for f in schema["fields"]}
    return value


def decode(avro_text, data, registrar_id):
    assert data[:1] == b"\x00" and struct.unpack(">q", data[1:9])[0] == registrar_id
    return fastavro.schemaless_reader(io.BytesIO(data[9:]), fastavro.parse_schema(json.loads(avro_text)))


def test_every_table_round_trips_through_fastavro():
    registrar = FakeRegistrar()
    tr = pa.AvroTranscoder(registrar)
    seen = set()
    for table, op, topic, key, value in records():
        doc = json.loads(key)
        k = tr.key(topic, key)
        c = tr.schema_of(topic, True)
        assert decode(c.avro_text, k, c.global_id) == expected(doc["schema"], doc["payload"])
        v = tr.value(topic, value)
        if value is None:
            assert v is None
            seen.add((table, "t"))
            continue
        doc = json.loads(value)
        c = tr.schema_of(topic, False)
        got = decode(c.avro_text, v, c.global_id)
        assert got == expected(doc["schema"], doc["payload"])
        assert got["op"] == op.decode() and got["source"]["table"] == table
        seen.add((table, op.decode()))
    for table in TABLES:
        assert {(table, "c"), (table, "u")} <= seen, table
    assert {(t, op) for t, op in seen if op in "dt"} >= {("all_types", "d"), ("all_types", "t"), ("orders", "d")}
    # one registration per subject, TopicIdStrategy names, distinct ids
    assert sorted(set(registrar.calls)) == sorted(f"sluice.sluice_demo.dbo.{t}-{kind}"
                                                  for t in TABLES for kind in ("key", "value"))
    assert len(registrar.calls) == 10 and len(set(registrar.ids.values())) == 10


def test_all_types_values_in_avro():
    tr = pa.AvroTranscoder(FakeRegistrar())
    rows = [r for r in records(1500) if r[0] == "all_types" and r[1] == b"c"]
    assert len(rows) > 20
    nulls = set()
    for _, _, topic, key, value in rows:
        data = tr.value(topic, value)
        c = tr.schema_of(topic, False)
        got = decode(c.avro_text, data, c.global_id)["after"]
        after = json.loads(value)["payload"]["after"]
        nulls |= {name for name, v in after.items() if v is None}
        assert isinstance(got["c_tinyint"], (int, type(None))) and isinstance(got["c_varbinary"], (bytes, type(None)))
        if got["c_money"] is not None:
            assert got["c_money"].as_tuple().exponent == -4
        if got["c_real"] is not None:
            assert got["c_real"] == struct.unpack("<f", struct.pack("<f", after["c_real"]))[0]
        assert got["c_nchar"] == after["c_nchar"] and got["c_datetime2"] == after["c_datetime2"]
    assert len(nulls) > 5   # NULLs of many column types went through the ["null", T] unions


def field_types(avro, record_name):
    """{field: type} of the record named ``record_name`` anywhere in an Avro schema (JSON form)."""
    found = {}

    def walk(node):
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            if node.get("type") == "record" and f"{node['namespace']}.{node['name']}" == record_name:
                found.update({f["name"]: f for f in node["fields"]})
            for v in node.values():
                walk(v)
    walk(avro)
    return found


def test_avro_schema_keeps_the_connect_names_the_sink_maps_by():
    tr = pa.AvroTranscoder(FakeRegistrar())
    _, _, topic, key, value = next(r for r in records(300) if r[0] == "all_types" and r[4] is not None)
    tr.value(topic, value)
    avro = json.loads(tr.schema_of(topic, False).avro_text)
    assert avro["type"] == "record" and avro["namespace"] == topic and avro["name"] == "Envelope"
    assert avro["connect.name"] == topic + ".Envelope" and avro["connect.version"] == 2
    top = {f["name"]: f for f in avro["fields"]}
    assert top["before"]["type"][0] == "null" and top["before"]["default"] is None
    assert top["after"]["type"] == ["null", topic + ".Value"]        # the same struct again: a name reference
    assert top["op"] == {"name": "op", "type": {"type": "string"}}   # required: no union, no default
    row = field_types(avro, topic + ".Value")
    assert row["c_money"]["type"][1] == {
        "type": "bytes", "scale": 4, "precision": 19, "connect.version": 1,
        "connect.parameters": {"scale": "4", "connect.decimal.precision": "19"},
        "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"}
    assert row["c_tinyint"]["type"] == ["null", {"type": "int", "connect.type": "int16"}]
    assert row["c_datetimeoffset"]["type"][1]["connect.name"] == "io.debezium.time.ZonedTimestamp"
    assert row["c_time"]["type"][1] == {"type": "long", "connect.version": 1,
                                        "connect.name": "io.debezium.time.NanoTime"}
    assert row["id"]["type"] == {"type": "int"} and "default" not in row["id"]
    source = field_types(avro, "io.debezium.connector.sqlserver.Source")
    # optional with a default: the default's type first, then null; the default on the field and as connect.default
    assert source["snapshot"]["type"][1] == "null" and source["snapshot"]["default"] == "false"
    assert source["snapshot"]["type"][0]["connect.default"] == "false"
    assert source["snapshot"]["type"][0]["connect.parameters"]["allowed"].startswith("true,first,")
    assert field_types(avro, "event.block")["id"]["type"] == {"type": "string"}
    assert json.loads(tr.schema_of(topic, False).avro_text) == pa.avro_schema(json.loads(value)["schema"])


def test_schema_conversion_of_other_connect_types():
    """Types Debezium's SQL Server connector does not emit here, converted as AvroData.fromConnectSchema does."""
    point = {"type": "struct", "fields": [{"type": "int8", "optional": False, "field": "x"}], "optional": False,
             "name": "p.Point"}
    schema = {"type": "struct", "optional": False, "name": "ns.Outer", "version": 3, "doc": "outer", "fields": [
        {"type": "bytes", "optional": True, "name": "io.debezium.data.Bits", "version": 1,
         "parameters": {"length": "3"}, "field": "bits"},
        {"type": "int32", "optional": True, "default": 7, "field": "seven"},
        {"type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
         "field": "ts"},
        {"type": "bytes", "optional": False, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
         "parameters": {"scale": "2"}, "field": "amount"},
        {"type": "array", "items": {"type": "string", "optional": True}, "optional": False, "field": "tags"},
        {"type": "map", "keys": {"type": "string", "optional": False},
         "values": {"type": "bytes", "optional": False}, "optional": True, "field": "blobs"},
        {"type": "map", "keys": {"type": "int32", "optional": False},
         "values": {"type": "string", "optional": False}, "optional": False, "field": "names"},
        {"type": "struct", "fields": [{"type": "boolean", "optional": False, "field": "b"}], "optional": False,
         "field": "anon"},
        dict(point, field="p1"), dict(point, field="p2"),
    ]}
    avro = pa.avro_schema(schema)
    fields = {f["name"]: f for f in avro["fields"]}
    assert avro["connect.doc"] == "outer" and avro["connect.version"] == 3
    assert fields["bits"]["type"] == ["null", {"type": "bytes", "connect.version": 1,
                                               "connect.parameters": {"length": "3"},
                                               "connect.name": "io.debezium.data.Bits"}]
    assert fields["seven"] == {"name": "seven", "type": [{"type": "int", "connect.default": 7}, "null"],
                               "default": 7}
    assert fields["ts"]["type"]["logicalType"] == "timestamp-millis"
    assert fields["amount"]["type"]["precision"] == 64 and fields["amount"]["type"]["scale"] == 2
    assert fields["tags"]["type"] == {"type": "array", "items": ["null", {"type": "string"}]}
    assert fields["blobs"]["type"] == ["null", {"type": "map", "values": {"type": "bytes"}}]
    assert fields["names"]["type"]["items"]["name"] == "MapEntry"
    assert fields["anon"]["type"]["namespace"] == "io.confluent.connect.avro"
    assert fields["anon"]["type"]["name"] == "ConnectDefault"
    assert fields["p1"]["type"]["name"] == "Point" and fields["p2"]["type"] == "p.Point"
    assert fields["p1"]["type"]["fields"][0]["type"] == {"type": "int", "connect.type": "int8"}

    payload = {"bits": base64.b64encode(b"\x05").decode(), "seven": None, "ts": 5, "amount": "AQ==",
               "tags": ["a", None], "blobs": {"k": "AAE="}, "names": [[1, "one"], [2, "two"]], "anon": {"b": True},
               "p1": {"x": -3}, "p2": {"x": 4}}
    data = json.dumps({"schema": schema, "payload": payload}, separators=(",", ":")).encode()
    tr = pa.AvroTranscoder(FakeRegistrar())
    out = tr.value("t", data)
    c = tr.schema_of("t", False)
    got = decode(c.avro_text, out, c.global_id)
    assert got["bits"] == b"\x05" and got["seven"] == 7            # JsonConverter: null -> the field's default
    assert got["amount"] == decimal.Decimal("0.01") and got["blobs"] == {"k": b"\x00\x01"}
    assert got["names"] == [{"key": 1, "value": "one"}, {"key": 2, "value": "two"}]
    assert got["p2"] == {"x": 4} and got["tags"] == ["a", None]


def test_cache_is_by_schema_and_a_new_schema_is_registered():
    registrar = FakeRegistrar()
    tr = pa.AvroTranscoder(registrar)
    key = b'{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],' \
          b'"optional":false,"name":"t.Key"},"payload":{"id":%d}}'
    first = tr.key("t", key % 1)
    assert tr.key("t", key % 2)[:9] == first[:9] and registrar.calls == ["t-key"]
    wider = key.replace(b'"int32"', b'"int64"')
    assert tr.key("t", wider % 3)[:9] != first[:9] and registrar.calls == ["t-key", "t-key"]
    assert tr.key("t", key % 4)[:9] == first[:9] and len(registrar.calls) == 2   # both schemas stay cached
    assert tr.key("u", key % 4)[:9] != first[:9] and registrar.calls[-1] == "u-key"
    # id 2**32 + 1 would not fit Confluent's 4-byte id: Apicurio writes 8 bytes, big-endian
    big = pa.AvroTranscoder(lambda artifact, text: 2 ** 32 + 1)
    assert big.key("t", key % 1)[:9] == b"\x00\x00\x00\x00\x01\x00\x00\x00\x01"
    # not in cdcgen's layout (payload before schema): still transcoded, without the prefix fast path
    doc = json.loads(key % 5)
    swapped = json.dumps({"payload": doc["payload"], "schema": doc["schema"]}).encode()
    assert tr.key("t", swapped)[9:] == tr.key("t", key % 5)[9:]
    with pytest.raises(ValueError):
        tr.key("t", b'{"schema":{"type":"int32","optional":true},"payload":null}')
    assert tr.value("t", b'{"schema":{"type":"int32","optional":true},"payload":null}') is None


def test_register_schema_posts_to_the_v2_api():
    class Response:
        status_code = 200

        def raise_for_status(self):
            pass

        def json(self):
            return {"globalId": 12, "contentId": 16, "id": "sluice.x-value", "version": "1"}

    class Session:
        def post(self, url, **kwargs):
            self.url, self.kwargs = url, kwargs
            return Response()

    session = Session()
    registrar = pa.ApicurioRegistrar(session, "https://registry:8443/")
    assert registrar("sluice.x-value", '{"type":"string"}') == 12          # globalId, not contentId
    assert session.url == "https://registry:8443/apis/registry/v2/groups/default/artifacts"
    assert session.kwargs["params"] == {"ifExists": "RETURN_OR_UPDATE"}
    assert session.kwargs["headers"]["X-Registry-ArtifactId"] == "sluice.x-value"
    assert session.kwargs["headers"]["X-Registry-ArtifactType"] == "AVRO"
    assert session.kwargs["data"] == b'{"type":"string"}'


def test_register_schema_asks_again_after_a_concurrent_creation(monkeypatch):
    monkeypatch.setattr(pa.time, "sleep", lambda s: None)

    class Response:
        def __init__(self, status):
            self.status_code = status

        def raise_for_status(self):
            if self.status_code >= 400:
                raise RuntimeError(self.status_code)

        def json(self):
            return {"globalId": 3}

    class Session:
        def __init__(self, statuses):
            self.statuses = list(statuses)

        def post(self, url, **kwargs):
            return Response(self.statuses.pop(0))

    assert pa.register_schema(Session([409, 200]), "https://r", "a-value", "{}") == 3
    with pytest.raises(RuntimeError):
        pa.register_schema(Session([409, 409, 409]), "https://r", "a-value", "{}")


def epoch_ms(year, *rest):
    return int(dt.datetime(year, *rest, tzinfo=dt.timezone.utc).timestamp() * 1000)


def test_stamp_avro_sets_every_time_field():
    tr = pa.AvroTranscoder(FakeRegistrar())
    done = set()
    for table, op, topic, key, value in records(300):
        if value is None or table in done:
            continue
        done.add(table)
        avro = tr.value(topic, value)
        assert avro.count(pa.SENTINEL_AVRO_MS) == avro.count(pa.SENTINEL_AVRO_US) == 2
        assert avro.count(pa.SENTINEL_AVRO_NS) == 2
        stamped = pa.stamp_avro(avro, NOW_MS)
        assert len(stamped) == len(avro)
        assert stamped == tr.value(topic, ev.stamp(value, NOW_MS))   # = transcoding the stamped JSON
        c = tr.schema_of(topic, False)
        got = decode(c.avro_text, stamped, c.global_id)
        assert got["source"]["ts_ms"] == got["ts_ms"] == NOW_MS
        assert got["source"]["ts_us"] == got["ts_us"] == NOW_MS * 1000
        assert got["source"]["ts_ns"] == got["ts_ns"] == NOW_MS * 1_000_000
        later = pa.stamp_avro(avro, epoch_ms(2050, 1, 1))   # ms varints a byte longer: still a valid record
        assert len(later) == len(avro) + 2                     # source.ts_ms and ts_ms
        assert decode(c.avro_text, later, c.global_id)["ts_ms"] == epoch_ms(2050, 1, 1)
    assert done == set(TABLES)


def test_stamp_varint_lengths_and_no_collisions():
    assert [len(pa.SENTINEL_AVRO_MS), len(pa.SENTINEL_AVRO_US), len(pa.SENTINEL_AVRO_NS)] == [6, 8, 9]
    start, end = epoch_ms(2020, 1, 1), epoch_ms(2100, 1, 1)
    # us and ns keep their length over 2020..2100; ms keeps it until 2**41 ms (2039-09-07T15:47:35.551Z)
    for ms in (start, pa.MS_SAME_LENGTH_UNTIL, pa.MS_SAME_LENGTH_UNTIL + 1, end):
        assert len(pa.zigzag_varint(ms * 1000)) == len(pa.SENTINEL_AVRO_US)
        assert len(pa.zigzag_varint(ms * 1_000_000)) == len(pa.SENTINEL_AVRO_NS)
    assert len(pa.zigzag_varint(start)) == len(pa.zigzag_varint(pa.MS_SAME_LENGTH_UNTIL)) == 6
    assert len(pa.zigzag_varint(pa.MS_SAME_LENGTH_UNTIL + 1)) == len(pa.zigzag_varint(end)) == 7
    assert dt.datetime.fromtimestamp(pa.MS_SAME_LENGTH_UNTIL / 1000, dt.timezone.utc).year == 2039
    # the three sentinels are no part of one another, and the replacements are whole varints
    for a, b in [(pa.SENTINEL_AVRO_MS, pa.SENTINEL_AVRO_US), (pa.SENTINEL_AVRO_MS, pa.SENTINEL_AVRO_NS),
                 (pa.SENTINEL_AVRO_US, pa.SENTINEL_AVRO_NS)]:
        assert a not in b
    for n in (0, 1, -1, 63, -64, 64, 2 ** 63 - 1, -(2 ** 63), SENTINEL := ev.SENTINEL_MS):
        assert fastavro.schemaless_reader(io.BytesIO(pa.zigzag_varint(n)), "long") == n
    assert pa.zigzag_varint(SENTINEL)[-1] < 0x80 and all(b >= 0x80 for b in pa.zigzag_varint(SENTINEL)[:-1])


def test_decode_reads_back_a_key():
    gen = Generator()
    record = gen.insert("customers", {"id": 42, "email": "a@example.com", "full_name": "A",
                                      "created_at": None, "is_active": True})[0]
    transcoder = pa.AvroTranscoder(lambda artifact, text: 7)
    key = transcoder.key(record.topic, record.key)
    assert pa.decode(transcoder.schema_of(record.topic, True), key) == {"id": 42}
