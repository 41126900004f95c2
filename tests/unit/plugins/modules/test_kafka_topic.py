# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.kafka_topic module (no broker: the admin wrapper is faked)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError
from ansible_collections.sluice.cdc.plugins.modules import kafka_topic
from ansible_collections.sluice.cdc.plugins.modules.kafka_topic import PlanError, compute_plan, predict, view

ALL_CONFIGS = {'cleanup.policy': 'delete', 'retention.ms': '604800000', 'min.insync.replicas': '1',
               'unclean.leader.election.enable': 'false', 'segment.ms': '604800000'}


def params(**overrides):
    base = {'name': 'orders', 'state': 'present', 'partitions': None, 'replication_factor': None,
            'configs': {}, 'purge_configs': False, 'bootstrap_servers': ['k1:9092'],
            'client_config': {}, 'timeout': 30}
    base.update(overrides)
    return base


def topic(partitions=3, rf=3, configs=None):
    configs = dict(configs or {})
    return {'name': 'orders', 'partitions': partitions, 'replication_factor': rf, 'configs': configs,
            'all_configs': dict(ALL_CONFIGS, **configs)}


class FakeAdmin:
    """Stands in for kafka_admin.TopicAdmin: one topic kept in memory, actions recorded."""

    def __init__(self, current=None, fail_on=None, broker_rf=3):
        self.current = current
        self.applied = []
        self.fail_on = fail_on
        self.broker_rf = broker_rf

    def describe_topic(self, name):
        if isinstance(self.current, Exception):
            raise self.current
        return self.current

    def apply(self, action):
        if action['action'] == self.fail_on:
            raise KafkaAdminError('failed %s topic %s: boom (INVALID_CONFIG)' % (action['action'], action['topic']))
        self.applied.append(action)
        if action['action'] == 'create':
            return {'partitions': action['partitions'], 'replication_factor': self.broker_rf}
        return None


# -- plan computation (pure) ----------------------------------------------------------------------

def test_plan_create_with_broker_default_rf():
    plan = compute_plan(params(partitions=6, configs={'retention.ms': 1000, 'cleanup.policy': 'compact'}), None)
    assert plan == [{'action': 'create', 'topic': 'orders', 'partitions': 6, 'replication_factor': -1,
                     'configs': {'retention.ms': '1000', 'cleanup.policy': 'compact'}}]


def test_plan_create_with_rf():
    assert compute_plan(params(partitions=1, replication_factor=3), None)[0]['replication_factor'] == 3


def test_plan_create_requires_partitions():
    with pytest.raises(PlanError, match='^partitions is required to create topic orders$'):
        compute_plan(params(), None)


def test_plan_noop_on_matching_topic():
    current = topic(configs={'retention.ms': '1000', 'unclean.leader.election.enable': 'false'})
    assert compute_plan(params(partitions=3, replication_factor=3,
                               configs={'retention.ms': 1000, 'unclean.leader.election.enable': False}), current) == []


def test_plan_noop_without_partitions_or_rf():
    assert compute_plan(params(), topic()) == []


def test_plan_rf_minus_one_on_existing_topic_is_ignored():
    assert compute_plan(params(replication_factor=-1), topic(rf=2)) == []


def test_plan_add_partitions():
    assert compute_plan(params(partitions=6), topic(partitions=3)) == [
        {'action': 'add_partitions', 'topic': 'orders', 'from': 3, 'to': 6}]


def test_plan_decrease_is_an_error():
    with pytest.raises(PlanError) as exc:
        compute_plan(params(partitions=3), topic(partitions=6))
    assert str(exc.value) == 'topic orders has 6 partitions; Kafka cannot reduce partitions (requested 3)'


def test_plan_rf_change_is_an_error():
    with pytest.raises(PlanError, match='topic orders has replication factor 1; changing it to 3 needs a partition reassignment'):
        compute_plan(params(replication_factor=3), topic(rf=1))


def test_plan_config_values_are_compared_as_strings():
    current = topic(configs={'retention.ms': '1000', 'unclean.leader.election.enable': 'true'})
    plan = compute_plan(params(configs={'retention.ms': 1000, 'unclean.leader.election.enable': False,
                                        'cleanup.policy': ['compact', 'delete']}), current)
    assert plan == [{'action': 'alter_configs', 'topic': 'orders',
                     'set': {'cleanup.policy': 'compact,delete', 'unclean.leader.election.enable': 'false'},
                     'delete': []}]


def test_plan_sets_a_default_valued_key_explicitly():
    # cleanup.policy=delete is the default but not set on the topic: it gets pinned
    plan = compute_plan(params(configs={'cleanup.policy': 'delete'}), topic())
    assert plan[0]['set'] == {'cleanup.policy': 'delete'}


def test_plan_leaves_other_configs_alone_by_default():
    assert compute_plan(params(configs={'retention.ms': '1'}), topic(configs={'retention.ms': '1', 'segment.ms': '5'})) == []


def test_plan_purge_configs_deletes_unlisted_dynamic_configs():
    current = topic(configs={'retention.ms': '1', 'segment.ms': '5', 'cleanup.policy': 'compact'})
    plan = compute_plan(params(configs={'retention.ms': 2}, purge_configs=True), current)
    assert plan == [{'action': 'alter_configs', 'topic': 'orders', 'set': {'retention.ms': '2'},
                     'delete': ['cleanup.policy', 'segment.ms']}]


def test_plan_partitions_and_configs_in_order():
    plan = compute_plan(params(partitions=4, configs={'retention.ms': 5}), topic(partitions=2))
    assert [a['action'] for a in plan] == ['add_partitions', 'alter_configs']


def test_plan_unknown_config_key_on_existing_topic():
    with pytest.raises(PlanError) as exc:
        compute_plan(params(partitions=9, configs={'retention.mz': 1, 'zz': 2, 'retention.ms': 1}), topic())
    assert str(exc.value) == 'unknown topic config key(s) for topic orders: retention.mz, zz'


def test_plan_without_described_config_names_skips_key_check():
    current = dict(topic(), all_configs={})
    assert compute_plan(params(configs={'whatever': 1}), current)[0]['set'] == {'whatever': '1'}


@pytest.mark.parametrize('value', [None, {'a': 1}])
def test_plan_rejects_unusable_config_values(value):
    with pytest.raises(PlanError, match='config retention.ms must be a string, number, boolean or list'):
        compute_plan(params(configs={'retention.ms': value}), topic())


def test_plan_absent_on_existing_topic():
    assert compute_plan(params(state='absent'), topic()) == [{'action': 'delete', 'topic': 'orders'}]


def test_plan_absent_on_missing_topic():
    assert compute_plan(params(state='absent'), None) == []


@pytest.mark.parametrize('overrides, message', [
    ({'partitions': 0}, 'partitions must be a positive integer (got 0)'),
    ({'partitions': -2}, 'partitions must be a positive integer (got -2)'),
    ({'timeout': 0}, 'timeout must be a positive integer (got 0)'),
    ({'replication_factor': 0}, 'replication_factor must be a positive integer, or -1 for the broker default (got 0)'),
    ({'replication_factor': -3}, 'replication_factor must be a positive integer, or -1 for the broker default (got -3)'),
    ({'name': ''}, 'name must not be empty'),
    ({'bootstrap_servers': []}, 'bootstrap_servers must not be empty'),
])
def test_validation_errors(overrides, message):
    with pytest.raises(PlanError) as exc:
        kafka_topic.validate_params(params(**overrides))
    assert str(exc.value) == message


def test_predict_and_view():
    current = topic(partitions=2, rf=3, configs={'segment.ms': '5'})
    plan = [{'action': 'add_partitions', 'topic': 'orders', 'from': 2, 'to': 4},
            {'action': 'alter_configs', 'topic': 'orders', 'set': {'retention.ms': '7'}, 'delete': ['segment.ms']}]
    assert view('orders', predict(current, plan)) == {
        'name': 'orders', 'state': 'present', 'partitions': 4, 'replication_factor': 3,
        'configs': {'retention.ms': '7'}}
    assert predict(current, [{'action': 'delete', 'topic': 'orders'}]) is None
    created = predict(None, [{'action': 'create', 'topic': 'orders', 'partitions': 1, 'replication_factor': -1,
                              'configs': {'a': 'b'}}])
    assert created == {'partitions': 1, 'replication_factor': None, 'configs': {'a': 'b'}}
    assert view('orders', None) == {'state': 'absent'}


# -- main() through AnsibleModule -------------------------------------------------------------------

@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, admin, check=False, diff=False):
        factory_calls = []

        def factory(p):
            factory_calls.append(p)
            return admin

        monkeypatch.setattr(kafka_topic, 'make_admin', factory)
        args = dict({'bootstrap_servers': 'k1:9092, k2:9092'}, **args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                kafka_topic.main()
        result = json.loads(capsys.readouterr().out)
        result['_rc'] = exc.value.code
        result['_factory_params'] = factory_calls[0] if factory_calls else None
        return result
    return run


def test_main_creates_topic(run_main):
    admin = FakeAdmin(None, broker_rf=2)
    result = run_main({'name': 'orders', 'partitions': 3, 'configs': {'retention.ms': 1000}}, admin, diff=True)
    assert result['_rc'] == 0 and result['changed'] is True
    assert result['_factory_params']['bootstrap_servers'] == ['k1:9092', 'k2:9092']
    assert admin.applied == result['plan'] == [{'action': 'create', 'topic': 'orders', 'partitions': 3,
                                                'replication_factor': -1, 'configs': {'retention.ms': '1000'}}]
    assert result['topic'] == {'name': 'orders', 'state': 'present', 'partitions': 3, 'replication_factor': 2,
                               'configs': {'retention.ms': '1000'}}
    assert result['diff'] == {'before': {'state': 'absent'}, 'after': result['topic']}


def test_main_check_mode_applies_nothing(run_main):
    admin = FakeAdmin(topic(partitions=3, configs={'segment.ms': '5'}))
    result = run_main({'name': 'orders', 'partitions': 6, 'configs': {'retention.ms': 1}, 'purge_configs': True},
                      admin, check=True, diff=True)
    assert result['changed'] is True
    assert admin.applied == []
    assert [a['action'] for a in result['plan']] == ['add_partitions', 'alter_configs']
    assert result['diff']['before'] == {'name': 'orders', 'state': 'present', 'partitions': 3,
                                        'replication_factor': 3, 'configs': {'segment.ms': '5'}}
    assert result['diff']['after'] == result['topic'] == {
        'name': 'orders', 'state': 'present', 'partitions': 6, 'replication_factor': 3,
        'configs': {'retention.ms': '1'}}


def test_main_check_mode_create_predicts_unknown_rf(run_main):
    admin = FakeAdmin(None)
    result = run_main({'name': 'orders', 'partitions': 3}, admin, check=True)
    assert result['changed'] is True and admin.applied == []
    assert result['topic']['replication_factor'] is None
    assert 'diff' not in result


def test_main_noop(run_main):
    admin = FakeAdmin(topic(configs={'retention.ms': '1'}))
    result = run_main({'name': 'orders', 'partitions': 3, 'replication_factor': 3,
                       'configs': {'retention.ms': 1}}, admin, diff=True)
    assert result['changed'] is False and result['plan'] == [] and admin.applied == []
    assert result['diff']['before'] == result['diff']['after']


def test_main_deletes_topic(run_main):
    admin = FakeAdmin(topic())
    result = run_main({'name': 'orders', 'state': 'absent'}, admin, diff=True)
    assert result['changed'] is True and admin.applied == [{'action': 'delete', 'topic': 'orders'}]
    assert result['topic'] == {'name': 'orders', 'state': 'absent'}
    assert result['diff']['after'] == {'state': 'absent'}


def test_main_absent_on_missing_topic(run_main):
    result = run_main({'name': 'orders', 'state': 'absent'}, FakeAdmin(None))
    assert result['changed'] is False and result['plan'] == []


def test_main_decrease_fails_before_any_change(run_main):
    admin = FakeAdmin(topic(partitions=6))
    result = run_main({'name': 'orders', 'partitions': 3, 'configs': {'retention.ms': 1}}, admin)
    assert result['_rc'] == 1 and result['failed'] is True and result['changed'] is False
    assert result['msg'] == 'topic orders has 6 partitions; Kafka cannot reduce partitions (requested 3)'
    assert admin.applied == []


def test_main_validation_fails_before_connecting(run_main):
    result = run_main({'name': 'orders', 'partitions': 0}, FakeAdmin(None))
    assert result['failed'] is True and result['msg'] == 'partitions must be a positive integer (got 0)'
    assert result['_factory_params'] is None


def test_main_describe_error(run_main):
    admin = FakeAdmin(KafkaAdminError('failed describing topic orders: Broker: Topic authorization failed'))
    result = run_main({'name': 'orders', 'partitions': 1}, admin)
    assert result['failed'] is True and result['msg'].startswith('failed describing topic orders')


def test_main_apply_error_reports_partial_progress(run_main):
    admin = FakeAdmin(topic(partitions=2), fail_on='alter_configs')
    result = run_main({'name': 'orders', 'partitions': 4, 'configs': {'retention.ms': 1}}, admin)
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'] == 'failed alter_configs topic orders: boom (INVALID_CONFIG)'
    assert [a['action'] for a in result['applied']] == ['add_partitions']


def test_main_client_config_is_not_logged(run_main):
    admin = FakeAdmin(topic())
    result = run_main({'name': 'orders', 'client_config': {'sasl.password': 's3cr3t-value'}}, admin)
    assert result['_factory_params']['client_config'] == {'sasl.password': 's3cr3t-value'}
    del result['_factory_params']
    assert 's3cr3t-value' not in json.dumps(result)


def test_main_missing_library(run_main, monkeypatch):
    monkeypatch.setattr(kafka_topic, 'HAS_CONFLUENT_KAFKA', False)
    monkeypatch.setattr(kafka_topic, 'CONFLUENT_KAFKA_IMPORT_ERROR', 'ImportError: No module named confluent_kafka')
    result = run_main({'name': 'orders'}, FakeAdmin(None))
    assert result['failed'] is True and 'confluent-kafka' in result['msg']
    assert result['_factory_params'] is None


def test_make_admin_builds_topic_admin(monkeypatch):
    seen = {}

    class Recorder:
        def __init__(self, servers, client_config, timeout):
            seen.update(servers=servers, client_config=client_config, timeout=timeout)

    monkeypatch.setattr(kafka_topic, 'TopicAdmin', Recorder)
    kafka_topic.make_admin(params(client_config={'a': 'b'}, timeout=7))
    assert seen == {'servers': ['k1:9092'], 'client_config': {'a': 'b'}, 'timeout': 7}


def test_make_admin_passes_the_security_options(monkeypatch):
    seen = {}

    class Recorder:
        def __init__(self, servers, client_config, timeout):
            seen.update(client_config=client_config)

    monkeypatch.setattr(kafka_topic, 'TopicAdmin', Recorder)
    kafka_topic.make_admin(params(security_protocol='SASL_SSL', sasl_mechanism='SCRAM-SHA-512', sasl_username='u',
                                  sasl_password='pw', ssl_ca_file='/ca.pem', ssl_check_hostname=True,
                                  client_config={'client.id': 'x'}))
    assert seen['client_config'] == {
        'client.id': 'x', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'u',
        'sasl.password': 'pw', 'ssl.ca.location': '/ca.pem', 'ssl.endpoint.identification.algorithm': 'https'}


def test_main_fails_on_a_setting_given_twice(monkeypatch, capsys):
    monkeypatch.setattr(kafka_topic, 'TopicAdmin', lambda *a: pytest.fail('no client may be built'))
    args = {'name': 'orders', 'bootstrap_servers': 'k1:9092', 'security_protocol': 'SASL_SSL',
            'sasl_password': 'pw-twice-1', 'client_config': {'sasl.password': 'pw-twice-2'}}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            kafka_topic.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result['failed'] is True and 'pw-twice' not in out
    assert result['msg'] == 'client_config sets sasl.password, which sasl_password sets: give each setting once'
