"""The kafka role's rendered files and pins, checked without a host: templates rendered with Ansible's own filters."""
import pathlib

import pytest
import yaml

from tests.support.templating import role_env, role_vars

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "kafka"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def pins():
    lines = (ROOT / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def render(template, **overrides):
    env = role_env(ROLE / "templates")
    values = dict(ansible_managed="managed by Ansible", inventory_hostname="b1", sluice_kafka_admin_password="s3cret",
                  kafka_libs_dir="/opt/kafka/releases/2.13-4.3.0/libs", kafka_replication_factor=3, kafka_min_isr=2,
                  kafka_jmx_exporter_jar="/var/cache/sluice/agent.jar", **overrides)
    if "kafka_node" in overrides:  # the facts tasks/validate.yml sets
        nodes = values.get("kafka_controllers", []) + [values["kafka_node"]]
        values.setdefault("kafka_cluster_nodes", [n for i, n in enumerate(nodes) if n not in nodes[:i]])
    return env.get_template(template).render(role_vars(ROLE, strict=False, **values))


def props(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


NODES = [
    {"host": "c1", "id": 1, "roles": ["controller"], "address": "c1.example"},
    {"host": "c2", "id": 2, "roles": ["controller"], "address": "c2.example"},
    {"host": "c3", "id": 3, "roles": ["controller"], "address": "c3.example"},
    {"host": "b1", "id": 11, "roles": ["broker"], "address": "b1.example"},
]


def test_role_defaults_match_the_artifact_pins():
    assert DEFAULTS["kafka_version"] == pins()["KAFKA_VERSION"]
    assert DEFAULTS["kafka_scala_version"] == pins()["KAFKA_SCALA_VERSION"]
    assert DEFAULTS["kafka_jmx_exporter_file"] == f"jmx_prometheus_javaagent-{pins()['JMX_EXPORTER_VERSION']}.jar"


def test_combined_node_runs_both_roles_with_static_voters():
    nodes = [{"host": f"k{i}", "id": i, "roles": ["broker", "controller"], "address": f"k{i}"} for i in (1, 2, 3)]
    p = props(render("server.properties.j2", kafka_node=nodes[0], kafka_controllers=nodes))
    assert p["process.roles"] == "broker,controller"
    assert p["controller.quorum.voters"] == "1@k1:9093,2@k2:9093,3@k3:9093"
    assert p["listeners"] == "INTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    assert p["advertised.listeners"] == "INTERNAL://k1:9092"
    assert p["listener.security.protocol.map"] == "INTERNAL:SASL_SSL,CONTROLLER:SSL"
    assert p["default.replication.factor"] == "3" and p["auto.create.topics.enable"] == "false"


def test_controller_only_node_binds_only_the_controller_listener():
    p = props(render("server.properties.j2", kafka_node=NODES[0], kafka_controllers=NODES[:3]))
    assert p["process.roles"] == "controller"
    assert p["listeners"] == "CONTROLLER://0.0.0.0:9093"
    assert "advertised.listeners" not in p and "inter.broker.listener.name" not in p
    assert "default.replication.factor" not in p
    assert p["controller.quorum.voters"] == "1@c1.example:9093,2@c2.example:9093,3@c3.example:9093"


def test_broker_only_node_advertises_its_listeners_and_knows_the_voters():
    listeners = [{"name": "INTERNAL", "port": 9092, "protocol": "PLAINTEXT"},
                 {"name": "EXTERNAL", "port": 19092, "advertised_host": "kafka.example.com",
                  "advertised_port": 443}]
    p = props(render("server.properties.j2", kafka_node=NODES[3], kafka_controllers=NODES[:3],
                     kafka_listeners=listeners, kafka_inter_broker_listener="INTERNAL",
                     kafka_server_properties={"ssl.client.auth": "required", "delete.topic.enable": True}))
    assert p["process.roles"] == "broker" and p["node.id"] == "11"
    assert p["listeners"] == "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:19092"
    assert p["advertised.listeners"] == "INTERNAL://b1.example:9092,EXTERNAL://kafka.example.com:443"
    assert p["listener.security.protocol.map"] == "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL,CONTROLLER:SSL"
    # Brokers log in to each other over PLAINTEXT here: no inter-broker SASL, but the SASL listener has its login.
    assert "sasl.mechanism.inter.broker.protocol" not in p and "listener.name.external.scram-sha-512.sasl.jaas.config" in p
    assert p["inter.broker.listener.name"] == "INTERNAL"
    assert p["ssl.client.auth"] == "required" and p["delete.topic.enable"] == "true"


COMBINED = [{"host": "k1", "id": 1, "roles": ["broker", "controller"], "address": "k1"}]


def test_by_default_every_listener_is_tls_with_scram_and_the_controller_is_mutual_tls():
    p = props(render("server.properties.j2", kafka_node=COMBINED[0], kafka_controllers=COMBINED))
    assert "PLAINTEXT" not in p["listener.security.protocol.map"]
    assert p["ssl.keystore.type"] == "PEM" and p["ssl.keystore.location"] == "/etc/kafka/tls/kafka.pem"
    assert p["ssl.truststore.location"] == "/etc/kafka/tls/ca.crt"
    assert p["ssl.endpoint.identification.algorithm"] == "https"
    assert p["listener.name.controller.ssl.client.auth"] == "required"
    assert p["sasl.enabled.mechanisms"] == p["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    jaas = p["listener.name.internal.scram-sha-512.sasl.jaas.config"]
    assert jaas.startswith("org.apache.kafka.common.security.scram.ScramLoginModule required")
    assert 'username="admin"' in jaas and 'password="s3cret";' in jaas


def test_plaintext_everywhere_writes_no_tls_or_sasl_settings():
    p = props(render("server.properties.j2", kafka_node=COMBINED[0], kafka_controllers=COMBINED,
                     kafka_listener_protocol="PLAINTEXT", kafka_controller_protocol="PLAINTEXT",
                     kafka_authorizer_enabled=False))
    assert p["listener.security.protocol.map"] == "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not [k for k in p if k.startswith(("ssl.", "sasl.", "listener.name."))]


def test_admin_client_settings_log_in_as_admin_over_tls():
    p = props(render("admin-client.properties.j2", kafka_node=COMBINED[0], kafka_controllers=COMBINED))
    assert p["security.protocol"] == "SASL_SSL" and p["sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'username="admin" password="s3cret"' in p["sasl.jaas.config"]
    assert p["ssl.truststore.type"] == "PEM" and p["ssl.truststore.location"] == "/etc/kafka/tls/ca.crt"


def test_format_creates_every_scram_user_and_refuses_what_it_would_misparse():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.sluice.cdc.plugins.filter.kafka import kafka_scram_arguments
    users = [{"name": "admin", "password": "a1"}, {"name": "connect", "password": "c2"}]
    assert kafka_scram_arguments(users, "SCRAM-SHA-512") == [
        "--add-scram", "SCRAM-SHA-512=[name=admin,password=a1]",
        "--add-scram", "SCRAM-SHA-512=[name=connect,password=c2]"]
    for bad in ({"name": "x", "password": "a,b"}, {"name": "x]", "password": "p"}, {"name": "x", "password": ""}):
        with pytest.raises(AnsibleFilterError) as err:
            kafka_scram_arguments([bad], "SCRAM-SHA-512")
        assert "a,b" not in str(err.value)


def test_format_task_hides_its_arguments_and_config_files_are_not_world_readable():
    storage = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "storage.yml").read_text())}
    assert storage["Format the storage"]["no_log"] is True
    assert "kafka_scram_arguments" in storage["Format the storage"]["ansible.builtin.command"]["argv"]
    configure = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())}
    for name in ("Write server.properties", "Write the admin client settings of the role's own commands"):
        assert configure[name]["ansible.builtin.template"]["mode"] == "0600"
        assert configure[name]["ansible.builtin.template"]["owner"] == "{{ kafka_user }}"


@pytest.mark.parametrize("jmx", [True, False])
def test_unit_is_hardened_and_runs_only_libs(jmx):
    unit = render("kafka.service.j2", kafka_node=NODES[3], kafka_jmx_exporter_enabled=jmx)
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "LimitNOFILE=100000",
                 "ReadWritePaths=/var/lib/kafka/data /var/log/kafka"):
        assert line in unit.splitlines()
    assert "-cp /opt/kafka/releases/2.13-4.3.0/libs/* kafka.Kafka /etc/kafka/server.properties" in unit
    assert ("-javaagent:/var/cache/sluice/agent.jar=9404:/etc/kafka/jmx-exporter.yml" in unit) is jmx
    assert "-Xms1g -Xmx1g" in unit


def test_jmx_rules_and_log_config_are_valid_yaml():
    rules = yaml.safe_load(render("jmx-exporter.yml.j2"))
    assert any("UnderReplicatedPartitions" in r["pattern"] or "(\\w+)" in r["pattern"] for r in rules["rules"])
    log = yaml.safe_load(render("log4j2.yaml.j2"))
    assert log["Configuration"]["Appenders"]["RollingFile"]["fileName"] == "/var/log/kafka/server.log"


def test_acls_by_default_with_the_admin_and_every_node_certificate_as_super_users():
    p = props(render("server.properties.j2", kafka_node=NODES[3], kafka_controllers=NODES[:3]))
    assert p["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert p["allow.everyone.if.no.acl.found"] == "false"
    assert p["super.users"] == "User:admin;User:CN=c1;User:CN=c2;User:CN=c3;User:CN=b1"


def test_further_super_users_and_acls_off():
    p = props(render("server.properties.j2", kafka_node=NODES[3], kafka_controllers=NODES[:3],
                     kafka_super_users=["User:ops", "User:admin"]))
    assert p["super.users"].split(";") == ["User:admin", "User:CN=c1", "User:CN=c2", "User:CN=c3", "User:CN=b1",
                                           "User:ops"]
    p = props(render("server.properties.j2", kafka_node=NODES[3], kafka_controllers=NODES[:3],
                     kafka_authorizer_enabled=False))
    assert "authorizer.class.name" not in p and "super.users" not in p
