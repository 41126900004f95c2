# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""SQL Server access for the sluice.cdc SQL Server modules (pyodbc).

Everything that talks to SQL Server lives here, as :class:`Statement` objects (SQL text plus bound parameters):

- identifiers are quoted client-side like T-SQL ``QUOTENAME`` (``[`` ... ``]`` with ``]`` doubled, at most 128
  characters, no NUL) and are the only thing ever written into SQL text;
- every value is a bound ``?`` parameter; where T-SQL does not accept a parameter (a login's password in
  ``CREATE LOGIN``) the statement is built server-side by ``sys.sp_executesql`` from bound values;
- the statements are plain data, so unit tests check their exact text and parameters against a fake cursor.

Also here: the pure decision logic of the sqlserver_source role's preflight (:func:`preflight_findings`).
"""

from __future__ import annotations

import collections
import re
import traceback

try:
    import pyodbc
except ImportError:  # pragma: no cover - exercised through HAS_PYODBC in the modules' tests
    pyodbc = None
    HAS_PYODBC = False
    PYODBC_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYODBC = True
    PYODBC_IMPORT_ERROR = None

MAX_IDENTIFIER = 128
MAX_CAPTURE_INSTANCE = 100


class MssqlError(Exception):
    """A SQL Server operation failed or an argument is unusable; the message is meant for the user."""


Statement = collections.namedtuple('Statement', ['sql', 'params'])


DEFAULT_DRIVER = 'ODBC Driver 18 for SQL Server'
ENCRYPT_MODES = ('yes', 'no', 'strict')
_TRUE = ('yes', 'true', '1', 'on', 'mandatory')
_FALSE = ('no', 'false', '0', 'off', 'optional')

# The one SQL Server connection schema (documented in doc_fragments/mssql.py, generated from it). The aliases are
# the names the reconciler's connection settings use (host, port, user, password, connect_timeout).
CONNECTION_OPTIONS = dict(
    database=dict(type='str', required=True),
    login_host=dict(type='str', required=True, aliases=['host']),
    login_port=dict(type='int', default=1433, aliases=['port']),
    login_user=dict(type='str', required=True, aliases=['user']),
    login_password=dict(type='str', required=True, no_log=True, aliases=['password']),
    odbc_driver=dict(type='str', default=DEFAULT_DRIVER),
    encrypt=dict(type='raw', default=True),
    trust_server_certificate=dict(type='bool', default=False),
    hostname_in_certificate=dict(type='str'),
    server_certificate=dict(type='path'),
    timeout=dict(type='int', default=30, aliases=['connect_timeout', 'login_timeout']),
)


def connection_argument_spec():
    return {name: dict(spec, aliases=list(spec['aliases'])) if 'aliases' in spec else dict(spec)
            for name, spec in CONNECTION_OPTIONS.items()}


# -- identifiers -----------------------------------------------------------------------------------

def quote_name(name):
    """T-SQL QUOTENAME(name): ``[name]`` with ``]`` doubled. Rejects empty, NUL and > 128 characters."""
    if not isinstance(name, str) or name == '':
        raise MssqlError('identifier must be a non-empty string, got %r' % (name,))
    if '\x00' in name:
        raise MssqlError('identifier %r contains a NUL character' % name)
    if len(name) > MAX_IDENTIFIER:
        raise MssqlError('identifier %r is longer than %d characters' % (name[:20] + '...', MAX_IDENTIFIER))
    return '[' + name.replace(']', ']]') + ']'


_PART = re.compile(r'\[((?:[^\]]|\]\])*)\]|([^.\[\]]+)')


def split_table(name, default_schema='dbo'):
    """``schema.table``, ``[sch.ema].[ta]]ble]`` or ``table`` -> (schema, table), both unquoted."""
    parts, pos = [], 0
    text = (name or '').strip()
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise MssqlError('cannot parse table name %r (expected schema.table)' % name)
        parts.append(match.group(1).replace(']]', ']') if match.group(1) is not None else match.group(2).strip())
        pos = match.end()
        if pos < len(text):
            if text[pos] != '.':
                raise MssqlError('cannot parse table name %r (expected schema.table)' % name)
            pos += 1
            if pos == len(text):
                raise MssqlError('cannot parse table name %r (expected schema.table)' % name)
    if len(parts) == 1:
        parts.insert(0, default_schema)
    if len(parts) != 2 or not all(parts):
        raise MssqlError('cannot parse table name %r (expected schema.table)' % name)
    for part in parts:
        quote_name(part)
    return parts[0], parts[1]


def qualified(schema, table):
    return quote_name(schema) + '.' + quote_name(table)


def default_capture_instance(schema, table):
    """SQL Server's own default: ``<schema>_<table>``."""
    return '%s_%s' % (schema, table)


# -- connection ------------------------------------------------------------------------------------

def odbc_value(value):
    """An ODBC connection-string value, braced when it holds a special character (``}`` doubled)."""
    value = str(value)
    if '\x00' in value:
        raise MssqlError('ODBC connection-string values cannot contain NUL')
    if re.search(r'[;{}=\s]', value) or value != value.strip():
        return '{' + value.replace('}', '}}') + '}'
    return value


def encrypt_mode(value):
    """``encrypt`` as the ODBC ``Encrypt`` value: yes (also true/mandatory, the default), no (false/optional) or
    strict (TDS 8.0, ODBC Driver 18)."""
    if value is None or value == '':
        return 'yes'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    text = str(value).strip().lower()
    if text == 'strict':
        return 'strict'
    if text in _TRUE:
        return 'yes'
    if text in _FALSE:
        return 'no'
    raise MssqlError('encrypt must be true, false or strict, not %r' % (value,))


def is_freetds(driver):
    return 'freetds' in driver.lower() or 'tdsodbc' in driver.lower()


def normalize(params):
    """The connection options with aliases resolved and defaults filled in (``params``: module params, or the
    reconciler's settings with host/port/user/password/connect_timeout)."""
    out = {}
    for name, spec in CONNECTION_OPTIONS.items():
        value = params.get(name)
        for alias in spec.get('aliases', ()):
            if value is None:
                value = params.get(alias)
        out[name] = spec.get('default') if value is None else value
    out['odbc_driver'] = out['odbc_driver'] or DEFAULT_DRIVER
    out['encrypt'] = encrypt_mode(out['encrypt'])
    return out


def connection_string(params, application_name='sluice.cdc'):
    """ODBC connection string for the Microsoft ODBC Driver 18 (or 17) or FreeTDS; the password is always braced.

    Without ``login_user`` the Microsoft driver gets ``Trusted_Connection=yes`` (Kerberos)."""
    p = normalize(params)
    driver = p['odbc_driver']
    parts = [('DRIVER', '{%s}' % driver.replace('}', '}}'))]
    if is_freetds(driver):
        for key in ('hostname_in_certificate', 'server_certificate'):
            if p[key]:
                raise MssqlError('%s needs the Microsoft ODBC Driver 18 (FreeTDS verifies the server with the '
                                 '"ca file" of freetds.conf)' % key)
        parts += [('SERVER', odbc_value(p['login_host'])), ('PORT', str(p['login_port'])),
                  ('TDS_Version', '7.4'), ('ClientCharset', 'UTF-8'),
                  ('Encryption', 'off' if p['encrypt'] == 'no' else 'require')]
    else:
        parts += [('SERVER', odbc_value('%s,%s' % (p['login_host'], p['login_port']))),
                  ('Encrypt', p['encrypt']),
                  ('TrustServerCertificate', 'yes' if p['trust_server_certificate'] else 'no')]
        if p['hostname_in_certificate']:
            parts.append(('HostNameInCertificate', odbc_value(p['hostname_in_certificate'])))
        if p['server_certificate']:
            parts.append(('ServerCertificate', odbc_value(p['server_certificate'])))
    if p['database']:
        parts.append(('DATABASE', odbc_value(p['database'])))
    if p['login_user']:
        parts.append(('UID', odbc_value(p['login_user'])))
        password = str(p['login_password'] or '')
        if '\x00' in password:
            raise MssqlError('ODBC connection-string values cannot contain NUL')
        parts.append(('PWD', '{' + password.replace('}', '}}') + '}'))
    elif not is_freetds(driver):
        parts.append(('Trusted_Connection', 'yes'))
    parts.append(('APP', odbc_value(application_name)))
    return ';'.join('%s=%s' % kv for kv in parts) + ';'


def describe_target(params):
    p = normalize(params)
    return '%s:%s (database %s) as %s with driver %r' % (
        p['login_host'], p['login_port'], p['database'] or '(default)', p['login_user'], p['odbc_driver'])


def open_connection(params, odbc=None, application_name='sluice.cdc'):
    """A raw autocommit pyodbc connection (login timeout ``timeout``); any failure becomes a MssqlError naming the
    target (never the password)."""
    odbc = odbc or pyodbc
    if odbc is None:
        raise MssqlError('pyodbc is not installed')
    conn_str = connection_string(params, application_name)
    timeout = normalize(params)['timeout'] or 30
    try:
        return odbc.connect(conn_str, autocommit=True, timeout=timeout)
    except Exception as e:  # pyodbc.Error and driver-manager errors
        message = str(e)
        secret = normalize(params)['login_password']
        if secret:
            message = message.replace(str(secret), '********')
        raise MssqlError('cannot connect to SQL Server %s: %s' % (describe_target(params), message)) from None


def connect(params, odbc=None):
    """Open an autocommit :class:`Connection` whose statements time out after ``timeout`` seconds as well."""
    conn = open_connection(params, odbc)
    timeout = normalize(params)['timeout']
    if timeout:
        conn.timeout = timeout
    return Connection(conn)


class Connection:
    """A pyodbc connection that runs :class:`Statement` objects and remembers the writes it sent."""

    def __init__(self, conn):
        self.conn = conn
        self.executed = []

    def query(self, stmt):
        cursor = self.conn.cursor()
        try:
            cursor.execute(stmt.sql, *stmt.params)
            columns = [c[0] for c in cursor.description or []]
            return [dict(zip(columns, row)) for row in cursor.fetchall()]
        except Exception as e:
            raise MssqlError('query failed: %s: %s' % (first_line(stmt.sql), e))
        finally:
            cursor.close()

    def execute(self, stmt):
        cursor = self.conn.cursor()
        try:
            cursor.execute(stmt.sql, *stmt.params)
            while cursor.nextset():  # drain every result set so that errors raised late surface here
                pass
        except Exception as e:
            raise MssqlError('statement failed: %s: %s' % (first_line(stmt.sql), e))
        finally:
            cursor.close()
        self.executed.append(stmt)

    def execute_atomically(self, stmts):
        """Run the statements in one transaction, all or none (DDL is transactional in SQL Server)."""
        self.conn.autocommit = False
        try:
            for stmt in stmts:
                self.execute(stmt)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        finally:
            self.conn.autocommit = True

    def close(self):
        self.conn.close()


def first_line(sql):
    return sql.strip().splitlines()[0] if sql.strip() else sql


# -- statements: reads -----------------------------------------------------------------------------

def q_database():
    return Statement(
        'SELECT d.name, d.is_cdc_enabled, d.recovery_model_desc FROM sys.databases AS d WHERE d.database_id = DB_ID()',
        ())


def q_server():
    return Statement(
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
        "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
        "CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition", ())


def q_agent():
    return Statement(
        "SELECT s.servicename, s.status_desc FROM sys.dm_server_services AS s "
        "WHERE s.servicename LIKE N'SQL Server Agent%'", ())


def q_capture_instances():
    return Statement(
        'SELECT OBJECT_SCHEMA_NAME(ct.source_object_id) AS source_schema, OBJECT_NAME(ct.source_object_id) AS source_table, '
        'ct.capture_instance, ct.start_lsn, ct.create_date, ct.supports_net_changes, ct.role_name, ct.filegroup_name, '
        'ct.object_id FROM cdc.change_tables AS ct ORDER BY source_schema, source_table, ct.create_date, ct.capture_instance',
        ())


def q_captured_columns():
    return Statement(
        'SELECT ct.capture_instance, cc.column_name, cc.column_ordinal FROM cdc.captured_columns AS cc '
        'JOIN cdc.change_tables AS ct ON ct.object_id = cc.object_id ORDER BY ct.capture_instance, cc.column_ordinal',
        ())


def q_jobs():
    return Statement(
        'SELECT j.job_type, j.maxtrans, j.maxscans, j.continuous, j.pollinginterval, j.retention, j.threshold '
        'FROM msdb.dbo.cdc_jobs AS j WHERE j.database_id = DB_ID()', ())


def q_table_exists(schema, table):
    return Statement("SELECT OBJECT_ID(?, N'U') AS object_id", (qualified(schema, table),))


def q_heartbeat_row(schema, table):
    return Statement('SELECT COUNT(*) AS n FROM %s WHERE id = 1' % qualified(schema, table), ())


def q_login(login):
    return Statement('SELECT p.name FROM sys.server_principals AS p WHERE p.name = ?', (login,))


def q_user(user):
    return Statement('SELECT p.name FROM sys.database_principals AS p WHERE p.name = ?', (user,))


def q_user_permissions(user):
    return Statement(
        'SELECT p.permission_name, p.class_desc, '
        "CASE p.class WHEN 1 THEN OBJECT_SCHEMA_NAME(p.major_id) WHEN 3 THEN SCHEMA_NAME(p.major_id) END AS schema_name, "
        'CASE p.class WHEN 1 THEN OBJECT_NAME(p.major_id) END AS object_name '
        "FROM sys.database_permissions AS p WHERE p.grantee_principal_id = DATABASE_PRINCIPAL_ID(?) AND p.minor_id = 0 "
        "AND p.state IN ('G', 'W')",
        (user,))


def q_user_roles(user):
    return Statement(
        'SELECT r.name FROM sys.database_role_members AS m '
        'JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id '
        'WHERE m.member_principal_id = DATABASE_PRINCIPAL_ID(?)', (user,))


def q_server_permission(login, permission):
    return Statement(
        'SELECT sp.permission_name FROM sys.server_permissions AS sp '
        'JOIN sys.server_principals AS p ON p.principal_id = sp.grantee_principal_id '
        "WHERE p.name = ? AND sp.permission_name = ? AND sp.state IN ('G', 'W')", (login, permission))


# -- statements: writes ----------------------------------------------------------------------------

def s_enable_db():
    return Statement('EXEC sys.sp_cdc_enable_db', ())


def s_enable_table(schema, table, capture_instance, role_name, filegroup=None, captured_columns=None):
    sql = ('EXEC sys.sp_cdc_enable_table @source_schema = ?, @source_name = ?, @role_name = ?, '
           '@capture_instance = ?, @supports_net_changes = 0')
    params = [schema, table, role_name, capture_instance]
    if filegroup:
        sql += ', @filegroup_name = ?'
        params.append(filegroup)
    if captured_columns:
        sql += ', @captured_column_list = ?'
        params.append(', '.join(quote_name(c) for c in captured_columns))
    return Statement(sql, tuple(params))


def s_disable_instance(schema, table, capture_instance):
    return Statement('EXEC sys.sp_cdc_disable_table @source_schema = ?, @source_name = ?, @capture_instance = ?',
                     (schema, table, capture_instance))


JOB_PARAMETERS = {'capture': ('pollinginterval', 'maxtrans', 'maxscans'), 'cleanup': ('retention',)}


def s_change_job(job_type, settings):
    names = [n for n in JOB_PARAMETERS[job_type] if n in settings]
    sql = 'EXEC sys.sp_cdc_change_job @job_type = ?' + ''.join(', @%s = ?' % n for n in names)
    return Statement(sql, (job_type,) + tuple(settings[n] for n in names))


SIGNAL_COLUMNS = 'id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL'
HEARTBEAT_COLUMNS = 'id INT PRIMARY KEY, ts DATETIME2(7) NOT NULL'


def s_create_table(schema, table, columns):
    return Statement('CREATE TABLE %s (%s)' % (qualified(schema, table), columns), ())


# The schema change of a rotation is marked on its table, in the DDL's transaction, with the new capture instance's
# name: a rerun after an interruption sees the DDL applied and does not apply it twice.
SCHEMA_CHANGE_PROPERTY = 'sluice_schema_change'


def q_schema_change_marker(schema, table):
    return Statement('SELECT CAST(ep.value AS nvarchar(128)) AS value FROM sys.extended_properties AS ep '
                     'WHERE ep.class = 1 AND ep.major_id = OBJECT_ID(?) AND ep.minor_id = 0 AND ep.name = ?',
                     (qualified(schema, table), SCHEMA_CHANGE_PROPERTY))


def s_mark_schema_change(schema, table, new_instance, update):
    proc = 'sys.sp_updateextendedproperty' if update else 'sys.sp_addextendedproperty'
    return Statement("EXEC %s @name = ?, @value = ?, @level0type = N'SCHEMA', @level0name = ?, "
                     "@level1type = N'TABLE', @level1name = ?" % proc,
                     (SCHEMA_CHANGE_PROPERTY, new_instance, schema, table))


def read_schema_change_marker(conn, schema, table):
    """The capture instance name of the last schema change applied through Sluice to the table, or None."""
    rows = conn.query(q_schema_change_marker(schema, table))
    return rows[0]['value'] if rows else None


def s_seed_heartbeat(schema, table):
    name = qualified(schema, table)
    return Statement('INSERT INTO %s (id, ts) SELECT 1, SYSUTCDATETIME() WHERE NOT EXISTS '
                     '(SELECT 1 FROM %s WHERE id = 1)' % (name, name), ())


def s_create_login(login, password):
    """CREATE LOGIN cannot take parameters: sp_executesql builds it from bound values (QUOTENAME/REPLACE server-side)."""
    return Statement(
        "DECLARE @sql nvarchar(max) = N'CREATE LOGIN ' + QUOTENAME(?) + N' WITH PASSWORD = N''' "
        "+ REPLACE(?, N'''', N'''''') + N''', DEFAULT_DATABASE = ' + QUOTENAME(DB_NAME()) "
        "+ N', CHECK_POLICY = ON'; EXEC sys.sp_executesql @sql", (login, password))


def s_create_user(user, login):
    return Statement('CREATE USER %s FOR LOGIN %s' % (quote_name(user), quote_name(login)), ())


def s_grant_select_object(schema, table, user):
    return Statement('GRANT SELECT ON OBJECT::%s TO %s' % (qualified(schema, table), quote_name(user)), ())


def s_grant_insert_object(schema, table, user):
    return Statement('GRANT INSERT ON OBJECT::%s TO %s' % (qualified(schema, table), quote_name(user)), ())


def s_grant_update_object(schema, table, user):
    return Statement('GRANT UPDATE ON OBJECT::%s TO %s' % (qualified(schema, table), quote_name(user)), ())


def s_grant_select_schema(schema, user):
    return Statement('GRANT SELECT ON SCHEMA::%s TO %s' % (quote_name(schema), quote_name(user)), ())


def s_add_role_member(role, user):
    return Statement('ALTER ROLE %s ADD MEMBER %s' % (quote_name(role), quote_name(user)), ())


def s_grant_server_permission(permission, login):
    """Server-scope permissions are granted in master: the GRANT runs through master's sp_executesql."""
    if permission not in ('VIEW SERVER STATE',):
        raise MssqlError('unsupported server permission %r' % permission)
    return Statement('EXEC master.sys.sp_executesql ?', ('GRANT %s TO %s' % (permission, quote_name(login)),))


# -- state readers ---------------------------------------------------------------------------------

def lsn_hex(value):
    """binary(10) LSN -> '0x0000002A000001F00003' (as SQL Server prints it); None stays None."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return '0x' + bytes(value).hex().upper()
    return str(value)


def read_cdc_state(conn):
    """CDC state of the connection's database: enabled flag, recovery model, capture instances, jobs."""
    rows = conn.query(q_database())
    if not rows:
        raise MssqlError('the current database is not visible in sys.databases')
    db = rows[0]
    state = {'database': db['name'], 'is_cdc_enabled': bool(db['is_cdc_enabled']),
             'recovery_model': db['recovery_model_desc'], 'tables': {}, 'jobs': {}}
    if not state['is_cdc_enabled']:
        return state
    columns = collections.defaultdict(list)
    for row in conn.query(q_captured_columns()):
        columns[row['capture_instance']].append(row['column_name'])
    for row in conn.query(q_capture_instances()):
        key = '%s.%s' % (row['source_schema'], row['source_table'])
        state['tables'].setdefault(key, []).append({
            'capture_instance': row['capture_instance'],
            'start_lsn': lsn_hex(row['start_lsn']),
            'create_date': str(row['create_date']) if row['create_date'] is not None else None,
            'role_name': row['role_name'],
            'filegroup_name': row['filegroup_name'],
            'supports_net_changes': bool(row['supports_net_changes']),
            'columns': columns.get(row['capture_instance'], []),
        })
    for row in conn.query(q_jobs()):
        job = {k: row[k] for k in ('maxtrans', 'maxscans', 'continuous', 'pollinginterval', 'retention', 'threshold')}
        job['continuous'] = bool(job['continuous']) if job['continuous'] is not None else None
        state['jobs'][row['job_type']] = job
    return state


def read_server_facts(conn):
    """Version, edition and Agent status; the Agent is None when sys.dm_server_services cannot be read."""
    server = conn.query(q_server())[0]
    facts = {'product_version': server['product_version'], 'edition': server['edition'],
             'engine_edition': server['engine_edition'], 'agent_status': None}
    try:
        agents = conn.query(q_agent())
    except MssqlError as e:
        facts['agent_error'] = str(e)
    else:
        facts['agent_status'] = agents[0]['status_desc'] if agents else 'not found'
    return facts


# -- preflight (pure) ------------------------------------------------------------------------------

MIN_VERSION = (13, 0, 4001)  # SQL Server 2016 SP1
ENGINE_EDITIONS = {1: 'Personal/Desktop', 2: 'Standard', 3: 'Enterprise', 4: 'Express', 5: 'Azure SQL Database',
                   6: 'Azure Synapse Analytics', 8: 'Azure SQL Managed Instance', 9: 'Azure SQL Edge',
                   11: 'Azure Synapse serverless SQL pool', 12: 'Microsoft Fabric SQL database'}


def parse_version(text):
    try:
        return tuple(int(p) for p in str(text).split('.')[:3])
    except ValueError:
        return None


def preflight_findings(facts, settings):
    """Problems that stop (``severity: error``) or deserve a word (``warning``) before CDC is set up.

    ``facts``: ``product_version``, ``edition``, ``engine_edition``, ``agent_status`` (``Running``, another status,
    ``not found`` or None when unreadable), ``recovery_model``, ``is_cdc_enabled``, ``jobs`` (cdc_jobs rows by type),
    ``tables`` (capture instances by ``schema.table``). ``settings``: ``max_outage`` (minutes), ``retention``
    (minutes the role will set, or None to keep the server's), ``tables`` (configured ``schema.table`` names),
    ``require_cdc_enabled`` (check that every table is already captured: true after the role enabled CDC).
    Pure: returns a list of ``{'check', 'severity', 'msg'}``.
    """
    found = []

    def add(check, severity, msg):
        found.append({'check': check, 'severity': severity, 'msg': msg})

    engine = facts.get('engine_edition')
    managed_instance = engine == 8
    version = parse_version(facts.get('product_version'))
    if not managed_instance:
        if version is None:
            add('version', 'error', 'cannot read the SQL Server version (SERVERPROPERTY(ProductVersion) = %r)'
                % facts.get('product_version'))
        elif version < MIN_VERSION:
            add('version', 'error', 'SQL Server %s is too old: CDC with Debezium needs SQL Server 2016 SP1 '
                '(13.0.4001) or later' % facts.get('product_version'))
    edition = facts.get('edition') or ''
    if engine == 4 or 'express' in edition.lower():
        add('edition', 'error', 'SQL Server Express (%s) has no SQL Server Agent and cannot run CDC; use Standard, '
            'Enterprise or Developer' % edition)
    elif engine not in (2, 3, 8):
        add('edition', 'error', 'edition %s (EngineEdition %s, %s) is not supported: use SQL Server Standard, '
            'Enterprise or Developer, or Azure SQL Managed Instance'
            % (edition or '?', engine, ENGINE_EDITIONS.get(engine, 'unknown')))
    agent = facts.get('agent_status')
    if not managed_instance:  # on a Managed Instance the Agent always runs and is not listed
        if agent is None:
            add('agent', 'error', 'cannot read the SQL Server Agent status from sys.dm_server_services (needs VIEW '
                'SERVER STATE): %s' % facts.get('agent_error', 'no answer'))
        elif agent != 'Running':
            add('agent', 'error', 'SQL Server Agent is %s: the CDC capture and cleanup jobs only run while it runs '
                '(start it and set it to start automatically)' % agent)
    if facts.get('recovery_model') == 'SIMPLE':
        add('recovery_model', 'warning', 'database recovery model is SIMPLE: CDC works, but the log cannot be reused '
            'until the capture job has read it (log_reuse_wait_desc = REPLICATION), so a stopped Agent grows the log')
    max_outage = settings.get('max_outage')
    retention = settings.get('retention')
    if retention is None:
        retention = ((facts.get('jobs') or {}).get('cleanup') or {}).get('retention')
    if max_outage and retention is not None and retention < max_outage:
        add('retention', 'error', 'CDC cleanup retention is %d minutes, shorter than sqlserver_source_max_outage (%d '
            'minutes): changes older than the retention are deleted before a connector down that long reads them'
            % (retention, max_outage))
    if settings.get('require_cdc_enabled'):
        if not facts.get('is_cdc_enabled'):
            add('cdc', 'error', 'CDC is not enabled on database %s' % facts.get('database', '?'))
        else:
            captured = facts.get('tables') or {}
            missing = [t for t in settings.get('tables') or [] if not captured.get(t)]
            if missing:
                add('cdc', 'error', 'CDC is not enabled on table(s): %s' % ', '.join(missing))
    return found
