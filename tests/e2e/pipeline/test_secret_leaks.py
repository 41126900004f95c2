"""No secret the inventory generated (.cache/secrets: the sink, SQL Server, Connect REST and Kafka SCRAM passwords) shows up where
it should not: -vvv Ansible output of a real converge, process lists, journals and service logs, connector configs,
the Connect config topic, REST answers, or any file on the hosts except the service-owned 0600 secret files."""
import shlex

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import SECRETS, connect_api, docker_exec, kafka_client, run_playbook
from helpers import CONNECT, KAFKA

CONTAINERS = ["sluice-kafka", "sluice-connect", "sluice-pg"]


@pytest.fixture(scope="module")
def secrets():
    values = {p.name: p.read_text().strip() for p in SECRETS.iterdir() if p.is_file()}
    assert {"postgres_sink_password", "connect_rest_password", "kafka_admin_password", "kafka_connect_password",
            "kafka_supervisor_password"} <= set(values), sorted(values)
    assert all(len(v) >= 16 for v in values.values())   # long enough never to occur by chance
    return values


def leaked(text, secrets):
    return sorted(name for name, value in secrets.items() if value in text)


def test_not_in_verbose_ansible_output_of_a_converge_that_changes_nothing(molecule_inventory, secrets):
    # The Connect worker's play (secret files, REST users), the connectors and the supervisor, at -vvv; re-applying
    # them reports zero changed.
    rc, output, recap = run_playbook("site.yml", molecule_inventory, "-vvv", "--limit", "sluice-connect")
    assert rc == 0, output[-3000:]
    assert recap["sluice-connect"]["changed"] == 0, recap
    assert "no_log: true" in output or "censored" in output   # the secret tasks ran, hidden
    assert leaked(output, secrets) == []


def test_not_in_process_lists_journals_or_service_logs(secrets):
    for container in CONTAINERS:
        processes = docker_exec(container, "ps", "-eww", "-o", "args").stdout
        assert processes and leaked(processes, secrets) == [], container
        journal = docker_exec(container, "journalctl", "--no-pager", "-o", "cat").stdout
        assert journal and leaked(journal, secrets) == [], container
        logs = docker_exec(container, "sh", "-c", "cat /var/log/*/*.log /var/log/*.log 2>/dev/null").stdout
        assert leaked(logs, secrets) == [], container


def test_not_in_connector_configs_rest_answers_or_the_config_topic(secrets):
    api = connect_api()
    for path in ("/connectors?expand=info&expand=status", "/connector-plugins", "/"):
        assert leaked(api.get(CONNECT + path, timeout=10).text, secrets) == [], path
    for name in api.get(f"{CONNECT}/connectors", timeout=10).json():
        for path in (f"/connectors/{name}/config", f"/connectors/{name}/tasks", f"/connectors/{name}/offsets"):
            assert leaked(api.get(CONNECT + path, timeout=10).text, secrets) == [], path
    topic = "sluice-connect-configs"
    consumer = Consumer({**kafka_client(KAFKA), "group.id": "e2e-leaks", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        records = []
        while (batch := consumer.consume(num_messages=500, timeout=3)):
            records += [m.value() or b"" for m in batch if m.error() is None]
    finally:
        consumer.close()
    assert records, "the config topic was read"
    assert leaked(b"\n".join(records).decode("utf-8", "replace"), secrets) == []


def test_on_the_hosts_only_in_0600_files_of_a_service_user(secrets):
    """Every file holding a secret (searched everywhere but /proc, /sys, /dev and /run) is mode 0600 and owned
    by a service user — never root-readable-only configs shared with a group, never world-readable."""
    patterns = " ".join("-e " + shlex.quote(v) for v in secrets.values())
    script = ("grep -rlF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=run "
              f"{patterns} / 2>/dev/null | xargs -r stat -c '%a %U %n'")
    found = {c: [tuple(line.split(" ", 2)) for line in docker_exec(c, "sh", "-c", script).stdout.splitlines()]
             for c in CONTAINERS}
    bad = [(c, *f) for c, files in found.items() for f in files if f[0] != "600" or f[1] == "root"]
    assert bad == [], bad
    connect_files = {f[2] for f in found["sluice-connect"]}
    assert "/etc/kafka-connect/secrets/postgres_sink_password" in connect_files   # the search does find them
    assert "/etc/kafka-connect/rest-users.properties" in connect_files
    assert {"/etc/kafka-connect/secrets/kafka_password", "/etc/sluice-supervisor/kafka_password"} <= connect_files
    assert {"/etc/kafka/server.properties", "/etc/kafka/admin-client.properties"} <= {f[2] for f in found["sluice-kafka"]}
