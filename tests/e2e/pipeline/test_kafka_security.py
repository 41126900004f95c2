"""Kafka accepts only authenticated TLS clients (SASL_SSL with SCRAM-SHA-512, brokers verified against the internal
CA), the controller listener demands client certificates, and the Connect worker's configuration holds no password.
The pipeline's own clients (Connect, the supervisor, the tests) logging in is shown by every other suite."""
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

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
