"""serialization avro end to end: Apicurio Registry (role schema_registry, on the Connect host of the default scenario),
its Avro converter in the real worker, the JDBC sink, PostgreSQL compared row by row.

The scenario's own connectors use JSON. This module runs a second sink beside them whose converters are exactly the
connectors role's for ``connectors_serialization: avro``, reading Avro topics of its own (prefix ``sluice.avro``)
into the same five tables; the events are cdcgen's, transcoded to Avro and registered in
the real registry (bench/pipeline_avro.py, which the bench uses too). It runs before the other modules of the suite
and leaves the tables empty, as it found them.
"""
import functools

import pytest
import requests
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import CA_FILE, connect_api, docker_exec, kafka_client
from helpers import CONNECT, KAFKA, SINK, all_running, connect_status, pg, rows, wait_for, wait_until_replicated  # noqa: F401
from bench.pipeline import AVRO_PREFIX, REGISTRY, REGISTRY_IN_NETWORK, avro_converters, avro_sink_config
from bench.pipeline_avro import REGISTRY_API, ApicurioRegistrar, AvroTranscoder
from tests.support.cdcgen import Generator, KafkaSink, Record, workload

AVRO_SINK = "sluice-avro-e2e-sink"
API = REGISTRY + REGISTRY_API
TABLES = ("customers", "orders", "line_items", "inventory_levels", "all_types")


@functools.lru_cache(maxsize=None)
def registry():
    session = requests.Session()
    session.verify = str(CA_FILE)
    session.trust_env = False
    return session


class CountingRegistrar(ApicurioRegistrar):
    """The real registration, remembering the globalId of each subject."""

    def __init__(self):
        super().__init__(registry(), REGISTRY)
        self.ids = {}

    def __call__(self, artifact_id, schema_text):
        self.ids[artifact_id] = super().__call__(artifact_id, schema_text)
        return self.ids[artifact_id]


class AvroSink(KafkaSink):
    """cdcgen's producer, sending each record as Apicurio's converter writes it."""

    def __init__(self, transcoder):
        super().__init__(KAFKA, config=kafka_client(KAFKA))
        self.transcoder = transcoder

    def send(self, record):
        t = self.transcoder
        super().send(Record(record.topic, t.key(record.topic, record.key), t.value(record.topic, record.value)))


@pytest.fixture(scope="module")
def avro_sink(pg):  # noqa: F811
    for name in TABLES:
        rows(pg, f"TRUNCATE cdc.{name}")
    gen = Generator(prefix=AVRO_PREFIX)
    topics = {name: gen.encoder.topic(name) for name in TABLES}
    admin = AdminClient(kafka_client(KAFKA))
    new = [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics.values()]
    for future in admin.create_topics(new).values():
        future.result()
    base = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()
    put = connect_api().put(f"{CONNECT}/connectors/{AVRO_SINK}/config", json=avro_sink_config(base, topics),
                            timeout=30)
    assert put.status_code in (200, 201), put.text
    wait_for(lambda: all_running(connect_status(AVRO_SINK)), timeout=120, what="the Avro sink's tasks RUNNING")
    registrar = CountingRegistrar()
    try:
        yield gen, AvroSink(AvroTranscoder(registrar)), registrar
    finally:
        connect_api().delete(f"{CONNECT}/connectors/{AVRO_SINK}", timeout=30)
        for future in admin.delete_topics(list(topics.values())).values():
            future.result()
        for name in TABLES:
            rows(pg, f"TRUNCATE cdc.{name}")


def test_role_converters_name_the_registry_and_its_trust_store():
    config = avro_converters()
    for side in ("key", "value"):
        assert config[f"{side}.converter"] == "io.apicurio.registry.utils.converter.AvroConverter"
        assert config[f"{side}.converter.apicurio.registry.url"] == REGISTRY_IN_NETWORK
        # the password by reference to the workers' secret file, never its value
        assert config[f"{side}.converter.apicurio.registry.request.ssl.truststore.password"] == \
            "${dir:/etc/kafka-connect/secrets:rest_keystore_password}"


def test_registry_serves_https_only():
    info = registry().get(f"{API}/system/info", timeout=10).json()
    assert info["name"] == "apicurio-registry" and info["version"] == "2.6.13.Final"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://127.0.0.1:18181/apis/registry/v2/system/info", timeout=5)


def test_avro_events_arrive_value_exact(pg, avro_sink):  # noqa: F811
    gen, sink, registrar = avro_sink
    workload(3_000, seed=11, generator=gen, sink=sink, progress=None)
    sink.flush(60)
    wait_until_replicated(pg, gen, TABLES, timeout=300)
    counts = {name: rows(pg, f"SELECT count(*) FROM cdc.{name}")[0][0] for name in TABLES}
    assert counts == gen.row_counts()
    # One key and one value schema per topic registered, none per record.
    assert sorted(registrar.ids) == sorted(f"{gen.encoder.topic(t)}-{part}" for t in TABLES for part in ("key", "value"))
    converter = avro_converters()["value.converter"]
    assert connect_api().get(f"{CONNECT}/connectors/{AVRO_SINK}/config", timeout=10).json()["value.converter"] == converter


def test_schema_ids_survive_a_registry_restart(pg, avro_sink):  # noqa: F811
    """The registry keeps its schemas in a file: after a restart the same ids resolve, and restarted sink tasks
    (whose converters forgot every schema they had cached) read both the earlier and new records."""
    gen, sink, registrar = avro_sink
    ids = sorted(registrar.ids.values())
    before = {i: registry().get(f"{API}/ids/globalIds/{i}", timeout=10).text for i in ids}
    assert docker_exec("sluice-connect", "systemctl", "restart", "apicurio-registry").returncode == 0
    wait_for(lambda: _answers(f"{API}/system/info"), timeout=120, what="the registry to answer again")
    assert {i: registry().get(f"{API}/ids/globalIds/{i}", timeout=10).text for i in ids} == before
    restart = connect_api().post(f"{CONNECT}/connectors/{AVRO_SINK}/restart?includeTasks=true", timeout=30)
    assert restart.status_code in (200, 202, 204), restart.text
    wait_for(lambda: all_running(connect_status(AVRO_SINK)), timeout=120, what="the Avro sink's tasks RUNNING")
    workload(1_000, seed=12, generator=gen, sink=sink, progress=None)
    sink.flush(60)
    wait_until_replicated(pg, gen, TABLES, timeout=300)


def _answers(url):
    try:
        return registry().get(url, timeout=5).status_code == 200
    except requests.exceptions.ConnectionError:
        return False
