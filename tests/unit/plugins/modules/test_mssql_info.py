# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for sluice.cdc.mssql_info (read-only facts and preflight findings) against a fake pyodbc connection."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from test_mssql_cdc import LSN1, FakeConn, server  # sibling test module (pytest's default import mode)

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.mssql import MssqlError
from ansible_collections.sluice.cdc.plugins.modules import mssql_info

CONN_ARGS = {'database': 'sluice_demo', 'login_host': 'sql1', 'login_user': 'sa', 'login_password': 'adm1n-pw'}


def facts(agent='Running', version='16.0.4135.4', **kw):
    responses = server(**kw)
    responses["SELECT CAST(SERVERPROPERTY"] = [{'product_version': version, 'edition': 'Developer Edition (64-bit)',
                                                'engine_edition': 3}]
    responses['SELECT s.servicename'] = [{'servicename': 'SQL Server Agent (MSSQLSERVER)', 'status_desc': agent}]
    return FakeConn(responses)


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, fake, check=False):
        def factory(_p):
            if isinstance(fake, Exception):
                raise fake
            return mssql.Connection(fake)

        monkeypatch.setattr(mssql_info, 'make_connection', factory)
        with patch_module_args(dict(CONN_ARGS, _ansible_check_mode=check, **args)):
            with pytest.raises(SystemExit) as exc:
                mssql_info.main()
        result = json.loads(capsys.readouterr().out)
        result['_rc'] = exc.value.code
        return result
    return run


def test_info_without_preflight(run_main):
    fake = facts(instances=[('orders', 'dbo_orders', LSN1)])
    result = run_main({}, fake, check=True)
    assert result['_rc'] == 0 and result['changed'] is False and 'findings' not in result
    assert result['server'] == {'product_version': '16.0.4135.4', 'edition': 'Developer Edition (64-bit)',
                                'engine_edition': 3, 'agent_status': 'Running'}
    assert result['cdc']['tables']['dbo.orders'][0]['start_lsn'] == '0x0000002A000001F00003'
    assert fake.writes() == []


def test_info_preflight_findings(run_main):
    fake = facts(agent='Stopped', recovery='SIMPLE', instances=[('orders', 'dbo_orders', LSN1)],
                 jobs=[{'job_type': 'cleanup', 'maxtrans': 0, 'maxscans': 0, 'continuous': 0, 'pollinginterval': 0,
                        'retention': 60, 'threshold': 5000}])
    result = run_main({'preflight': {'max_outage': 1440, 'tables': ['orders', 'dbo.customers'],
                                     'require_cdc_enabled': True}}, fake)
    assert [(f['check'], f['severity']) for f in result['findings']] == [
        ('agent', 'error'), ('recovery_model', 'warning'), ('retention', 'error'), ('cdc', 'error')]
    assert result['findings'][-1]['msg'] == 'CDC is not enabled on table(s): dbo.customers'


def test_info_preflight_clean(run_main):
    result = run_main({'preflight': {'max_outage': 60, 'retention': 4320}}, facts(enabled=False))
    assert result['findings'] == []


def test_info_connection_error(run_main):
    result = run_main({}, MssqlError('cannot connect to SQL Server sql1:1433 (database sluice_demo) as sa with '
                                     "driver 'FreeTDS': Unable to connect to data source"))
    assert result['_rc'] == 1 and result['msg'].startswith('cannot connect to SQL Server sql1:1433')


def test_info_missing_pyodbc(run_main, monkeypatch):
    monkeypatch.setattr(mssql, 'HAS_PYODBC', False)
    assert 'pyodbc' in run_main({}, facts())['msg']


def test_make_connection(monkeypatch):
    monkeypatch.setattr(mssql, 'connect', lambda p: 'conn')
    assert mssql_info.make_connection({}) == 'conn'


# -- rotation --------------------------------------------------------------------------------------

LSN2 = bytes.fromhex('0000003000000A100001')


def test_rotation_wait_then_drop(run_main):
    fake = facts(instances=[('orders', 'dbo_orders', LSN1), ('orders', 'dbo_orders_v2', LSN2)])
    offsets = {'offsets': [{'partition': {'server': 'sluice', 'database': 'sluice_demo'},
                            'offset': {'commit_lsn': '00000030:00000a00:0001'}}]}
    result = run_main({'rotation': {'table': 'orders', 'new_instance': 'dbo_orders_v2', 'connector_offsets': offsets}},
                      fake)
    rot = result['rotation']
    assert (rot['state'], rot['old_instance'], rot['new_start_lsn'], rot['connector_lsn']) == (
        'wait_connector_switched', 'dbo_orders', '0x0000003000000A100001', '00000030:00000a00:0001')
    assert rot['steps'][1].startswith('-> wait_connector_switched')
    offsets['offsets'][0]['offset']['commit_lsn'] = '00000030:00000a10:0001'
    result = run_main({'rotation': {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v2',
                                    'connector_offsets': offsets}}, fake)
    assert result['rotation']['state'] == 'drop_old_instance'
    assert fake.writes() == []


def test_rotation_refuses_third_instance(run_main):
    fake = facts(instances=[('orders', 'dbo_orders', LSN1), ('orders', 'dbo_orders_v2', LSN2)])
    result = run_main({'rotation': {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v3', 'ddl_applied': True}},
                      fake)
    assert result['_rc'] == 1 and 'already has two capture instances' in result['msg']


def test_rotation_of_uncaptured_table(run_main):
    result = run_main({'rotation': {'table': 'dbo.customers', 'new_instance': 'x'}}, facts())
    assert result['_rc'] == 1 and 'has no capture instance' in result['msg']


def test_rotation_sees_ddl_applied_through_the_marker(run_main):
    fake = facts(instances=[('orders', 'dbo_orders', LSN1)])
    result = run_main({'rotation': {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v2'}}, fake)
    assert result['rotation']['state'] == 'apply_ddl' and result['rotation']['ddl_marker'] is None
    fake.responses['SELECT CAST(ep.value'] = [{'value': 'dbo_orders_v2'}]
    result = run_main({'rotation': {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v2'}}, fake)
    assert result['rotation']['state'] == 'create_new_instance' and result['rotation']['ddl_marker'] == 'dbo_orders_v2'
    fake.responses['SELECT CAST(ep.value'] = [{'value': 'dbo_orders_v1'}]  # a previous rotation's marker
    result = run_main({'rotation': {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v2'}}, fake)
    assert result['rotation']['state'] == 'apply_ddl'
