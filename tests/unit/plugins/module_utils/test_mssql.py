# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of module_utils/mssql.py: quoting, statements (exact text and bound parameters), the connection wrapper
against a fake pyodbc, state readers and the preflight decision logic. No SQL Server runs here."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.mssql import MssqlError, Statement


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self.rows = []
        self.closed = False

    def execute(self, sql, *params):
        self.conn.sent.append((sql, params))
        answer = self.conn.answer(sql, params)
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            self.description, self.rows = None, []
        else:
            cols = list(answer[0].keys()) if answer else ['x']
            self.description = [(c, None) for c in cols]
            self.rows = [tuple(r[c] for c in cols) for r in answer]
        return self

    def fetchall(self):
        return self.rows

    def nextset(self):
        return False

    def close(self):
        self.closed = True


class FakeConn:
    """A pyodbc connection whose answers come from ``responses``: {SQL prefix: rows or exception}."""

    def __init__(self, responses=None):
        self.responses = responses or {}
        self.sent = []
        self.timeout = 0
        self.closed = False

    def answer(self, sql, params):
        for prefix, rows in self.responses.items():
            if sql.startswith(prefix):
                return rows(params) if callable(rows) else rows
        return None

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


class FakeOdbc:
    def __init__(self, conn=None, error=None):
        self.conn, self.error, self.calls = conn or FakeConn(), error, []

    def connect(self, conn_str, **kwargs):
        self.calls.append((conn_str, kwargs))
        if self.error:
            raise self.error
        return self.conn


PARAMS = {'odbc_driver': 'ODBC Driver 18 for SQL Server', 'login_host': 'sql1', 'login_port': 1433,
          'database': 'sluice_demo', 'login_user': 'sa', 'login_password': 'p;w}d', 'encrypt': True,
          'trust_server_certificate': False, 'timeout': 7}


# -- quoting ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, quoted', [('orders', '[orders]'), ('a]b', '[a]]b]'), ('x y', '[x y]'),
                                          ("o'k", "[o'k]"), ('[x]', '[[x]]]'), ('a' * 128, '[' + 'a' * 128 + ']')])
def test_quote_name(name, quoted):
    assert mssql.quote_name(name) == quoted


@pytest.mark.parametrize('name, message', [('', 'non-empty'), (None, 'non-empty'), ('a\x00b', 'NUL'),
                                           ('a' * 129, 'longer than 128')])
def test_quote_name_rejects(name, message):
    with pytest.raises(MssqlError, match=message):
        mssql.quote_name(name)


@pytest.mark.parametrize('name, parts', [('dbo.orders', ('dbo', 'orders')), ('orders', ('dbo', 'orders')),
                                         ('[sa.les].[or]]ders]', ('sa.les', 'or]ders')), (' x.y ', ('x', 'y')),
                                         ('[dbo].orders', ('dbo', 'orders'))])
def test_split_table(name, parts):
    assert mssql.split_table(name) == parts


@pytest.mark.parametrize('name', ['a.b.c', '', 'a.', '.b', 'a..b', '[a', 'a[b].c', '[a]x.b'])
def test_split_table_rejects(name):
    with pytest.raises(MssqlError, match='cannot parse table name'):
        mssql.split_table(name)


def test_default_capture_instance():
    assert mssql.default_capture_instance('dbo', 'orders') == 'dbo_orders'


# -- connection string and connect -----------------------------------------------------------------

def test_connection_string_msodbc():
    assert mssql.connection_string(PARAMS) == (
        'DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql1,1433;Encrypt=yes;TrustServerCertificate=no;'
        'DATABASE=sluice_demo;UID=sa;PWD={p;w}}d};APP=sluice.cdc;')


def test_connection_string_msodbc_trust_no_encrypt():
    s = mssql.connection_string(dict(PARAMS, encrypt=False, trust_server_certificate=True, login_user='a b'))
    assert 'Encrypt=no;TrustServerCertificate=yes;' in s and 'UID={a b};' in s


def test_connection_string_freetds():
    assert mssql.connection_string(dict(PARAMS, odbc_driver='FreeTDS', database=None, login_port=14330)) == (
        'DRIVER={FreeTDS};SERVER=sql1;PORT=14330;TDS_Version=7.4;ClientCharset=UTF-8;Encryption=require;'
        'UID=sa;PWD={p;w}}d};APP=sluice.cdc;')
    assert 'Encryption=off' in mssql.connection_string(dict(PARAMS, odbc_driver='FreeTDS', encrypt=False))


def test_connection_string_other_driver_names():
    """Any driver name works: FreeTDS is recognized by its name (or its library), any other gets Microsoft's."""
    assert mssql.connection_string(dict(PARAMS, odbc_driver='ODBC Driver 17 for SQL Server')).startswith(
        'DRIVER={ODBC Driver 17 for SQL Server};SERVER=sql1,1433;Encrypt=yes;')
    assert 'TDS_Version=7.4' in mssql.connection_string(dict(PARAMS, odbc_driver='/usr/lib/libtdsodbc.so'))


def test_connection_string_tls_options_and_strict():
    s = mssql.connection_string(dict(PARAMS, encrypt='strict', hostname_in_certificate='db.example.com',
                                     server_certificate='/etc/ssl/certs/my server.pem'))
    assert s == ('DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql1,1433;Encrypt=strict;TrustServerCertificate=no;'
                 'HostNameInCertificate=db.example.com;ServerCertificate={/etc/ssl/certs/my server.pem};'
                 'DATABASE=sluice_demo;UID=sa;PWD={p;w}}d};APP=sluice.cdc;')


@pytest.mark.parametrize('value, mode', [(True, 'yes'), (False, 'no'), (None, 'yes'), ('', 'yes'), ('yes', 'yes'),
                                         ('Mandatory', 'yes'), ('optional', 'no'), ('false', 'no'),
                                         ('STRICT', 'strict')])
def test_encrypt_mode(value, mode):
    assert mssql.encrypt_mode(value) == mode


def test_encrypt_mode_rejects():
    with pytest.raises(MssqlError, match='encrypt must be true, false or strict'):
        mssql.encrypt_mode('sometimes')


def test_odbc_value_and_nul():
    assert [mssql.odbc_value(v) for v in ('plain', 'a b', 'a}b', 'x;UID=evil', '{', ' pad', 1433)] == [
        'plain', '{a b}', '{a}}b}', '{x;UID=evil}', '{{}', '{ pad}', '1433']
    with pytest.raises(MssqlError, match='NUL'):
        mssql.odbc_value('a\x00b')


def test_aliases_are_the_reconcilers_names():
    """host/port/user/password/connect_timeout (the reconciler's settings) are aliases of the module options."""
    reconcile_style = {'host': 'sql1', 'port': 1433, 'database': 'sluice_demo', 'user': 'sa', 'password': 'p;w}d',
                       'connect_timeout': 7}
    assert mssql.connection_string(reconcile_style) == mssql.connection_string(PARAMS)
    spec = mssql.connection_argument_spec()
    assert spec['login_host']['aliases'] == ['host'] and spec['timeout']['aliases'] == ['connect_timeout',
                                                                                         'login_timeout']
    assert spec['login_password']['no_log'] is True and spec['encrypt'] == {'type': 'raw', 'default': True}


def test_connect_passes_autocommit_and_timeout():
    odbc = FakeOdbc()
    conn = mssql.connect(PARAMS, odbc=odbc)
    assert odbc.calls == [(mssql.connection_string(PARAMS), {'autocommit': True, 'timeout': 7})]
    assert conn.conn.timeout == 7


def test_connect_error_is_clear_and_hides_the_password():
    odbc = FakeOdbc(error=RuntimeError("[08001] Login timeout expired for PWD=p;w}d"))
    with pytest.raises(MssqlError) as exc:
        mssql.connect(PARAMS, odbc=odbc)
    assert str(exc.value) == ("cannot connect to SQL Server sql1:1433 (database sluice_demo) as sa with driver "
                              "'ODBC Driver 18 for SQL Server': [08001] Login timeout expired for PWD=********")


def test_connect_without_pyodbc(monkeypatch):
    monkeypatch.setattr(mssql, 'pyodbc', None)
    with pytest.raises(MssqlError, match='pyodbc is not installed'):
        mssql.connect(PARAMS)


def test_connect_real_freetds_unreachable_host():
    """The real pyodbc + FreeTDS path: an unresolvable host fails with the clear message (nothing is sent)."""
    params = dict(PARAMS, odbc_driver='FreeTDS', login_host='sqlserver.invalid', timeout=2)
    with pytest.raises(MssqlError, match=r"^cannot connect to SQL Server sqlserver\.invalid:1433 \(database "
                                         r"sluice_demo\) as sa with driver 'FreeTDS': "):
        mssql.connect(params)


def test_connection_query_execute_and_errors():
    fake = FakeConn({'SELECT 1': [{'a': 1, 'b': 'x'}], 'BAD': RuntimeError('Incorrect syntax near BAD')})
    conn = mssql.Connection(fake)
    assert conn.query(Statement('SELECT 1 AS a WHERE x = ?', (5,))) == [{'a': 1, 'b': 'x'}]
    conn.execute(Statement('EXEC sys.sp_cdc_enable_db', ()))
    assert fake.sent == [('SELECT 1 AS a WHERE x = ?', (5,)), ('EXEC sys.sp_cdc_enable_db', ())]
    assert conn.executed == [Statement('EXEC sys.sp_cdc_enable_db', ())]
    with pytest.raises(MssqlError, match='^query failed: BAD q: Incorrect syntax near BAD$'):
        conn.query(Statement('BAD q\nmore', ()))
    with pytest.raises(MssqlError, match='^statement failed: BAD x: Incorrect syntax near BAD$'):
        conn.execute(Statement('BAD x', ()))
    assert len(conn.executed) == 1
    conn.close()
    assert fake.closed
    assert mssql.first_line('  ') == '  '


# -- statements ------------------------------------------------------------------------------------

def test_write_statements():
    assert mssql.s_enable_db() == Statement('EXEC sys.sp_cdc_enable_db', ())
    assert mssql.s_enable_table('dbo', 'orders', 'dbo_orders', None) == Statement(
        'EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, @capture_instance = ?, '
        '@supports_net_changes = 0', ('dbo', 'orders', None, 'dbo_orders'))
    assert mssql.s_enable_table('dbo', 'orders', 'dbo_orders_v2', 'cdc_reader', 'CDC_FG', ['id', 'st]atus']) == Statement(
        'EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, @capture_instance = ?, '
        '@supports_net_changes = 0, @filegroup_name = ?, @captured_column_list = ?',
        ('dbo', 'orders', 'cdc_reader', 'dbo_orders_v2', 'CDC_FG', '[id], [st]]atus]'))
    assert mssql.s_disable_instance('dbo', 'orders', 'dbo_orders') == Statement(
        'EXEC sys.sp_cdc_disable_table @source_schema = ?, @source_name = ?, @capture_instance = ?',
        ('dbo', 'orders', 'dbo_orders'))
    assert mssql.s_change_job('capture', {'maxscans': 10, 'pollinginterval': 1, 'maxtrans': 500}) == Statement(
        'EXEC sys.sp_cdc_change_job @job_type = ?, @pollinginterval = ?, @maxtrans = ?, @maxscans = ?',
        ('capture', 1, 500, 10))
    assert mssql.s_change_job('cleanup', {'retention': 4320}) == Statement(
        'EXEC sys.sp_cdc_change_job @job_type = ?, @retention = ?', ('cleanup', 4320))
    assert mssql.s_create_table('dbo', 'debezium_signal', mssql.SIGNAL_COLUMNS) == Statement(
        'CREATE TABLE [dbo].[debezium_signal] (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, '
        'data VARCHAR(2048) NULL)', ())
    assert mssql.s_create_table('dbo', 'sluice_heartbeat', mssql.HEARTBEAT_COLUMNS).sql == (
        'CREATE TABLE [dbo].[sluice_heartbeat] (id INT PRIMARY KEY, ts DATETIME2(7) NOT NULL)')
    assert mssql.s_seed_heartbeat('dbo', 'sluice_heartbeat') == Statement(
        'INSERT INTO [dbo].[sluice_heartbeat] (id, ts) SELECT 1, SYSUTCDATETIME() WHERE NOT EXISTS '
        '(SELECT 1 FROM [dbo].[sluice_heartbeat] WHERE id = 1)', ())
    assert mssql.s_create_login('sluice_debezium', "pa'ss") == Statement(
        "DECLARE @sql nvarchar(max) = N'CREATE LOGIN ' + QUOTENAME(?) + N' WITH PASSWORD = N''' "
        "+ REPLACE(?, N'''', N'''''') + N''', DEFAULT_DATABASE = ' + QUOTENAME(DB_NAME()) "
        "+ N', CHECK_POLICY = ON'; EXEC sys.sp_executesql @sql", ('sluice_debezium', "pa'ss"))
    assert mssql.s_create_user('sluice_debezium', 'sluice_debezium') == Statement(
        'CREATE USER [sluice_debezium] FOR LOGIN [sluice_debezium]', ())
    assert mssql.s_grant_select_object('dbo', 'orders', 'u]').sql == 'GRANT SELECT ON OBJECT::[dbo].[orders] TO [u]]]'
    assert mssql.s_grant_insert_object('dbo', 'debezium_signal', 'u').sql == (
        'GRANT INSERT ON OBJECT::[dbo].[debezium_signal] TO [u]')
    assert mssql.s_grant_select_schema('cdc', 'u').sql == 'GRANT SELECT ON SCHEMA::[cdc] TO [u]'
    assert mssql.s_add_role_member('cdc_reader', 'u').sql == 'ALTER ROLE [cdc_reader] ADD MEMBER [u]'
    assert mssql.s_grant_server_permission('VIEW SERVER STATE', 'sluice_debezium') == Statement(
        'EXEC master.sys.sp_executesql ?', ('GRANT VIEW SERVER STATE TO [sluice_debezium]',))
    with pytest.raises(MssqlError, match='unsupported server permission'):
        mssql.s_grant_server_permission('CONTROL SERVER', 'x')


def test_read_statements():
    assert mssql.q_database() == Statement(
        'SELECT d.name, d.is_cdc_enabled, d.recovery_model_desc FROM sys.databases AS d WHERE d.database_id = DB_ID()',
        ())
    assert mssql.q_server().sql == (
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
        "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
        "CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition")
    assert mssql.q_agent().sql == ("SELECT s.servicename, s.status_desc FROM sys.dm_server_services AS s "
                                   "WHERE s.servicename LIKE N'SQL Server Agent%'")
    assert mssql.q_capture_instances().sql.startswith('SELECT OBJECT_SCHEMA_NAME(ct.source_object_id) AS source_schema')
    assert 'FROM cdc.change_tables AS ct' in mssql.q_capture_instances().sql
    assert 'FROM cdc.captured_columns AS cc' in mssql.q_captured_columns().sql
    assert mssql.q_jobs().sql.endswith('FROM msdb.dbo.cdc_jobs AS j WHERE j.database_id = DB_ID()')
    assert mssql.q_table_exists('dbo', 'or]ders') == Statement("SELECT OBJECT_ID(?, N'U') AS object_id",
                                                               ('[dbo].[or]]ders]',))
    assert mssql.q_heartbeat_row('dbo', 'hb').sql == 'SELECT COUNT(*) AS n FROM [dbo].[hb] WHERE id = 1'
    assert mssql.q_login('l') == Statement('SELECT p.name FROM sys.server_principals AS p WHERE p.name = ?', ('l',))
    assert mssql.q_user('u').params == ('u',) and 'sys.database_principals' in mssql.q_user('u').sql
    assert mssql.q_user_permissions('u').params == ('u',)
    assert 'DATABASE_PRINCIPAL_ID(?) AND p.minor_id = 0' in mssql.q_user_permissions('u').sql
    assert mssql.q_user_roles('u').params == ('u',)
    assert mssql.q_server_permission('l', 'VIEW SERVER STATE').params == ('l', 'VIEW SERVER STATE')


# -- readers ---------------------------------------------------------------------------------------

LSN = bytes.fromhex('0000002A000001F00003')


def cdc_responses(enabled=True, instances=None, columns=None, jobs=None):
    return {
        'SELECT d.name': [{'name': 'sluice_demo', 'is_cdc_enabled': enabled, 'recovery_model_desc': 'FULL'}],
        'SELECT ct.capture_instance, cc.column_name': columns or [],
        'SELECT OBJECT_SCHEMA_NAME(ct.source_object_id)': instances or [],
        'SELECT j.job_type': jobs or [],
    }


def instance_row(table='orders', ci='dbo_orders', lsn=LSN):
    return {'source_schema': 'dbo', 'source_table': table, 'capture_instance': ci, 'start_lsn': lsn,
            'create_date': datetime.datetime(2025, 1, 1, 10, 0), 'supports_net_changes': 0, 'role_name': None,
            'filegroup_name': None, 'object_id': 1}


def test_read_cdc_state_disabled_stops_early():
    fake = FakeConn(cdc_responses(enabled=False))
    state = mssql.read_cdc_state(mssql.Connection(fake))
    assert state == {'database': 'sluice_demo', 'is_cdc_enabled': False, 'recovery_model': 'FULL', 'tables': {},
                     'jobs': {}}
    assert len(fake.sent) == 1


def test_read_cdc_state_enabled():
    fake = FakeConn(cdc_responses(
        instances=[instance_row(), instance_row(ci='dbo_orders_v2', lsn='0x01')],
        columns=[{'capture_instance': 'dbo_orders', 'column_name': 'id', 'column_ordinal': 1},
                 {'capture_instance': 'dbo_orders', 'column_name': 'status', 'column_ordinal': 2}],
        jobs=[{'job_type': 'cleanup', 'maxtrans': 0, 'maxscans': 0, 'continuous': 0, 'pollinginterval': 0,
               'retention': 4320, 'threshold': 5000},
              {'job_type': 'capture', 'maxtrans': 500, 'maxscans': 10, 'continuous': None, 'pollinginterval': 5,
               'retention': 0, 'threshold': 0}]))
    state = mssql.read_cdc_state(mssql.Connection(fake))
    assert state['tables'] == {'dbo.orders': [
        {'capture_instance': 'dbo_orders', 'start_lsn': '0x0000002A000001F00003', 'create_date': '2025-01-01 10:00:00',
         'role_name': None, 'filegroup_name': None, 'supports_net_changes': False, 'columns': ['id', 'status']},
        {'capture_instance': 'dbo_orders_v2', 'start_lsn': '0x01', 'create_date': '2025-01-01 10:00:00',
         'role_name': None, 'filegroup_name': None, 'supports_net_changes': False, 'columns': []}]}
    assert state['jobs']['cleanup']['retention'] == 4320 and state['jobs']['cleanup']['continuous'] is False
    assert state['jobs']['capture']['continuous'] is None
    assert [p for _s, p in fake.sent] == [(), (), (), ()]


def test_read_cdc_state_null_create_date_and_missing_db():
    fake = FakeConn(cdc_responses(instances=[dict(instance_row(lsn=None), create_date=None)]))
    assert mssql.read_cdc_state(mssql.Connection(fake))['tables']['dbo.orders'][0]['start_lsn'] is None
    with pytest.raises(MssqlError, match='not visible'):
        mssql.read_cdc_state(mssql.Connection(FakeConn({'SELECT d.name': []})))


def test_read_server_facts():
    server = {"SELECT CAST(SERVERPROPERTY": [{'product_version': '16.0.4135.4', 'edition': 'Developer Edition (64-bit)',
                                              'engine_edition': 3}]}
    running = FakeConn(dict(server, **{'SELECT s.servicename': [{'servicename': 'SQL Server Agent (MSSQLSERVER)',
                                                                 'status_desc': 'Running'}]}))
    assert mssql.read_server_facts(mssql.Connection(running)) == {
        'product_version': '16.0.4135.4', 'edition': 'Developer Edition (64-bit)', 'engine_edition': 3,
        'agent_status': 'Running'}
    missing = FakeConn(dict(server, **{'SELECT s.servicename': []}))
    assert mssql.read_server_facts(mssql.Connection(missing))['agent_status'] == 'not found'
    denied = FakeConn(dict(server, **{'SELECT s.servicename': RuntimeError('VIEW SERVER STATE permission denied')}))
    facts = mssql.read_server_facts(mssql.Connection(denied))
    assert facts['agent_status'] is None and 'permission denied' in facts['agent_error']


# -- preflight -------------------------------------------------------------------------------------

GOOD = {'product_version': '16.0.4135.4', 'edition': 'Developer Edition (64-bit)', 'engine_edition': 3,
        'agent_status': 'Running', 'recovery_model': 'FULL', 'is_cdc_enabled': True, 'database': 'sluice_demo',
        'jobs': {'cleanup': {'retention': 4320}}, 'tables': {'dbo.orders': [{'capture_instance': 'dbo_orders'}]}}


def checks(facts, **settings):
    return [(f['check'], f['severity']) for f in mssql.preflight_findings(dict(GOOD, **facts), settings)]


def test_preflight_all_good():
    assert checks({}, max_outage=1440, tables=['dbo.orders'], require_cdc_enabled=True) == []


@pytest.mark.parametrize('version, ok', [('13.0.4001.0', True), ('13.0.4000.9', False), ('12.0.6024.0', False),
                                         ('15.0.2000.5', True), ('garbage', False), (None, False)])
def test_preflight_version(version, ok):
    found = checks({'product_version': version})
    assert (found == []) == ok
    if not ok:
        assert found == [('version', 'error')]


def test_preflight_version_message():
    msg = mssql.preflight_findings(dict(GOOD, product_version='13.0.1601.5'), {})[0]['msg']
    assert msg == 'SQL Server 13.0.1601.5 is too old: CDC with Debezium needs SQL Server 2016 SP1 (13.0.4001) or later'


@pytest.mark.parametrize('edition, engine, ok', [('Standard Edition (64-bit)', 2, True),
                                                 ('Enterprise Edition: Core-based Licensing (64-bit)', 3, True),
                                                 ('Express Edition (64-bit)', 4, False),
                                                 ('SQL Azure', 5, False), ('SQL Azure', 8, True)])
def test_preflight_edition(edition, engine, ok):
    found = checks({'edition': edition, 'engine_edition': engine, 'product_version': '12.0.2000.8' if engine == 8
                    else GOOD['product_version'], 'agent_status': None if engine == 8 else 'Running'})
    assert (found == []) == ok
    if not ok:
        assert found == [('edition', 'error')]


def test_preflight_agent():
    assert checks({'agent_status': 'Stopped'}) == [('agent', 'error')]
    assert checks({'agent_status': 'not found'}) == [('agent', 'error')]
    found = mssql.preflight_findings(dict(GOOD, agent_status=None, agent_error='permission denied'), {})
    assert found[0]['check'] == 'agent' and 'permission denied' in found[0]['msg']
    assert 'SQL Server Agent is Stopped' in mssql.preflight_findings(dict(GOOD, agent_status='Stopped'), {})[0]['msg']


def test_preflight_simple_recovery_is_a_warning():
    found = mssql.preflight_findings(dict(GOOD, recovery_model='SIMPLE'), {})
    assert [(f['check'], f['severity']) for f in found] == [('recovery_model', 'warning')]
    assert 'log_reuse_wait_desc = REPLICATION' in found[0]['msg']


def test_preflight_retention():
    assert checks({}, max_outage=5000) == [('retention', 'error')]
    assert checks({}, max_outage=5000, retention=10080) == []
    assert checks({}, max_outage=1440, retention=60) == [('retention', 'error')]
    assert checks({'jobs': {}}, max_outage=1440) == []  # no cleanup job yet and no retention set: nothing to compare
    msg = mssql.preflight_findings(GOOD, {'max_outage': 5000})[0]['msg']
    assert msg.startswith('CDC cleanup retention is 4320 minutes, shorter than sqlserver_source_max_outage (5000')


def test_preflight_cdc_enabled_on_every_table():
    assert checks({'is_cdc_enabled': False}, require_cdc_enabled=True) == [('cdc', 'error')]
    found = mssql.preflight_findings(GOOD, {'tables': ['dbo.orders', 'dbo.customers', 'dbo.x'],
                                            'require_cdc_enabled': True})
    assert found == [{'check': 'cdc', 'severity': 'error',
                      'msg': 'CDC is not enabled on table(s): dbo.customers, dbo.x'}]
    assert checks({'is_cdc_enabled': False}, tables=['dbo.orders']) == []


def test_lsn_hex_and_parse_version():
    assert mssql.lsn_hex(None) is None
    assert mssql.lsn_hex(bytearray(b'\x00\x01')) == '0x0001'
    assert mssql.parse_version('16.0.4135.4') == (16, 0, 4135)
