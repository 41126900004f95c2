# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for plugins/module_utils/kafka_admin.py against an in-memory fake AdminClient."""

from __future__ import annotations

import concurrent.futures
import logging

import pytest
from confluent_kafka import KafkaError, KafkaException, Node, TopicPartitionInfo
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigSource, TopicDescription

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_admin
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError, TopicAdmin

DEFAULTS = {'cleanup.policy': 'delete', 'retention.ms': '604800000', 'min.insync.replicas': '1'}


def done(result=None, error=None):
    future = concurrent.futures.Future()
    if error is not None:
        future.set_exception(KafkaException(error) if isinstance(error, KafkaError) else error)
    else:
        future.set_result(result)
    return future


class FakeAdminClient:
    """Just enough of confluent_kafka.admin.AdminClient, backed by a dict of topics.

    ``topics`` maps a name to ``{'partitions': n, 'rf': r, 'configs': {...}}`` (dynamic configs).
    ``errors`` maps a method name to a KafkaError (or ``'hang'``) returned by its next futures.
    """

    def __init__(self, conf, topics=None):
        self.conf = conf
        self.topics = topics if topics is not None else {}
        self.errors = {}
        self.calls = []
        self.leaderless = False
        self.polled = 0

    def _future(self, method, result=None):
        self.calls.append(method)
        error = self.errors.get(method)
        if isinstance(error, str) and error == 'hang':  # KafkaError == str misbehaves in C
            return concurrent.futures.Future()
        return done(result, error)

    def poll(self, timeout):
        self.polled += 1
        self.conf['logger'].error('FAIL 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed')
        return 0

    def describe_topics(self, collection, request_timeout=None):
        (name,) = collection.topic_names
        topic = self.topics.get(name)
        if topic is None:
            self.calls.append('describe_topics')
            return {name: done(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, 'Broker: Unknown topic or partition'))}
        nodes = [Node(i, 'broker%d' % i, 9092) for i in range(1, topic['rf'] + 1)]
        leader = None if self.leaderless else nodes[0]
        parts = [TopicPartitionInfo(i, leader, nodes, nodes) for i in range(topic['partitions'])]
        return {name: self._future('describe_topics', TopicDescription(name, None, False, parts))}

    def describe_configs(self, resources, request_timeout=None):
        (res,) = resources
        topic = self.topics[res.name]
        entries = {k: ConfigEntry(k, v, source=ConfigSource.DEFAULT_CONFIG.value, is_default=True)
                   for k, v in DEFAULTS.items()}
        entries.update({k: ConfigEntry(k, v, source=ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
                        for k, v in topic['configs'].items()})
        return {res: self._future('describe_configs', entries)}

    def create_topics(self, new_topics, operation_timeout=None, request_timeout=None):
        (new,) = new_topics
        future = self._future('create_topics')
        if future.done() and future.exception() is None:
            rf = 1 if new.replication_factor == -1 else new.replication_factor
            self.topics[new.topic] = {'partitions': new.num_partitions, 'rf': rf, 'configs': dict(new.config)}
        return {new.topic: future}

    def create_partitions(self, new_parts, operation_timeout=None, request_timeout=None):
        (new,) = new_parts
        future = self._future('create_partitions')
        if future.done() and future.exception() is None:
            self.topics[new.topic]['partitions'] = new.new_total_count
        return {new.topic: future}

    def incremental_alter_configs(self, resources, request_timeout=None):
        (res,) = resources
        future = self._future('incremental_alter_configs')
        if future.done() and future.exception() is None:
            configs = self.topics[res.name]['configs']
            for entry in res.incremental_configs:
                if entry.incremental_operation == AlterConfigOpType.SET:
                    configs[entry.name] = entry.value
                else:
                    configs.pop(entry.name, None)
        return {res: future}

    def delete_topics(self, names, operation_timeout=None, request_timeout=None):
        (name,) = names
        future = self._future('delete_topics')
        if future.done() and future.exception() is None:
            self.topics.pop(name)
        return {name: future}


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(kafka_admin, 'POLL_INTERVAL', 0.001)
    monkeypatch.setattr(kafka_admin, 'FUTURE_GRACE', 0)


def make(topics=None, timeout=5, **conf):
    clients = []

    def factory(conf):
        clients.append(FakeAdminClient(conf, topics))
        return clients[0]

    admin = TopicAdmin(['k1:9092', 'k2:9092'], conf, timeout, client_factory=factory)
    return admin, clients[0]


def test_client_config_is_built_from_bootstrap_and_extra_settings():
    admin, client = make(**{'security.protocol': 'SASL_SSL', 'bootstrap.servers': 'ignored:1'})
    assert client.conf['bootstrap.servers'] == 'k1:9092,k2:9092'
    assert client.conf['security.protocol'] == 'SASL_SSL'
    assert client.conf['allow.auto.create.topics'] is False
    assert isinstance(client.conf['logger'], logging.Logger)


def test_auto_create_default_can_be_overridden():
    admin, client = make(**{'allow.auto.create.topics': True})
    assert client.conf['allow.auto.create.topics'] is True


def test_invalid_client_config_is_reported():
    def factory(conf):
        raise KafkaException(KafkaError(KafkaError._INVALID_ARG, 'No such configuration property: "sasl.mechanismz"'))

    with pytest.raises(KafkaAdminError, match='invalid Kafka client configuration: No such configuration property'):
        TopicAdmin(['k1:9092'], {'sasl.mechanismz': 'x'}, client_factory=factory)


def test_real_admin_client_is_the_default_factory():
    admin = TopicAdmin(['127.0.0.1:1'], {}, 1)
    assert type(admin.client).__name__ == 'AdminClient'


def test_describe_missing_topic_returns_none():
    admin, client = make()
    assert admin.describe_topic('orders') is None


def test_describe_existing_topic():
    admin, client = make({'orders': {'partitions': 3, 'rf': 2, 'configs': {'retention.ms': '1000'}}})
    state = admin.describe_topic('orders')
    assert state['name'] == 'orders'
    assert state['partitions'] == 3
    assert state['replication_factor'] == 2
    assert state['configs'] == {'retention.ms': '1000'}
    assert state['all_configs']['cleanup.policy'] == 'delete'
    assert state['all_configs']['retention.ms'] == '1000'


def test_describe_accepts_enum_config_source(monkeypatch):
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    entries = {'retention.ms': ConfigEntry('retention.ms', '5', source=ConfigSource.DYNAMIC_TOPIC_CONFIG)}
    monkeypatch.setattr(client, 'describe_configs', lambda resources, **kw: {resources[0]: done(entries)})
    assert admin.describe_topic('orders')['configs'] == {'retention.ms': '5'}


def test_describe_error_names_the_topic():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    client.errors['describe_topics'] = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, 'Broker: Topic authorization failed')
    with pytest.raises(KafkaAdminError) as exc:
        admin.describe_topic('orders')
    assert str(exc.value) == ('failed describing topic orders: Broker: Topic authorization failed '
                              '(TOPIC_AUTHORIZATION_FAILED)')


def test_local_error_includes_the_last_client_log():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    client.errors['describe_topics'] = KafkaError(KafkaError._TIMED_OUT, 'Failed while waiting for controller')
    with pytest.raises(KafkaAdminError) as exc:
        admin.describe_topic('orders')
    assert 'Failed while waiting for controller (_TIMED_OUT); last client log: FAIL 127.0.0.1:1' in str(exc.value)


def test_describe_timeout():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}}, timeout=0.01)
    client.errors['describe_topics'] = 'hang'
    with pytest.raises(KafkaAdminError, match='timed out after 0.01s describing topic orders; last client log'):
        admin.describe_topic('orders')


def test_describe_configs_error():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    client.errors['describe_configs'] = KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, 'denied')
    with pytest.raises(KafkaAdminError, match='failed describing configs of topic orders: denied'):
        admin.describe_topic('orders')


def test_future_timeout_on_change():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}}, timeout=0.01)
    client.errors['delete_topics'] = 'hang'
    with pytest.raises(KafkaAdminError, match='timed out after 0.01s deleting topic orders'):
        admin.delete_topic('orders')


def test_non_kafka_error_text():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    client.errors['delete_topics'] = KafkaException('plain message')
    with pytest.raises(KafkaAdminError, match='failed deleting topic orders: plain message'):
        admin.delete_topic('orders')


def test_create_topic_and_wait():
    admin, client = make()
    outcome = admin.apply({'action': 'create', 'topic': 'orders', 'partitions': 3, 'replication_factor': -1,
                           'configs': {'retention.ms': '1000'}})
    assert outcome == {'partitions': 3, 'replication_factor': 1}
    assert client.topics['orders'] == {'partitions': 3, 'rf': 1, 'configs': {'retention.ms': '1000'}}


def test_create_unknown_config_surfaces_kafka_message():
    admin, client = make()
    client.errors['create_topics'] = KafkaError(KafkaError.INVALID_CONFIG, 'Unknown topic config name: retention.mz')
    with pytest.raises(KafkaAdminError) as exc:
        admin.create_topic('orders', 3, -1, {'retention.mz': '1'})
    assert str(exc.value) == ('failed creating topic orders: Unknown topic config name: retention.mz '
                              '(INVALID_CONFIG)')


def test_wait_retries_until_leaders_are_elected(monkeypatch):
    admin, client = make({'orders': {'partitions': 2, 'rf': 1, 'configs': {}}})
    client.leaderless = True
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        client.leaderless = len(polls) < 3

    monkeypatch.setattr(kafka_admin.time, 'sleep', sleep)
    assert admin.wait_for_topic('orders', 2)['ready'] is True
    assert len(polls) == 3


def test_wait_times_out_with_last_error():
    admin, client = make({'orders': {'partitions': 2, 'rf': 1, 'configs': {}}}, timeout=0.01)
    client.errors['describe_topics'] = KafkaError(KafkaError.LEADER_NOT_AVAILABLE, 'Broker: Leader not available')
    with pytest.raises(KafkaAdminError) as exc:
        admin.wait_for_topic('orders', 4)
    assert 'waiting for metadata of topic orders to show 4 partitions with leaders' in str(exc.value)
    assert 'last error: failed describing topic orders: Broker: Leader not available' in str(exc.value)


def test_wait_for_absence_times_out():
    admin, client = make({'orders': {'partitions': 2, 'rf': 1, 'configs': {}}}, timeout=0.01)
    with pytest.raises(KafkaAdminError, match='topic orders to disappear$'):
        admin.wait_for_topic('orders', None)


def test_add_partitions():
    admin, client = make({'orders': {'partitions': 2, 'rf': 3, 'configs': {}}})
    outcome = admin.apply({'action': 'add_partitions', 'topic': 'orders', 'from': 2, 'to': 5})
    assert outcome == {'partitions': 5, 'replication_factor': 3}
    assert client.topics['orders']['partitions'] == 5


def test_add_partitions_error():
    admin, client = make({'orders': {'partitions': 2, 'rf': 3, 'configs': {}}})
    client.errors['create_partitions'] = KafkaError(KafkaError.INVALID_PARTITIONS, 'Topic already has 2 partitions.')
    with pytest.raises(KafkaAdminError, match='failed adding partitions to topic orders: Topic already has 2'):
        admin.add_partitions('orders', 2)


def test_alter_configs_set_and_delete():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {'retention.ms': '1', 'segment.ms': '9'}}})
    assert admin.apply({'action': 'alter_configs', 'topic': 'orders', 'set': {'retention.ms': '2'},
                        'delete': ['segment.ms']}) is None
    assert client.topics['orders']['configs'] == {'retention.ms': '2'}


def test_alter_configs_error():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    client.errors['incremental_alter_configs'] = KafkaError(KafkaError.INVALID_CONFIG, 'Invalid value x for configuration retention.ms')
    with pytest.raises(KafkaAdminError, match='failed altering configs of topic orders: Invalid value x'):
        admin.alter_configs('orders', {'retention.ms': 'x'})


def test_delete_topic_and_wait():
    admin, client = make({'orders': {'partitions': 1, 'rf': 1, 'configs': {}}})
    assert admin.apply({'action': 'delete', 'topic': 'orders'}) is None
    assert 'orders' not in client.topics


def test_unknown_action():
    admin, client = make()
    with pytest.raises(KafkaAdminError, match="unknown plan action 'rename' for topic orders"):
        admin.apply({'action': 'rename', 'topic': 'orders'})
