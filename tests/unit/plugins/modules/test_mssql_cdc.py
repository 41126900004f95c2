# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for sluice.cdc.mssql_cdc: plans, the exact statements and bound parameters sent to a fake pyodbc
connection, check mode, diff and errors. No SQL Server runs here."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.mssql import MssqlError
from ansible_collections.sluice.cdc.plugins.modules import mssql_cdc
from ansible_collections.sluice.cdc.plugins.modules.mssql_cdc import PlanError, compute_plan

LSN1 = bytes.fromhex('0000002A000001F00003')
LSN2 = bytes.fromhex('0000003000000A100001')
READS = ('SELECT', 'DECLARE @sql')  # DECLARE only appears in CREATE LOGIN, checked separately


class FakeCursor:
    def __init__(self, conn):
        self.conn, self.description, self.rows = conn, None, []

    def execute(self, sql, *params):
        self.conn.sent.append((sql, params))
        answer = self.conn.answer(sql, params)
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            cols = list(answer[0].keys()) if answer else ['x']
            self.description = [(c, None) for c in cols]
            self.rows = [tuple(r[c] for c in cols) for r in answer]

    def fetchall(self):
        return self.rows

    def nextset(self):
        return False

    def close(self):
        pass


class FakeConn:
    """Answers SELECTs by SQL prefix; ``fail_on`` makes a write starting with that prefix fail."""

    def __init__(self, responses, fail_on=None):
        self.responses, self.fail_on, self.sent = responses, fail_on, []

    def answer(self, sql, params):
        if self.fail_on and sql.startswith(self.fail_on):
            return RuntimeError('[42000] boom')
        for prefix, rows in self.responses.items():
            if sql.startswith(prefix):
                return rows(params) if callable(rows) else rows
        return None

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.sent.append(('COMMIT', ()))

    def rollback(self):
        self.sent.append(('ROLLBACK', ()))

    def writes(self):
        return [(s, p) for s, p in self.sent if not s.startswith('SELECT')]


def server(enabled=True, instances=(), columns=(), jobs=(), tables=('orders', 'customers'), heartbeat_rows=1,
           login=False, user=False, perms=(), roles=(), view_server_state=False, recovery='FULL'):
    """Fake answers for a database whose state is described by the arguments."""
    existing = {'[dbo].[%s]' % t for t in tables}
    return {
        'SELECT d.name': [{'name': 'sluice_demo', 'is_cdc_enabled': enabled, 'recovery_model_desc': recovery}],
        'SELECT ct.capture_instance, cc.column_name': list(columns),
        'SELECT OBJECT_SCHEMA_NAME(ct.source_object_id)': [
            {'source_schema': 'dbo', 'source_table': t, 'capture_instance': ci, 'start_lsn': lsn, 'create_date': None,
             'supports_net_changes': 0, 'role_name': None, 'filegroup_name': None, 'object_id': n}
            for n, (t, ci, lsn) in enumerate(instances)],
        'SELECT j.job_type': list(jobs),
        "SELECT OBJECT_ID(?, N'U')": lambda p: [{'object_id': 1 if p[0] in existing else None}],
        'SELECT COUNT(*) AS n': [{'n': heartbeat_rows}],
        'SELECT p.name FROM sys.server_principals': [{'name': 'x'}] if login else [],
        'SELECT p.name FROM sys.database_principals': [{'name': 'x'}] if user else [],
        'SELECT p.permission_name': list(perms),
        'SELECT r.name': [{'name': r} for r in roles],
        'SELECT sp.permission_name': [{'permission_name': 'VIEW SERVER STATE'}] if view_server_state else [],
    }


def params(**overrides):
    base = {'state': 'present', 'tables': [], 'enable_database': True, 'signal_table': None, 'heartbeat_table': None,
            'capture_job': None, 'cleanup_job': None, 'reader': None, 'database': 'sluice_demo'}
    base.update(overrides)
    return base


def tbl(name, **kw):
    return dict({'name': name, 'capture_instance': None, 'role_name': None, 'filegroup': None,
                 'captured_columns': None}, **kw)


def state(enabled=True, tables=None, existing=('dbo.orders', 'dbo.customers'), jobs=None, **extra):
    return dict({'database': 'sluice_demo', 'is_cdc_enabled': enabled, 'recovery_model': 'FULL',
                 'tables': tables or {}, 'jobs': jobs or {}, 'existing_tables': list(existing)}, **extra)


def inst(ci, lsn='0x01'):
    return {'capture_instance': ci, 'start_lsn': lsn, 'columns': []}


# -- plans (pure) ----------------------------------------------------------------------------------

def test_plan_nothing_to_do():
    current = state(tables={'dbo.orders': [inst('dbo_orders')]})
    assert compute_plan(params(tables=[tbl('dbo.orders')]), current) == []
    assert compute_plan(params(tables=[tbl('DBO.Orders', capture_instance='DBO_ORDERS')]), current) == []


def test_plan_db_not_enabled():
    plan = compute_plan(params(tables=[tbl('orders')]), state(enabled=False))
    assert plan == [{'action': 'enable_db'},
                    {'action': 'enable_table', 'table': 'dbo.orders', 'capture_instance': 'dbo_orders',
                     'role_name': None, 'filegroup': None, 'captured_columns': None}]


def test_plan_db_not_enabled_and_not_allowed():
    with pytest.raises(PlanError, match='^CDC is not enabled on database sluice_demo and enable_database is false$'):
        compute_plan(params(enable_database=False), state(enabled=False))


def test_plan_table_not_enabled_with_options():
    plan = compute_plan(params(tables=[tbl('dbo.customers', capture_instance='cust_v1', role_name='cdc_reader',
                                           filegroup='CDC', captured_columns=['id', 'email'])]),
                        state(tables={'dbo.orders': [inst('dbo_orders')]}))
    assert plan == [{'action': 'enable_table', 'table': 'dbo.customers', 'capture_instance': 'cust_v1',
                     'role_name': 'cdc_reader', 'filegroup': 'CDC', 'captured_columns': ['id', 'email']}]


def test_plan_second_instance_is_created():
    plan = compute_plan(params(tables=[tbl('dbo.orders', capture_instance='dbo_orders_v2')]),
                        state(tables={'dbo.orders': [inst('dbo_orders')]}))
    assert [a['capture_instance'] for a in plan] == ['dbo_orders_v2']


def test_plan_refuses_a_third_instance():
    current = state(tables={'dbo.orders': [inst('dbo_orders'), inst('dbo_orders_v2')]})
    with pytest.raises(PlanError) as exc:
        compute_plan(params(tables=[tbl('dbo.orders', capture_instance='dbo_orders_v3')]), current)
    assert str(exc.value) == ('table dbo.orders already has 2 capture instances (dbo_orders, dbo_orders_v2); SQL Server '
                              'allows at most two: drop one (state=absent) before creating dbo_orders_v3')
    # naming one of the two existing instances is fine
    assert compute_plan(params(tables=[tbl('dbo.orders', capture_instance='dbo_orders_v2')]), current) == []


def test_plan_missing_table_fails_before_anything():
    with pytest.raises(PlanError, match='^table\\(s\\) not found in database sluice_demo: dbo.nope$'):
        compute_plan(params(tables=[tbl('dbo.nope'), tbl('dbo.orders')]), state(enabled=False))


@pytest.mark.parametrize('spec, message', [
    (tbl('a.b.c'), 'cannot parse table name'),
    (tbl('dbo.orders', capture_instance='x' * 101), 'capture_instance of dbo.orders must be 1 to 100 characters'),
    (tbl('dbo.orders', capture_instance='   '), 'must be 1 to 100'),
    (tbl('dbo.orders', captured_columns=['a\x00']), 'table dbo.orders: identifier'),
])
def test_plan_invalid_table_specs(spec, message):
    with pytest.raises(PlanError, match=message):
        compute_plan(params(tables=[spec]), state())


def test_plan_absent():
    current = state(tables={'dbo.orders': [inst('dbo_orders'), inst('dbo_orders_v2')]})
    assert compute_plan(params(state='absent', tables=[tbl('dbo.orders', capture_instance='dbo_orders'),
                                                       tbl('dbo.customers', capture_instance='dbo_customers')]),
                        current) == [{'action': 'disable_instance', 'table': 'dbo.orders',
                                      'capture_instance': 'dbo_orders'}]
    assert compute_plan(params(state='absent', tables=[tbl('dbo.orders', capture_instance='x')]),
                        state(enabled=False)) == []
    with pytest.raises(PlanError, match='capture_instance is required for table dbo.orders with state=absent'):
        compute_plan(params(state='absent', tables=[tbl('dbo.orders')]), current)


def test_plan_info_is_empty():
    assert compute_plan(params(state='info', tables=[tbl('dbo.orders')]), state(enabled=False)) == []


def test_plan_support_tables():
    plan = compute_plan(params(signal_table='dbo.debezium_signal', heartbeat_table='dbo.sluice_heartbeat',
                               tables=[tbl('dbo.debezium_signal'), tbl('dbo.sluice_heartbeat')]),
                        state(heartbeat_row=False))
    assert [(a['action'], a.get('table')) for a in plan] == [
        ('create_table', 'dbo.debezium_signal'), ('create_table', 'dbo.sluice_heartbeat'),
        ('seed_heartbeat', 'dbo.sluice_heartbeat'), ('enable_table', 'dbo.debezium_signal'),
        ('enable_table', 'dbo.sluice_heartbeat')]
    done = state(existing=['dbo.debezium_signal', 'dbo.sluice_heartbeat'], heartbeat_row=True,
                 tables={'dbo.debezium_signal': [inst('a')], 'dbo.sluice_heartbeat': [inst('b')]})
    assert compute_plan(params(signal_table='dbo.debezium_signal', heartbeat_table='dbo.sluice_heartbeat',
                               tables=[tbl('dbo.debezium_signal'), tbl('dbo.sluice_heartbeat')]), done) == []
    with pytest.raises(PlanError, match='^signal_table: cannot parse'):
        compute_plan(params(signal_table='a.b.c'), state())


def test_plan_jobs():
    current = state(jobs={'capture': {'pollinginterval': 5, 'maxtrans': 500, 'maxscans': 10},
                          'cleanup': {'retention': 4320}})
    assert compute_plan(params(capture_job={'pollinginterval': 5, 'maxtrans': None, 'maxscans': 10},
                               cleanup_job={'retention': 4320}), current) == []
    assert compute_plan(params(capture_job={'pollinginterval': 1, 'maxtrans': 500, 'maxscans': 20},
                               cleanup_job={'retention': 10080}), current) == [
        {'action': 'change_job', 'job_type': 'capture', 'set': {'maxscans': 20, 'pollinginterval': 1}},
        {'action': 'restart_job', 'job_type': 'capture'},
        {'action': 'change_job', 'job_type': 'cleanup', 'set': {'retention': 10080}}]
    with pytest.raises(PlanError, match='cleanup_job.retention must not be negative'):
        compute_plan(params(cleanup_job={'retention': -1}), current)


READER = {'login': 'sluice_debezium', 'password': 's3cret', 'user': None, 'view_server_state': True,
          'signal_table': 'dbo.debezium_signal', 'heartbeat_table': 'dbo.sluice_heartbeat'}


def test_plan_reader_from_scratch():
    plan = compute_plan(params(reader=READER, tables=[tbl('dbo.orders', role_name='cdc_reader'),
                                                      tbl('dbo.customers', role_name='cdc_reader')]),
                        state(tables={'dbo.orders': [inst('a')], 'dbo.customers': [inst('b')]}))
    assert plan == [
        {'action': 'create_login', 'login': 'sluice_debezium'},
        {'action': 'create_user', 'user': 'sluice_debezium', 'login': 'sluice_debezium'},
        {'action': 'grant', 'permission': 'SELECT', 'class': 'OBJECT', 'on': 'dbo.orders', 'user': 'sluice_debezium'},
        {'action': 'grant', 'permission': 'SELECT', 'class': 'OBJECT', 'on': 'dbo.customers',
         'user': 'sluice_debezium'},
        {'action': 'grant', 'permission': 'SELECT', 'class': 'SCHEMA', 'on': 'cdc', 'user': 'sluice_debezium'},
        {'action': 'grant', 'permission': 'INSERT', 'class': 'OBJECT', 'on': 'dbo.debezium_signal',
         'user': 'sluice_debezium'},
        {'action': 'grant', 'permission': 'UPDATE', 'class': 'OBJECT', 'on': 'dbo.sluice_heartbeat',
         'user': 'sluice_debezium'},
        {'action': 'add_role_member', 'role': 'cdc_reader', 'user': 'sluice_debezium'},
        {'action': 'grant_server', 'permission': 'VIEW SERVER STATE', 'login': 'sluice_debezium'}]


def test_plan_reader_already_complete():
    have = {'login': True, 'user': True, 'roles': ['CDC_reader'], 'view_server_state': True,
            'permissions': [['SELECT', 'OBJECT', 'dbo.Orders'], ['SELECT', 'SCHEMA', 'cdc'],
                            ['INSERT', 'OBJECT', 'dbo.debezium_signal'], ['UPDATE', 'OBJECT', 'dbo.sluice_heartbeat']]}
    assert compute_plan(params(reader=READER, tables=[tbl('dbo.orders', role_name='cdc_reader')]),
                        state(tables={'dbo.orders': [inst('a')]}, reader=have)) == []


def test_plan_reader_errors():
    with pytest.raises(PlanError, match='^reader.password is required to create login sluice_debezium$'):
        compute_plan(params(reader=dict(READER, password=None)), state())
    with pytest.raises(PlanError, match='^reader: identifier'):
        compute_plan(params(reader=dict(READER, user='x' * 200)), state())
    with pytest.raises(PlanError, match='^reader.signal_table: cannot parse'):
        compute_plan(params(reader=dict(READER, signal_table='a.b.c')), state())
    with pytest.raises(PlanError, match='^reader.heartbeat_table: cannot parse'):
        compute_plan(params(reader=dict(READER, heartbeat_table='a.b.c')), state())


def test_plan_reader_without_view_server_state():
    have = {'login': True, 'user': True, 'permissions': [['SELECT', 'SCHEMA', 'cdc']]}
    plan = compute_plan(params(reader=dict(READER, view_server_state=False, signal_table=None, heartbeat_table=None)),
                        state(reader=have))
    assert plan == []


# -- statements per action -------------------------------------------------------------------------

def test_statements_for_every_action():
    p = params(reader=READER)
    got = {a['action'] + ':' + a.get('kind', a.get('permission', '')): [tuple(s) for s in mssql_cdc.statements_for(a, p)]
           for a in [
               {'action': 'enable_db'},
               {'action': 'create_table', 'table': 'dbo.debezium_signal', 'kind': 'signal'},
               {'action': 'create_table', 'table': 'dbo.sluice_heartbeat', 'kind': 'heartbeat'},
               {'action': 'seed_heartbeat', 'table': 'dbo.sluice_heartbeat'},
               {'action': 'disable_instance', 'table': 'dbo.orders', 'capture_instance': 'dbo_orders'},
               {'action': 'restart_job', 'job_type': 'capture'},
               {'action': 'create_login', 'login': 'sluice_debezium'},
               {'action': 'grant', 'permission': 'SELECT', 'class': 'SCHEMA', 'on': 'cdc', 'user': 'u'},
               {'action': 'grant', 'permission': 'INSERT', 'class': 'OBJECT', 'on': 'dbo.debezium_signal', 'user': 'u'},
               {'action': 'grant_server', 'permission': 'VIEW SERVER STATE', 'login': 'sluice_debezium'},
               {'action': 'grant', 'permission': 'UPDATE', 'class': 'OBJECT', 'on': 'dbo.sluice_heartbeat', 'user': 'u'},
           ]}
    assert got == {
        'enable_db:': [('EXEC sys.sp_cdc_enable_db', ())],
        'create_table:signal': [('CREATE TABLE [dbo].[debezium_signal] (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) '
                                 'NOT NULL, data VARCHAR(2048) NULL)', ())],
        'create_table:heartbeat': [('CREATE TABLE [dbo].[sluice_heartbeat] (id INT PRIMARY KEY, ts DATETIME2(7) '
                                    'NOT NULL)', ())],
        'seed_heartbeat:': [('INSERT INTO [dbo].[sluice_heartbeat] (id, ts) SELECT 1, SYSUTCDATETIME() WHERE NOT '
                             'EXISTS (SELECT 1 FROM [dbo].[sluice_heartbeat] WHERE id = 1)', ())],
        'disable_instance:': [('EXEC sys.sp_cdc_disable_table @source_schema = ?, @source_name = ?, '
                               '@capture_instance = ?', ('dbo', 'orders', 'dbo_orders'))],
        'restart_job:': [('EXEC sys.sp_cdc_stop_job @job_type = ?', ('capture',)),
                         ('EXEC sys.sp_cdc_start_job @job_type = ?', ('capture',))],
        'create_login:': [tuple(mssql.s_create_login('sluice_debezium', 's3cret'))],
        'grant:SELECT': [('GRANT SELECT ON SCHEMA::[cdc] TO [u]', ())],
        'grant:INSERT': [('GRANT INSERT ON OBJECT::[dbo].[debezium_signal] TO [u]', ())],
        'grant:UPDATE': [('GRANT UPDATE ON OBJECT::[dbo].[sluice_heartbeat] TO [u]', ())],
        'grant_server:VIEW SERVER STATE': [('EXEC master.sys.sp_executesql ?',
                                            ('GRANT VIEW SERVER STATE TO [sluice_debezium]',))],
    }


# -- main() through AnsibleModule -------------------------------------------------------------------

CONN_ARGS = {'database': 'sluice_demo', 'login_host': 'sql1', 'login_user': 'sa', 'login_password': 'adm1n-pw'}


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, fake, check=False, diff=False, module=mssql_cdc):
        seen = []

        def factory(p):
            seen.append(p)
            if isinstance(fake, Exception):
                raise fake
            return mssql.Connection(fake)

        monkeypatch.setattr(module, 'make_connection', factory)
        args = dict(CONN_ARGS, **args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                module.main()
        result = json.loads(capsys.readouterr().out)
        result['_rc'] = exc.value.code
        result['_params'] = seen[0] if seen else None
        return result
    return run


def test_main_enables_db_and_table(run_main):
    fake = FakeConn(server(enabled=False))
    result = run_main({'tables': [{'name': 'dbo.orders'}]}, fake, diff=True)
    assert result['_rc'] == 0 and result['changed'] is True
    assert fake.writes() == [
        ('EXEC sys.sp_cdc_enable_db', ()),
        ('EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, @capture_instance = ?, '
         '@supports_net_changes = 0', ('dbo', 'orders', None, 'dbo_orders'))]
    assert result['statements'] == [{'sql': s, 'params': list(p)} for s, p in fake.writes()]
    assert result['diff']['before']['is_cdc_enabled'] is False
    assert result['_params']['login_port'] == 1433 and result['_params']['encrypt'] is True
    assert result['_params']['trust_server_certificate'] is False
    assert result['_params']['odbc_driver'] == 'ODBC Driver 18 for SQL Server'


def test_main_check_mode_sends_no_write(run_main):
    fake = FakeConn(server(enabled=False, tables=('orders',)))
    result = run_main({'tables': [{'name': 'dbo.orders', 'role_name': 'cdc_reader'}],
                       'signal_table': 'dbo.debezium_signal', 'heartbeat_table': 'dbo.sluice_heartbeat',
                       'capture_job': {'pollinginterval': 1}, 'cleanup_job': {'retention': 4320},
                       'reader': {'login': 'sluice_debezium', 'password': 'r3ader-pw',
                                  'signal_table': 'dbo.debezium_signal'}}, fake, check=True, diff=True)
    assert result['_rc'] == 0 and result['changed'] is True
    assert all(sql.startswith('SELECT') for sql, _p in fake.sent), fake.writes()
    assert fake.writes() == []
    assert [a['action'] for a in result['plan']] == [
        'enable_db', 'create_table', 'create_table', 'seed_heartbeat', 'enable_table', 'change_job', 'restart_job',
        'change_job', 'create_login', 'create_user', 'grant', 'grant', 'grant', 'add_role_member', 'grant_server']
    assert result['diff']['before']['is_cdc_enabled'] is False
    assert result['diff']['after'] == result['cdc']
    assert result['cdc']['is_cdc_enabled'] is True
    assert result['cdc']['tables']['dbo.orders'][0]['capture_instance'] == 'dbo_orders'
    assert result['cdc']['jobs'] == {'capture': {'pollinginterval': 1}, 'cleanup': {'retention': 4320}}
    assert result.pop('_params')['reader']['password'] == 'r3ader-pw'
    dumped = json.dumps(result)
    assert 'r3ader-pw' not in dumped and 'adm1n-pw' not in dumped and '********' in dumped


def test_main_noop(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)],
                           columns=[{'capture_instance': 'dbo_orders', 'column_name': 'id', 'column_ordinal': 1}]))
    result = run_main({'tables': [{'name': 'dbo.orders'}]}, fake, diff=True)
    assert result['changed'] is False and result['plan'] == [] and fake.writes() == []
    assert result['diff']['before'] == result['diff']['after'] == result['cdc']
    assert result['cdc']['tables']['dbo.orders'] == [{
        'capture_instance': 'dbo_orders', 'start_lsn': '0x0000002A000001F00003', 'create_date': None,
        'role_name': None, 'filegroup_name': None, 'supports_net_changes': False, 'columns': ['id']}]


def test_main_reader_grants_statements(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)], login=True, user=True,
                           perms=[{'permission_name': 'SELECT', 'class_desc': 'OBJECT_OR_COLUMN',
                                   'schema_name': 'dbo', 'object_name': 'orders'},
                                  {'permission_name': 'SELECT', 'class_desc': 'DATABASE', 'schema_name': None,
                                   'object_name': None},
                                  {'permission_name': 'SELECT', 'class_desc': 'OBJECT_OR_COLUMN',
                                   'schema_name': None, 'object_name': None}],
                           roles=['cdc_reader']))
    result = run_main({'tables': [{'name': 'dbo.orders', 'role_name': 'cdc_reader'}],
                       'reader': {'login': 'sluice_debezium'}}, fake)
    assert result['changed'] is True
    assert fake.writes() == [('GRANT SELECT ON SCHEMA::[cdc] TO [sluice_debezium]', ()),
                             ('EXEC master.sys.sp_executesql ?', ('GRANT VIEW SERVER STATE TO [sluice_debezium]',))]
    reads = [(s, p) for s, p in fake.sent if s.startswith('SELECT p.') or s.startswith('SELECT r.')
             or s.startswith('SELECT sp.')]
    assert [p for _s, p in reads] == [('sluice_debezium',)] * 4 + [('sluice_debezium', 'VIEW SERVER STATE')]


def test_main_create_login_binds_the_password(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)], user=True, view_server_state=True,
                           perms=[{'permission_name': 'SELECT', 'class_desc': 'SCHEMA', 'schema_name': 'cdc',
                                   'object_name': None},
                                  {'permission_name': 'SELECT', 'class_desc': 'OBJECT_OR_COLUMN',
                                   'schema_name': 'dbo', 'object_name': 'orders'}]))
    result = run_main({'tables': [{'name': 'dbo.orders'}],
                       'reader': {'login': 'sluice_debezium', 'password': "it's-s3cret"}}, fake)
    assert fake.writes() == [(mssql.s_create_login('sluice_debezium', "it's-s3cret").sql,
                              ('sluice_debezium', "it's-s3cret"))]
    assert result['statements'][0]['params'] == ['sluice_debezium', '********']
    del result['_params']
    assert "it's-s3cret" not in json.dumps(result)


def test_main_second_instance_and_absent(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)]))
    run_main({'tables': [{'name': 'dbo.orders', 'capture_instance': 'dbo_orders_v2', 'captured_columns': ['id']}]},
             fake)
    assert fake.writes() == [
        ('EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, @capture_instance = ?, '
         '@supports_net_changes = 0, @captured_column_list = ?', ('dbo', 'orders', None, 'dbo_orders_v2', '[id]'))]
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1), ('orders', 'dbo_orders_v2', LSN2)]))
    result = run_main({'state': 'absent', 'tables': [{'name': 'dbo.orders', 'capture_instance': 'dbo_orders'}]},
                      fake, diff=True)
    assert fake.writes() == [('EXEC sys.sp_cdc_disable_table @source_schema = ?, @source_name = ?, '
                              '@capture_instance = ?', ('dbo', 'orders', 'dbo_orders'))]
    assert result['changed'] is True


def test_main_absent_check_mode_predicts(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)]))
    result = run_main({'state': 'absent', 'tables': [{'name': 'dbo.orders', 'capture_instance': 'dbo_orders'}]},
                      fake, check=True)
    assert fake.writes() == [] and result['changed'] is True and result['cdc']['tables'] == {}


def test_main_third_instance_refused(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1), ('orders', 'dbo_orders_v2', LSN2)]))
    result = run_main({'tables': [{'name': 'dbo.orders', 'capture_instance': 'dbo_orders_v3'}]}, fake)
    assert result['_rc'] == 1 and result['changed'] is False
    assert result['msg'].startswith('table dbo.orders already has 2 capture instances (dbo_orders, dbo_orders_v2)')
    assert fake.writes() == []


def test_main_info(run_main):
    fake = FakeConn(server(instances=[('orders', 'dbo_orders', LSN1)],
                           jobs=[{'job_type': 'cleanup', 'maxtrans': 0, 'maxscans': 0, 'continuous': 0,
                                  'pollinginterval': 0, 'retention': 4320, 'threshold': 5000}]))
    result = run_main({'state': 'info', 'tables': [{'name': 'dbo.orders'}]}, fake, check=True)
    assert result['changed'] is False and result['plan'] == [] and fake.writes() == []
    assert result['cdc']['jobs']['cleanup']['retention'] == 4320
    assert not any('OBJECT_ID' in s for s, _p in fake.sent)


def test_main_connection_error_is_clear(run_main):
    error = MssqlError("cannot connect to SQL Server sql1:1433 (database sluice_demo) as sa with driver "
                       "'ODBC Driver 18 for SQL Server': [08001] Login timeout expired")
    result = run_main({'tables': [{'name': 'dbo.orders'}]}, error, check=True)
    assert result['_rc'] == 1 and result['failed'] is True and result['changed'] is False
    assert result['msg'] == str(error)


def test_main_real_connect_failure_through_freetds(run_main, monkeypatch, capsys):
    """No fake: the module opens a real pyodbc/FreeTDS connection to an unresolvable host, in check mode."""
    args = dict(CONN_ARGS, login_host='sqlserver.invalid', odbc_driver='FreeTDS', timeout=2,
                tables=[{'name': 'dbo.orders'}], _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mssql_cdc.main()
    result = json.loads(capsys.readouterr().out)
    assert exc.value.code == 1 and result['changed'] is False
    assert result['msg'].startswith("cannot connect to SQL Server sqlserver.invalid:1433 (database sluice_demo) as sa "
                                    "with driver 'FreeTDS': ")
    assert 'adm1n-pw' not in json.dumps(result)


def test_main_apply_error_reports_progress(run_main):
    fake = FakeConn(server(enabled=False), fail_on='EXEC sys.sp_cdc_enable_table')
    result = run_main({'tables': [{'name': 'dbo.orders'}]}, fake)
    assert result['_rc'] == 1 and result['changed'] is True
    assert result['msg'] == ('statement failed: EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, '
                             '@role_name = ?, @capture_instance = ?, @supports_net_changes = 0: [42000] boom')
    assert result['applied'] == [{'action': 'enable_db'}]


def test_main_read_back_error(run_main):
    calls = []

    def db(_p):
        calls.append(1)
        if len(calls) > 1:
            return RuntimeError('gone')
        return [{'name': 'sluice_demo', 'is_cdc_enabled': False, 'recovery_model_desc': 'FULL'}]

    responses = server(enabled=False)
    responses['SELECT d.name'] = db
    result = run_main({'tables': [{'name': 'dbo.orders'}]}, FakeConn(responses))
    assert result['_rc'] == 1 and result['changed'] is True
    assert result['msg'].startswith('applied the plan but could not read the state back: query failed')


def test_main_heartbeat_row_present(run_main):
    fake = FakeConn(server(tables=('orders', 'sluice_heartbeat'), heartbeat_rows=0,
                           instances=[('sluice_heartbeat', 'dbo_sluice_heartbeat', LSN1)]))
    run_main({'heartbeat_table': 'dbo.sluice_heartbeat', 'tables': [{'name': 'dbo.sluice_heartbeat'}]}, fake)
    assert fake.writes() == [('INSERT INTO [dbo].[sluice_heartbeat] (id, ts) SELECT 1, SYSUTCDATETIME() WHERE NOT '
                              'EXISTS (SELECT 1 FROM [dbo].[sluice_heartbeat] WHERE id = 1)', ())]


def test_main_missing_pyodbc(run_main, monkeypatch):
    monkeypatch.setattr(mssql, 'HAS_PYODBC', False)
    result = run_main({}, FakeConn(server()))
    assert result['failed'] is True and 'pyodbc' in result['msg'] and result['_params'] is None


def test_make_connection_uses_mssql_connect(monkeypatch):
    monkeypatch.setattr(mssql, 'connect', lambda p: ('connected', p['login_host']))
    assert mssql_cdc.make_connection({'login_host': 'h'}) == ('connected', 'h')


def test_predict_disable_keeps_other_tables():
    current = state(tables={'dbo.orders': [inst('a'), inst('b')], 'dbo.customers': [inst('c')]})
    after = mssql_cdc.predict(current, [{'action': 'disable_instance', 'table': 'dbo.orders', 'capture_instance': 'A'}])
    assert [i['capture_instance'] for i in after['tables']['dbo.orders']] == ['b']
    assert current['tables']['dbo.orders'][0]['capture_instance'] == 'a'


# -- schema change (DDL + marker in one transaction) ------------------------------------------------

DDL = ['ALTER TABLE dbo.orders ADD note nvarchar(200) NULL', 'CREATE INDEX ix_note ON dbo.orders (note)']
MARK = ("EXEC sys.sp_addextendedproperty @name = ?, @value = ?, @level0type = N'SCHEMA', @level0name = ?, "
        "@level1type = N'TABLE', @level1name = ?")


def with_marker(value, **kw):
    responses = server(instances=[('orders', 'dbo_orders', LSN1)], **kw)
    responses['SELECT CAST(ep.value'] = [{'value': value}] if value else []
    return FakeConn(responses)


def test_schema_change_applies_ddl_and_marker_atomically_then_the_new_instance(run_main):
    fake = with_marker(None)
    change = {'table': 'dbo.orders', 'new_instance': 'dbo_orders_v2', 'ddl': DDL}
    result = run_main({'schema_change': change,
                       'tables': [{'name': 'dbo.orders', 'capture_instance': 'dbo_orders_v2'}]}, fake)
    assert result['_rc'] == 0 and result['changed'] is True
    assert [a['action'] for a in result['plan']] == ['apply_ddl', 'enable_table']
    assert fake.writes() == [
        (DDL[0], ()), (DDL[1], ()), (MARK, ('sluice_schema_change', 'dbo_orders_v2', 'dbo', 'orders')), ('COMMIT', ()),
        ('EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, @capture_instance = ?, '
         '@supports_net_changes = 0', ('dbo', 'orders', None, 'dbo_orders_v2'))]
    marker_query = [p for s, p in fake.sent if s.startswith('SELECT CAST(ep.value')]
    assert marker_query == [('[dbo].[orders]', 'sluice_schema_change')]


def test_schema_change_already_marked_is_a_no_op_and_an_old_marker_is_updated(run_main):
    change = {'table': 'orders', 'new_instance': 'DBO_ORDERS_V2', 'ddl': DDL}
    fake = with_marker('dbo_orders_v2')
    result = run_main({'schema_change': change}, fake)
    assert result['_rc'] == 0 and result['changed'] is False and fake.writes() == []
    fake = with_marker('dbo_orders_v1')
    result = run_main({'schema_change': change}, fake)
    assert result['changed'] is True and fake.writes()[2][0].startswith('EXEC sys.sp_updateextendedproperty')


def test_schema_change_failure_rolls_back_and_check_mode_writes_nothing(run_main):
    fake = with_marker(None)
    fake.fail_on = 'CREATE INDEX'
    result = run_main({'schema_change': {'table': 'dbo.orders', 'new_instance': 'v2', 'ddl': DDL}}, fake)
    assert result['_rc'] == 1 and 'statement failed: CREATE INDEX' in result['msg'] and result['applied'] == []
    assert fake.writes() == [(DDL[0], ()), (DDL[1], ()), ('ROLLBACK', ())]
    fake = with_marker(None)
    result = run_main({'schema_change': {'table': 'dbo.orders', 'new_instance': 'v2', 'ddl': DDL}}, fake, check=True)
    assert result['changed'] is True and result['plan'][0]['action'] == 'apply_ddl' and fake.writes() == []
    assert [s['sql'] for s in result['statements']] == DDL + [MARK]


@pytest.mark.parametrize('change, message', [
    ({'table': 'dbo.orders', 'new_instance': 'v2', 'ddl': []}, 'non-empty statements'),
    ({'table': 'dbo.orders', 'new_instance': 'v2', 'ddl': ['  ']}, 'non-empty statements'),
    ({'table': 'a.b.c', 'new_instance': 'v2', 'ddl': DDL}, 'schema_change.table'),
])
def test_schema_change_validation(change, message):
    with pytest.raises(mssql_cdc.PlanError, match=message):
        mssql_cdc.compute_plan(params(schema_change=change), state())
