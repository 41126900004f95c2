# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.connect_connector_info module (no worker: ConnectClient.request is faked)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectClient, ConnectError
from ansible_collections.sluice.cdc.plugins.modules import connect_connector_info

LISTING = {
    'sink': {
        'status': {'name': 'sink', 'type': 'sink', 'connector': {'state': 'RUNNING', 'worker_id': 'w1:8083'},
                   'tasks': [{'id': 1, 'state': 'FAILED', 'worker_id': 'w2:8083',
                              'trace': 'SQLException: password pg-hunter22 rejected'},
                             {'id': 0, 'state': 'RUNNING', 'worker_id': 'w1:8083'}]},
        'info': {'name': 'sink', 'type': 'sink', 'tasks': [],
                 'config': {'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector', 'name': 'sink',
                            'connection.password': 'pg-hunter22', 'connection.username': 'sluice'}},
    },
    'source': {
        'status': {'name': 'source', 'type': 'source',
                   'connector': {'state': 'FAILED', 'worker_id': 'w2:8083', 'trace': 'Boom'}, 'tasks': []},
        'info': {'name': 'source', 'type': 'source', 'tasks': [],
                 'config': {'connector.class': 'io.debezium.connector.sqlserver.SqlServerConnector',
                            'name': 'source', 'database.password': '${dir:/etc/kafka-connect/secrets:mssql}'}},
    },
}
PLUGINS = [{'class': 'io.debezium.connector.sqlserver.SqlServerConnector', 'type': 'source',
            'version': '3.6.1.Final'},
           {'class': 'io.debezium.connector.jdbc.JdbcSinkConnector', 'type': 'sink', 'version': '3.6.0.Final',
            'extra': 'ignored'}]
WORKER = {'version': '4.3.0', 'commit': 'a9ce3221537b8653', 'kafka_cluster_id': 'aOx91IvuTJC5NEFyXbNZAw'}


class FakeConnect:
    def __init__(self, listing=None, error=None):
        self.listing = LISTING if listing is None else listing
        self.error = error
        self.calls = []

    def __call__(self, method, path, body=None, query=None):
        self.calls.append((method, path, query))
        if self.error:
            raise self.error
        if path == '/connectors':
            return json.loads(json.dumps(self.listing))
        if path == '/connector-plugins':
            return PLUGINS
        if path == '/':
            return WORKER
        raise AssertionError(path)


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, fake, check=False):
        monkeypatch.setattr(ConnectClient, 'request',
                            lambda self, method, path, body=None, query=None: fake(method, path, body, query))
        args = dict({'url': 'http://c:8083'}, **args)
        args['_ansible_check_mode'] = check
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                connect_connector_info.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result['_rc'] = exc.value.code
        result['_out'] = out
        return result
    return run


def test_reports_everything(run_main):
    fake = FakeConnect()
    result = run_main({}, fake, check=True)
    assert result['_rc'] == 0 and result['changed'] is False
    assert fake.calls == [('GET', '/connectors', [('expand', 'status'), ('expand', 'info')]),
                          ('GET', '/connector-plugins', [('connectorsOnly', 'true')]),
                          ('GET', '/', None)]
    assert result['connectors'] == {
        'sink': {'type': 'sink', 'state': 'RUNNING', 'worker_id': 'w1:8083',
                 'tasks': [{'id': 0, 'state': 'RUNNING', 'worker_id': 'w1:8083'},
                           {'id': 1, 'state': 'FAILED', 'worker_id': 'w2:8083',
                            'trace': 'SQLException: password ******** rejected'}],
                 'config': {'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector', 'name': 'sink',
                            'connection.password': '********', 'connection.username': 'sluice'}},
        'source': {'type': 'source', 'state': 'FAILED', 'worker_id': 'w2:8083', 'trace': 'Boom', 'tasks': [],
                   'config': {'connector.class': 'io.debezium.connector.sqlserver.SqlServerConnector',
                              'name': 'source', 'database.password': '${dir:/etc/kafka-connect/secrets:mssql}'}},
    }
    assert result['plugins'] == [{'class': p['class'], 'type': p['type'], 'version': p['version']} for p in PLUGINS]
    assert result['worker'] == WORKER
    assert 'pg-hunter22' not in result['_out']


def test_names_select_connectors(run_main):
    result = run_main({'names': ['source', 'missing'], 'gather': ['connectors']}, FakeConnect())
    assert list(result['connectors']) == ['source']
    assert 'plugins' not in result and 'worker' not in result


def test_gather_subset(run_main):
    fake = FakeConnect()
    result = run_main({'gather': ['worker']}, fake)
    assert fake.calls == [('GET', '/', None)] and set(result) >= {'worker'} and 'connectors' not in result


def test_custom_secret_keys(run_main):
    result = run_main({'secret_keys': ['username$'], 'gather': ['connectors']}, FakeConnect())
    config = result['connectors']['sink']['config']
    assert config['connection.username'] == '********'
    assert config['connection.password'] == 'pg-hunter22'


def test_empty_cluster(run_main):
    result = run_main({'gather': ['connectors']}, FakeConnect(listing={}))
    assert result['connectors'] == {}


def test_connect_error(run_main):
    result = run_main({}, FakeConnect(error=ConnectError('cannot reach Kafka Connect at http://c:8083')))
    assert result['_rc'] == 1 and result['failed'] is True and result['changed'] is False
    assert result['msg'] == 'cannot reach Kafka Connect at http://c:8083'


def test_option_errors(run_main):
    fake = FakeConnect()
    assert run_main({'secret_keys': ['[']}, fake)['msg'].startswith("secret_keys: invalid regular expression '['")
    assert run_main({'request_timeout': 0}, fake)['msg'] == 'request_timeout must be a positive integer (got 0)'
    assert fake.calls == []


def test_make_client_passes_connection_options():
    client = connect_connector_info.make_client({
        'url': 'https://c:8443', 'validate_certs': False, 'ca_path': '/ca', 'client_cert': '/cert',
        'client_key': '/key', 'url_username': 'u', 'url_password': 'p', 'request_timeout': 4})
    assert (client.base_url, client.validate_certs, client.ca_path, client.client_cert, client.client_key,
            client.url_username, client.url_password, client.timeout) == (
        'https://c:8443', False, '/ca', '/cert', '/key', 'u', 'p', 4)
