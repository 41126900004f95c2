"""Kafka accepts only authenticated TLS clients (SASL_SSL with SCRAM-SHA-512, brokers verified against the internal
CA), the controller listener demands client certificates, and the Connect worker's configuration holds no password.
The pipeline's own clients (Connect, the supervisor, the tests) logging in is shown by every other suite."""
import secrets
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialDeletion, UserScramCredentialUpsertion)

from conftest import CA_FILE, docker_exec, kafka_client, secret
from helpers import KAFKA


def topics(conf):
    return set(AdminClient(conf).list_topics(timeout=10).topics)


@pytest.mark.parametrize("conf", [
    {"bootstrap.servers": KAFKA},                                                            # PLAINTEXT
    {"bootstrap.servers": KAFKA, "security.protocol": "SSL", "ssl.ca.location": str(CA_FILE)},  # TLS, no login
    kafka_client(KAFKA, **{"sasl.password": "not-the-password"}),                            # wrong password
    {k: v for k, v in kafka_client(KAFKA).items() if k != "ssl.ca.location"},                # CA not trusted
], ids=["plaintext", "tls-without-sasl", "wrong-password", "untrusted-ca"])
def test_a_client_without_a_valid_login_over_verified_tls_gets_nothing(conf):
    with pytest.raises(KafkaException):
        topics({**conf, "socket.timeout.ms": 5000})


def test_the_admin_login_sees_the_pipeline_topics():
    assert {"sluice-connect-configs", "sluice.dlq"} <= topics(kafka_client(KAFKA))


def test_the_broker_has_no_plaintext_listener_and_the_controller_wants_client_certificates():
    props = dict(line.split("=", 1) for line in docker_exec("sluice-kafka", "cat", "/etc/kafka/server.properties")
                 .stdout.splitlines() if "=" in line and not line.startswith("#"))
    protocols = dict(item.split(":") for item in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_SSL", "SSL"} and protocols["CONTROLLER"] == "SSL", protocols
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    mode = docker_exec("sluice-kafka", "stat", "-c", "%a %U", "/etc/kafka/server.properties").stdout.split()
    assert mode == ["600", "kafka"]


def test_the_connect_worker_logs_in_by_reference_and_holds_no_password():
    text = docker_exec("sluice-connect", "cat", "/etc/kafka-connect/connect-distributed.properties").stdout
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[prefix + "security.protocol"] == "SASL_SSL"
        assert "${dir:/etc/kafka-connect/secrets:kafka_password}" in props[prefix + "sasl.jaas.config"]
    assert secret("kafka_connect_password") not in text


# -- ACLs (StandardAuthorizer): a login is not enough ---------------------------------------------------------------

def kafka_error(fn):
    """The KafkaError code name that ``fn`` ends with (raised, or delivered to a callback)."""
    try:
        fn()
    except KafkaException as e:
        return e.args[0].name()
    return None


def produce_error(conf, topic):
    errors = []
    producer = Producer({**conf, "message.timeout.ms": 10000})
    producer.produce(topic, b"x", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(20)
    return errors[0].name() if errors and errors[0] else None


def group_error(conf, group, topic):
    """The error a consumer in ``group`` subscribed to ``topic`` gets (None if it was assigned partitions)."""
    consumer = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(1)
            if msg is not None and msg.error() and msg.error().code() != KafkaError._PARTITION_EOF:
                return msg.error().name()
            if consumer.assignment():
                return None
        return "TIMED_OUT"
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def stranger():
    """A SCRAM user the admin creates on the running cluster, with no ACL: it logs in, and may do nothing."""
    name, password = "sluice-e2e-stranger", secrets.token_urlsafe(18)
    admin = AdminClient(kafka_client(KAFKA))
    upsert = UserScramCredentialUpsertion(name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
                                          password.encode())
    admin.alter_user_scram_credentials([upsert])[name].result(30)
    conf = kafka_client(KAFKA, **{"sasl.username": name, "sasl.password": password, "socket.timeout.ms": 10000})
    deadline = time.monotonic() + 60   # the credential reaches every broker through the metadata log
    while kafka_error(lambda: topics(conf)) is not None and time.monotonic() < deadline:
        time.sleep(1)
    yield conf
    admin.alter_user_scram_credentials([UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512)])[name].result(30)


def test_a_user_without_acls_logs_in_but_sees_reads_writes_and_creates_nothing(stranger):
    assert kafka_error(lambda: topics(stranger)) is None                 # authenticated
    assert not {t for t in topics(stranger) if not t.startswith("__")}, "topics visible without Describe"
    assert produce_error(stranger, "sluice.dlq") == "TOPIC_AUTHORIZATION_FAILED"
    assert group_error(stranger, "connect-sluice-postgres-sink", "sluice.dlq") in (
        "GROUP_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED")
    client = AdminClient(stranger)   # held: a future dies with its client
    created = client.create_topics([NewTopic("sluice.e2e-stranger", 1, 1)])["sluice.e2e-stranger"]
    assert kafka_error(lambda: created.result(30)) in ("TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED")
    assert "sluice.e2e-stranger" not in topics(kafka_client(KAFKA))


def acls_of(principal):
    flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    client = AdminClient(kafka_client(KAFKA))
    found = client.describe_acls(flt, request_timeout=30).result(40)
    return {(b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name) for b in found}


def test_the_roles_granted_exactly_what_connect_and_the_supervisor_use():
    connect = acls_of("User:connect")
    assert ("GROUP", "sluice-connect", "LITERAL", "READ") in connect
    assert ("TOPIC", "sluice-connect-", "PREFIXED", "CREATE") in connect
    assert ("GROUP", "connect-", "PREFIXED", "READ") in connect
    assert not {a for a in connect if a[0] == "BROKER"}, "no cluster-wide operation for the workers"
    assert acls_of("User:supervisor") == {
        ("TOPIC", "sluice.", "PREFIXED", "READ"), ("TOPIC", "sluice.", "PREFIXED", "WRITE"),
        ("TOPIC", "sluice.", "PREFIXED", "DESCRIBE"), ("TOPIC", "sluice.dlq", "LITERAL", "READ"),
        ("TOPIC", "sluice.dlq", "LITERAL", "WRITE"), ("TOPIC", "sluice.dlq", "LITERAL", "DESCRIBE"),
        ("GROUP", "sluice-supervisor-sluice-connect", "LITERAL", "READ"), ("GROUP", "sluice-reader", "LITERAL", "READ")}


def test_the_workers_login_cannot_take_the_supervisors_group_or_read_acls():
    connect = kafka_client(KAFKA, **{"sasl.username": "connect", "sasl.password": secret("kafka_connect_password")})
    assert group_error(connect, "sluice-supervisor-sluice-connect", "sluice.supervisor") == "GROUP_AUTHORIZATION_FAILED"
    flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    client = AdminClient(connect)
    listing = client.describe_acls(flt, request_timeout=30)
    # Kafka 4.3 answers a user without Describe on the cluster with no ACL at all (older brokers refuse the request).
    try:
        assert listing.result(40) == []
    except KafkaException as e:
        assert e.args[0].name() == "CLUSTER_AUTHORIZATION_FAILED"
    assert acls_of("User:connect"), "the admin does see the workers' ACLs"
