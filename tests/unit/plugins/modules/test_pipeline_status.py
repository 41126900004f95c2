# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.pipeline_status module (fake Connect, Kafka, PostgreSQL and HTTP)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils import status
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectClient, ConnectError
from ansible_collections.sluice.cdc.plugins.modules import pipeline_status

from tests.support.status_fakes import FakeOffsets, FakePg, fake_http

LISTING = {
    'sink': {'status': {'name': 'sink', 'type': 'sink', 'connector': {'state': 'RUNNING', 'worker_id': 'w1:8083'},
                        'tasks': [{'id': 1, 'state': 'FAILED', 'worker_id': 'w2:8083',
                                   'trace': 'SQLException: password pg-hunter22 rejected'},
                                  {'id': 0, 'state': 'RUNNING', 'worker_id': 'w1:8083'}]},
             'info': {'name': 'sink', 'type': 'sink', 'tasks': [],
                      'config': {'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector', 'name': 'sink',
                                 'connection.password': 'pg-hunter22', 'connection.username': 'sluice'}}},
    'source': {'status': {'name': 'source', 'type': 'source',
                          'connector': {'state': 'FAILED', 'worker_id': 'w2:8083', 'trace': 'Boom'}, 'tasks': []},
               'info': {'name': 'source', 'type': 'source', 'tasks': [],
                        'config': {'connector.class': 'io.debezium.connector.sqlserver.SqlServerConnector',
                                   'name': 'source', 'database.password': '${dir:/etc/kafka-connect/secrets:mssql}'}}},
}

SINK_OK = {'sink': {'status': {'name': 'sink', 'type': 'sink', 'connector': {'state': 'RUNNING', 'worker_id': 'w1'},
                               'tasks': [{'id': 0, 'state': 'RUNNING', 'worker_id': 'w1'}]},
                    'info': {'name': 'sink', 'type': 'sink',
                             'config': {'connection.password': 'pg-hunter22',
                                        'errors.deadletterqueue.topic.name': 'sluice.dlq'}}}}


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, listing=None, error=None, check=False, offsets=None, pg=None, http=None, real_kafka=False):
        def request(self, method, path, body=None, query=None):
            if error:
                raise error
            assert (method, path) == ('GET', '/connectors')
            return json.loads(json.dumps(SINK_OK if listing is None else listing))
        monkeypatch.setattr(ConnectClient, 'request', request)
        if not real_kafka:
            monkeypatch.setattr(pipeline_status, 'make_kafka', lambda params: (lambda: offsets or FakeOffsets(
                committed={'connect-sink': {('sluice.db.dbo.t', 0): 1}}, marks={('sluice.db.dbo.t', 0): (0, 3),
                                                                                ('sluice.dlq', 0): (0, 0)},
                topics={'sluice.dlq': [0]})))
        monkeypatch.setattr(pipeline_status, 'make_pg_connect', lambda params: pg or FakePg(2.0))
        if http is not None:
            monkeypatch.setattr(pipeline_status, 'make_get_json', lambda params: http)
        args = dict({'url': 'http://c:8083'}, **args)
        args['_ansible_check_mode'] = check
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                pipeline_status.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result['_rc'] = exc.value.code
        result['_out'] = out
        return result
    return run


def test_healthy_in_check_mode_with_every_source(run_main):
    http = fake_http({'http://am:9093/api/v2/alerts': []})
    result = run_main({'kafka_bootstrap_servers': ['k:9092'], 'postgres_host': 'pg',
                       'postgres_password': 'pg-hunter22', 'alertmanager_url': 'http://am:9093'},
                      check=True, http=http)
    assert result['_rc'] == 0 and result['changed'] is False
    assert result['status'] == 'healthy' and result['exit_status'] == 0
    assert result['lag']['seconds'] == 2.0 and result['lag']['source'] == 'postgresql'
    assert result['consumer_lag'] == [{'group': 'connect-sink', 'topic': 'sluice.db.dbo.t', 'table': 'dbo.t',
                                       'lag': 2, 'partitions': 1}]
    assert result['dlq'] == [{'topic': 'sluice.dlq', 'exists': True, 'messages': 0}]
    assert result['alerts'] == [] and result['text'].startswith('Sluice pipeline: HEALTHY (exit 0)')
    assert 'pg-hunter22' not in result['_out']


def test_degraded_is_reported_not_failed(run_main):
    result = run_main({}, listing=LISTING)
    assert result['_rc'] == 0 and result['status'] == 'degraded' and result['exit_status'] == 1
    assert 'task sink/1 is FAILED: SQLException: password ******** rejected' in result['problems']
    assert 'connector source is FAILED: Boom' in result['problems']
    assert result['consumer_lag'] is None and result['dlq'] is None and result['alerts'] is None
    assert 'pg-hunter22' not in result['_out']


def test_unreadable_source_is_an_error_status(run_main):
    result = run_main({'postgres_host': 'pg', 'postgres_password': 'pg-hunter22'}, pg=FakePg(fail_connect=True))
    assert result['_rc'] == 0 and result['status'] == 'error' and result['exit_status'] == 2
    assert result['errors']['lag'].startswith('PostgreSQL: cannot connect')


def test_connect_unreachable_fails(run_main):
    result = run_main({}, error=ConnectError('cannot reach Kafka Connect at http://c:8083'))
    assert result['_rc'] == 1 and result['failed'] is True and result['changed'] is False
    assert result['msg'] == 'cannot reach Kafka Connect at http://c:8083' and result['status'] == 'error'


def test_option_errors(run_main):
    assert run_main({'request_timeout': 0})['msg'] == 'request_timeout must be a positive integer (got 0)'
    assert run_main({'url': 'ftp://x'})['msg'].startswith('url must be an http:// or https:// URL')


def test_kafka_client_config_values_are_hidden(run_main):
    result = run_main({'kafka_bootstrap_servers': ['k:9092'],
                       'kafka_client_config': {'sasl.password': 'kafka-secret-1'}},
                      offsets=FakeOffsets(fail={'committed': 'Kafka: auth failed for kafka-secret-1'}))
    assert result['errors']['consumer_lag'] == 'Kafka: auth failed for ********'
    assert 'kafka-secret-1' not in result['_out']


def spec_defaults(**values):
    """Module params as AnsibleModule makes them: every option of the Kafka and PostgreSQL specs, defaults filled."""
    params = {name: spec.get('default') for name, spec in {
        **status_kafka_spec(), **status_pg_spec()}.items()}
    params.update(values)
    return params


def status_kafka_spec():
    from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn
    return kafka_conn.argument_spec('kafka_', **status.KAFKA_DEFAULTS)


def status_pg_spec():
    from ansible_collections.sluice.cdc.plugins.module_utils import pg
    return pg.argument_spec('postgres_', **status.POSTGRES_DEFAULTS)


def test_factories_build_real_clients(monkeypatch):
    params = spec_defaults(**{
        'url': 'https://c:8443', 'validate_certs': False, 'ca_path': '/ca', 'client_cert': None,
        'client_key': None, 'url_username': 'u', 'url_password': 'p', 'request_timeout': 7,
        'kafka_bootstrap_servers': ['127.0.0.1:1'], 'kafka_client_config': {},
        'postgres_host': 'pg', 'postgres_port': 5433, 'postgres_database': 'd', 'postgres_user': 'u',
        'postgres_password': 'pw', 'postgres_sslmode': 'require'})
    client = pipeline_status.make_client(params)
    assert client.base_url == 'https://c:8443' and client.timeout == 7 and client.validate_certs is False
    seen = {}

    def fake_connect(params_):
        seen['kafka'] = params_
        return 'offsets'
    monkeypatch.setattr(status.KafkaOffsets, 'connect', staticmethod(lambda *a: fake_connect(a)))
    assert pipeline_status.make_kafka(params)() == 'offsets'
    assert seen['kafka'] == (['127.0.0.1:1'], {}, 7)
    psycopg = pytest.importorskip('psycopg')
    monkeypatch.setattr(psycopg, 'connect', lambda **kw: kw)
    assert pipeline_status.make_pg_connect(params)() == {
        'host': 'pg', 'port': 5433, 'dbname': 'd', 'user': 'u', 'password': 'pw', 'sslmode': 'require',
        'connect_timeout': 7, 'application_name': 'sluice-status', 'autocommit': True}
    assert callable(pipeline_status.make_get_json(params))


def test_factories_pass_the_tls_and_sasl_options(monkeypatch):
    params = spec_defaults(request_timeout=7, kafka_bootstrap_servers=['k1:9093', 'k2:9093'],
                           kafka_security_protocol='SASL_SSL', kafka_sasl_mechanism='SCRAM-SHA-512',
                           kafka_sasl_username='status', kafka_sasl_password='kafka-pw', kafka_ssl_ca_file='/ca.pem',
                           kafka_client_config={'client.id': 'status'},
                           postgres_host='pg', postgres_sslmode='verify-full', postgres_sslrootcert='/ca.pem',
                           postgres_connect_timeout=3)
    seen = {}
    monkeypatch.setattr(status.KafkaOffsets, 'connect', staticmethod(lambda *a: seen.update(kafka=a)))
    pipeline_status.make_kafka(params)()
    assert seen['kafka'] == (['k1:9093', 'k2:9093'], {
        'client.id': 'status', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512',
        'sasl.username': 'status', 'sasl.password': 'kafka-pw', 'ssl.ca.location': '/ca.pem',
        'ssl.endpoint.identification.algorithm': 'https'}, 7)
    fake = type('FakePsycopg', (), {'connect': staticmethod(lambda **kw: kw)})
    monkeypatch.setitem(__import__('sys').modules, 'psycopg', fake)
    assert pipeline_status.make_pg_connect(params)() == {
        'host': 'pg', 'port': 5432, 'dbname': 'sluice', 'user': 'sluice_sink', 'sslmode': 'verify-full',
        'sslrootcert': '/ca.pem', 'connect_timeout': 3, 'application_name': 'sluice-status', 'autocommit': True}


def test_pg_without_psycopg_is_a_status_error(monkeypatch):
    monkeypatch.setitem(__import__('sys').modules, 'psycopg', None)
    with pytest.raises(status.StatusError, match='psycopg is needed'):
        pipeline_status.make_pg_connect(spec_defaults(postgres_host='pg', request_timeout=5))()


def test_kafka_option_clashing_with_client_config_fails(run_main):
    result = run_main({'kafka_bootstrap_servers': ['k:9092'], 'kafka_security_protocol': 'SASL_SSL',
                       'kafka_client_config': {'security.protocol': 'SSL', 'sasl.password': 'kafka-secret-2'}},
                      real_kafka=True)
    assert result['failed'] is True and 'kafka-secret-2' not in result['_out']
    assert result['msg'] == ('kafka_client_config sets security.protocol, which kafka_security_protocol sets: '
                             'give each setting once')
