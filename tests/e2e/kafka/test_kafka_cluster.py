"""The `kafka` scenario, the production shape of inventories/example: three dedicated KRaft controllers
sluice-kc-1..3 (node ids 1-3) and three brokers sluice-kb-1..3 (node ids 101-103), the brokers reachable on
127.0.0.1:19092-19094."""
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from conftest import docker_exec, kafka_client, kafka_module_login, run_module, run_playbook

CONTROLLERS = ["sluice-kc-1", "sluice-kc-2", "sluice-kc-3"]
BROKERS = ["sluice-kb-1", "sluice-kb-2", "sluice-kb-3"]
NODES = CONTROLLERS + BROKERS
BOOTSTRAP = "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
TOPIC = "sluice-e2e-keyed"


@pytest.fixture(scope="module")
def admin():
    return AdminClient(kafka_client(BOOTSTRAP))


def cluster_id_on_disk(node):
    out = docker_exec(node, "cat", "/var/lib/kafka/data/meta.properties").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("#"))["cluster.id"]


def topic_partitions(admin, topic):
    meta = admin.list_topics(topic=topic, timeout=10).topics[topic]
    return meta.partitions


def produce(count, prefix):
    producer = Producer({**kafka_client(BOOTSTRAP), "acks": "all", "enable.idempotence": True,
                         "linger.ms": 20})
    sent = {f"{prefix}-{i}": f'{{"n": {i}, "prefix": "{prefix}"}}' for i in range(count)}
    errors = []
    for key, value in sent.items():
        producer.produce(TOPIC, key=key, value=value, on_delivery=lambda err, _msg: err and errors.append(err))
        producer.poll(0)
    assert producer.flush(60) == 0, "messages left unsent after 60 s"
    assert errors == []
    return sent


def consume_all(expected, timeout=90):
    consumer = Consumer({**kafka_client(BOOTSTRAP), "group.id": f"e2e-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([TOPIC])
    got, partition_of = {}, {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not expected.keys() <= got.keys():
            for msg in consumer.consume(num_messages=1000, timeout=1):
                assert msg.error() is None, msg.error()
                key = msg.key().decode()
                got[key] = msg.value().decode()
                partition_of.setdefault(key, set()).add(msg.partition())
    finally:
        consumer.close()
    return got, partition_of


def quorum(command):
    return docker_exec("sluice-kb-1", "java", "-cp", "/opt/kafka/releases/2.13-4.3.0/libs/*",
                       "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server", "sluice-kb-1:9092",
                       "--command-config", "/etc/kafka/admin-client.properties",
                       "describe", command).stdout


def test_three_dedicated_controllers_and_three_brokers(admin):
    cluster = admin.describe_cluster(request_timeout=10).result()
    assert sorted(node.id for node in cluster.nodes) == [101, 102, 103]
    status = quorum("--status")
    voters = status.split("CurrentVoters:", 1)[1].split("\n", 1)[0]
    assert all(f'"id": {n}' in voters for n in (1, 2, 3)) and '"id": 10' not in voters, status
    leader = int(status.split("LeaderId:", 1)[1].split()[0])
    assert leader in (1, 2, 3), status
    replication = quorum("--replication")
    observers = {int(line.split()[0]) for line in replication.splitlines() if "Observer" in line}
    assert observers == {101, 102, 103}, replication
    assert "process.roles=controller" in docker_exec("sluice-kc-1", "cat", "/etc/kafka/server.properties").stdout
    assert "process.roles=broker" in docker_exec("sluice-kb-1", "cat", "/etc/kafka/server.properties").stdout


def test_kafka_topic_creates_topic_with_3_partitions_rf3(admin):
    args = {"name": TOPIC, "partitions": 3, "replication_factor": 3, "configs": {"retention.ms": 86400000},
            "bootstrap_servers": BOOTSTRAP, **kafka_module_login()}
    first = run_module("sluice.cdc.kafka_topic", args)
    assert first.get("failed") is not True, first
    partitions = topic_partitions(admin, TOPIC)
    assert sorted(partitions) == [0, 1, 2]
    assert all(len(p.replicas) == 3 for p in partitions.values())
    again = run_module("sluice.cdc.kafka_topic", args)
    assert again["changed"] is False and again["plan"] == []


def test_kafka_topic_check_mode_reports_and_changes_nothing(admin):
    args = {"name": TOPIC, "partitions": 6, "replication_factor": 3, "configs": {"retention.ms": 3600000},
            "bootstrap_servers": BOOTSTRAP, **kafka_module_login()}
    result = run_module("sluice.cdc.kafka_topic", args, check=True, diff=True)
    assert result["changed"] is True
    actions = {step["action"]: step for step in result["plan"]}
    assert actions["add_partitions"]["from"] == 3 and actions["add_partitions"]["to"] == 6
    assert "retention.ms" in str(actions["alter_configs"])
    assert result["diff"]["before"]["partitions"] == 3 and result["diff"]["after"]["partitions"] == 6
    assert len(topic_partitions(admin, TOPIC)) == 3
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC)
    configs = admin.describe_configs([res])[res].result()
    assert configs["retention.ms"].value == "86400000"


def test_kafka_topic_refuses_to_reduce_partitions(admin):
    result = run_module("sluice.cdc.kafka_topic", {"name": TOPIC, "partitions": 2, "bootstrap_servers": BOOTSTRAP, **kafka_module_login()})
    assert result.get("failed") is True
    assert "reduce" in result["msg"] and TOPIC in result["msg"]
    assert len(topic_partitions(admin, TOPIC)) == 3


def test_10000_keyed_messages_round_trip():
    sent = produce(10_000, "k")
    got, partition_of = consume_all(sent)
    missing = sent.keys() - got.keys()
    assert not missing, f"{len(missing)} of 10000 messages not read back, e.g. {sorted(missing)[:5]}"
    assert all(got[k] == v for k, v in sent.items())
    assert all(len(parts) == 1 for parts in partition_of.values()), "a key landed in two partitions"
    assert len({p for parts in partition_of.values() for p in parts}) == 3


def test_one_broker_down_then_rejoins(admin):
    assert docker_exec("sluice-kb-3", "systemctl", "stop", "kafka").returncode == 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and 103 in admin.list_topics(timeout=10).brokers:
            time.sleep(1)
        assert 103 not in admin.list_topics(timeout=10).brokers, "broker 103 still listed after stop"
        sent = produce(1_000, "down")
        got, _ = consume_all(sent)
        assert sent.keys() <= got.keys(), f"{len(sent.keys() - got.keys())} messages lost with one broker down"
    finally:
        assert docker_exec("sluice-kb-3", "systemctl", "start", "kafka").returncode == 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        partitions = topic_partitions(admin, TOPIC)
        if 103 in admin.list_topics(timeout=10).brokers and all(len(p.isrs) == 3 for p in partitions.values()):
            break
        time.sleep(2)
    partitions = topic_partitions(admin, TOPIC)
    assert all(len(p.isrs) == 3 for p in partitions.values()), {i: p.isrs for i, p in partitions.items()}


def test_one_controller_down_the_quorum_carries_on(admin):
    leader = int(quorum("--status").split("LeaderId:", 1)[1].split()[0])
    victim = f"sluice-kc-{leader}"
    assert docker_exec(victim, "systemctl", "stop", "kafka").returncode == 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = quorum("--status")
            if "LeaderId:" in status and int(status.split("LeaderId:", 1)[1].split()[0]) not in (leader, -1):
                break
            time.sleep(1)
        new_leader = int(quorum("--status").split("LeaderId:", 1)[1].split()[0])
        assert new_leader in (1, 2, 3) and new_leader != leader, f"no new quorum leader after stopping {victim}"
        args = {"name": f"sluice-e2e-quorum-{uuid.uuid4().hex[:8]}", "partitions": 3, "replication_factor": 3,
                "configs": {}, "bootstrap_servers": BOOTSTRAP, **kafka_module_login()}
        created = run_module("sluice.cdc.kafka_topic", args)  # a metadata change needs the quorum
        assert created.get("failed") is not True and created["changed"] is True, created
        sent = produce(500, "ctl-down")
        got, _ = consume_all(sent)
        assert sent.keys() <= got.keys()
    finally:
        assert docker_exec(victim, "systemctl", "start", "kafka").returncode == 0


def test_cluster_id_survives_reconverge(admin, molecule_inventory):
    before = admin.describe_cluster(request_timeout=10).result().cluster_id
    assert {cluster_id_on_disk(n) for n in NODES} == {before}
    rc, output, recap = run_playbook("molecule/kafka/converge.yml", molecule_inventory)
    assert rc == 0, output[-3000:]
    assert all(recap[n]["changed"] == 0 for n in NODES), recap
    assert admin.describe_cluster(request_timeout=10).result().cluster_id == before
    assert {cluster_id_on_disk(n) for n in NODES} == {before}


@pytest.mark.parametrize("bad, complaint", [
    ('{"kafka_node_roles": ["broker", "zookeeper"]}', "zookeeper"),
    ('{"kafka_heap_size": 512, "kafka_num_partitions": "many"}', "kafka_num_partitions"),
])
def test_wrong_variable_fails_validation_before_any_change(molecule_inventory, bad, complaint):
    rc, output, recap = run_playbook("molecule/kafka/converge.yml", molecule_inventory, "-e", bad)
    assert rc != 0
    assert "Validating arguments against arg spec" in output and complaint in output, output[-3000:]
    assert all(recap[n]["changed"] == 0 and recap[n]["failed"] == 1 for n in NODES), recap


def unit_times(node):
    out = docker_exec(node, "systemctl", "show", "kafka", "-p", "MainPID", "-p", "InactiveEnterTimestampMonotonic",
                      "-p", "ActiveEnterTimestampMonotonic").stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(values["MainPID"]), int(values["InactiveEnterTimestampMonotonic"]), \
        int(values["ActiveEnterTimestampMonotonic"])


def test_config_change_restarts_nodes_one_at_a_time(admin, molecule_inventory):
    before = {n: unit_times(n) for n in NODES}
    change = '{"kafka_server_properties": {"log.cleaner.threads": 2}}'
    try:
        rc, output, recap = run_playbook("molecule/kafka/converge.yml", molecule_inventory, "-e", change)
        assert rc == 0, output[-3000:]
        after = {n: unit_times(n) for n in NODES}
        assert all(after[n][0] != before[n][0] for n in NODES), "every node runs a new process"
        assert all("log.cleaner.threads=2" in docker_exec(n, "cat", "/etc/kafka/server.properties").stdout
                   for n in NODES)
        # One at a time: each node went down only after the previous one was up again.
        order = sorted(NODES, key=lambda n: after[n][1])
        assert all(after[b][1] > after[a][2] for a, b in zip(order, order[1:])), after
        partitions = topic_partitions(admin, TOPIC)
        assert all(len(p.isrs) == 3 for p in partitions.values())
    finally:
        rc, output, _ = run_playbook("molecule/kafka/converge.yml", molecule_inventory)
        assert rc == 0, output[-3000:]
