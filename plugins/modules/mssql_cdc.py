#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_cdc
short_description: Enable SQL Server change data capture on a database and its tables idempotently
version_added: "0.1.0"
description:
  - Ensures that change data capture (CDC) is enabled on a SQL Server database and that each listed table has a
    capture instance (C(sys.sp_cdc_enable_db), C(sys.sp_cdc_enable_table) with C(@supports_net_changes = 0), as
    the Debezium SQL Server connector expects), or that named capture instances are gone
    (C(sys.sp_cdc_disable_table)), or only reports the CDC state.
  - With O(state=present) it can also create the Debezium signal table and the heartbeat table (with its single
    row C(id = 1)), tune the capture and cleanup jobs (C(sys.sp_cdc_change_job), then a restart of the capture job
    so that the change takes effect), and give the Debezium login least-privilege read access (O(reader)).
  - The module first reads the current state and computes a plan (a list of actions), validates it, and only then
    applies it in order. Check mode returns the same plan and sends no write statement; C(--diff) shows the CDC
    state before and after.
  - A table has at most two capture instances (a SQL Server limit); a request that would need a third fails
    before anything changes.
  - Every value is sent as a bound parameter; identifiers are quoted like C(QUOTENAME).
author:
  - Sluice developers
requirements:
  - pyodbc
  - the Microsoft C(ODBC Driver 18 for SQL Server) (package C(msodbcsql18)) or FreeTDS's ODBC driver (package
    C(tdsodbc)) with unixODBC, on the host that runs the module (usually the controller, C(delegate_to=localhost))
attributes:
  check_mode:
    support: full
    description: Reads the state and returns the plan without sending any write statement.
  diff_mode:
    support: full
    description: Returns the CDC state (database flag, capture instances, job settings) before and after.
options:
  state:
    description:
      - V(present) enables CDC on the database and creates the missing capture instances (and the other objects
        requested).
      - V(absent) disables the capture instances named by O(tables[].capture_instance) that exist; the database
        stays CDC-enabled.
      - V(info) only reads and returns the state.
    type: str
    choices: [present, absent, info]
    default: present
  tables:
    description:
      - Source tables and their capture instances.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Table as C(schema.table) (C(dbo) when the schema is omitted); brackets are allowed.
        type: str
        required: true
      capture_instance:
        description:
          - Name of the capture instance (at most 100 characters).
          - With O(state=present) and no name, any existing capture instance of the table is enough; a new one gets
            SQL Server's default name C(<schema>_<table>).
          - With O(state=present) and a name the table does not have yet, a second capture instance is created
            (this is how a schema change is picked up, see the schema_change playbook); a third is refused.
          - Required with O(state=absent).
        type: str
      role_name:
        description:
          - Gating role of the capture instance (C(@role_name)); omitted or null means no gating role (C(NULL)).
          - SQL Server creates the role if it does not exist.
        type: str
      filegroup:
        description: Filegroup of the change table (C(@filegroup_name)); default is the database's default filegroup.
        type: str
      captured_columns:
        description: Columns to capture (C(@captured_column_list)); all columns when omitted.
        type: list
        elements: str
  enable_database:
    description: With O(state=present), run C(sys.sp_cdc_enable_db) when the database is not yet CDC-enabled.
    type: bool
    default: true
  signal_table:
    description:
      - With O(state=present), create this Debezium signal table (C(schema.table)) when it is missing, as
        C((id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)).
      - List it in O(tables) too so that it is captured.
    type: str
  heartbeat_table:
    description:
      - With O(state=present), create this heartbeat table (C(schema.table)) when it is missing, as
        C((id INT PRIMARY KEY, ts DATETIME2(7) NOT NULL)), and insert its row C(id = 1) when missing.
      - List it in O(tables) too so that it is captured and replicates.
    type: str
  capture_job:
    description:
      - Settings of the database's CDC capture job (C(sys.sp_cdc_change_job @job_type = N'capture')); only the
        given ones are compared and changed. A change restarts the capture job.
    type: dict
    suboptions:
      pollinginterval:
        description: Seconds between log scan cycles.
        type: int
      maxtrans:
        description: Transactions processed per scan cycle.
        type: int
      maxscans:
        description: Scan cycles executed before the job pauses for O(capture_job.pollinginterval).
        type: int
  schema_change:
    description:
      - With O(state=present), apply a schema change (DDL) to a captured table before its capture-instance
        rotation (the schema_change playbook). The statements in O(schema_change.ddl) run in one transaction
        together with a marker on the table (extended property C(sluice_schema_change) = O(schema_change.new_instance)).
      - Idempotent. When the table already carries the marker for O(schema_change.new_instance) nothing runs, so a
        rotation interrupted after its DDL does not apply it twice.
      - The DDL is trusted SQL text from the operator (like a migration), run as given.
    type: dict
    suboptions:
      table:
        description: The table the DDL changes (C(schema.table)).
        type: str
        required: true
      new_instance:
        description: The capture instance the rotation creates after the DDL (the marker's value).
        type: str
        required: true
      ddl:
        description: DDL statements, each run separately, all in one transaction.
        type: list
        elements: str
        required: true
  cleanup_job:
    description: Settings of the database's CDC cleanup job (C(sys.sp_cdc_change_job @job_type = N'cleanup')).
    type: dict
    suboptions:
      retention:
        description: Minutes change rows are kept (SQL Server's default is 4320, three days).
        type: int
  reader:
    description:
      - With O(state=present), least-privilege access for the Debezium login. Creates the login (with
        O(reader.password), only when it does not exist; an existing login's password is left alone) and its
        database user, grants SELECT on every table of O(tables) and on schema C(cdc), adds the user to every
        gating role of O(tables), grants INSERT on O(reader.signal_table), UPDATE on O(reader.heartbeat_table) and, when
        O(reader.view_server_state=true), VIEW SERVER STATE (Debezium reads the Agent status from
        C(sys.dm_server_services)).
      - Nothing is revoked.
    type: dict
    suboptions:
      login:
        description: Login name.
        type: str
        required: true
      password:
        description: Password used when the login is created.
        type: str
      user:
        description: Database user name; defaults to the login name.
        type: str
      view_server_state:
        description: Grant VIEW SERVER STATE to the login.
        type: bool
        default: true
      signal_table:
        description: Signal table (C(schema.table)) the connector writes to; INSERT is granted on it.
        type: str
      heartbeat_table:
        description:
          - Heartbeat table (C(schema.table)) the connector's C(heartbeat.action.query) updates; UPDATE is granted
            on it.
        type: str
extends_documentation_fragment:
  - sluice.cdc.mssql
notes:
  - Enabling CDC on a database requires membership in C(sysadmin) (on Azure SQL Managed Instance as well).
  - The SQL Server Agent must run for the capture job to fill the change tables; M(sluice.cdc.mssql_info) reports
    its status.
seealso:
  - name: sys.sp_cdc_enable_table
    description: SQL Server reference of the procedure the module calls.
    link: https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sys-sp-cdc-enable-table-transact-sql
  - module: sluice.cdc.mssql_info
"""

EXAMPLES = r"""
- name: Capture the pipeline's tables
  sluice.cdc.mssql_cdc:
    database: sluice_demo
    tables:
      - name: dbo.orders
      - name: dbo.customers
        role_name: sluice_cdc_reader
      - name: dbo.line_items
        captured_columns: [id, order_id, sku, quantity]
    capture_job: {pollinginterval: 1, maxtrans: 500, maxscans: 10}
    cleanup_job: {retention: 4320}
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sqlserver_admin_password }}"
  delegate_to: localhost

- name: Report the CDC state
  sluice.cdc.mssql_cdc:
    state: info
    database: sluice_demo
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sqlserver_admin_password }}"
  register: cdc
  delegate_to: localhost

- name: Drop the old capture instance after a schema change
  sluice.cdc.mssql_cdc:
    state: absent
    database: sluice_demo
    tables:
      - name: dbo.orders
        capture_instance: dbo_orders
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sqlserver_admin_password }}"
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description:
    - Actions computed from the current state, in the order they are (or, in check mode, would be) applied.
      Empty when nothing had to change.
    - C(action) is one of C(enable_db), C(create_table), C(seed_heartbeat), C(enable_table),
      C(disable_instance), C(change_job), C(restart_job), C(create_login), C(create_user), C(grant),
      C(add_role_member), C(grant_server).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: enable_db}
    - {action: enable_table, table: dbo.orders, capture_instance: dbo_orders, role_name: null, filegroup: null,
       captured_columns: null}
statements:
  description:
    - The SQL statements of RV(plan) with their bound parameters (a password shows as C(********)). In check mode
      these were not sent.
  returned: always
  type: list
  elements: dict
  sample:
    - {sql: "EXEC sys.sp_cdc_enable_db", params: []}
applied:
  description: Actions of RV(plan) applied before a later action failed.
  returned: when applying the plan failed
  type: list
  elements: dict
cdc:
  description:
    - CDC state after the task (in check mode the predicted state; with O(state=info) the current state).
  returned: always
  type: dict
  contains:
    database:
      description: Database name.
      type: str
    is_cdc_enabled:
      description: C(sys.databases.is_cdc_enabled).
      type: bool
    recovery_model:
      description: C(sys.databases.recovery_model_desc).
      type: str
    tables:
      description:
        - Capture instances by C(schema.table), oldest first, each with C(capture_instance), C(start_lsn)
          (hex, C(null) for a predicted instance), C(create_date), C(role_name), C(filegroup_name),
          C(supports_net_changes) and C(columns).
      type: dict
    jobs:
      description: C(msdb.dbo.cdc_jobs) settings by job type (C(capture), C(cleanup)).
      type: dict
  sample:
    database: sluice_demo
    is_cdc_enabled: true
    recovery_model: FULL
    tables:
      dbo.orders:
        - {capture_instance: dbo_orders, start_lsn: "0x0000002A000001F00003", create_date: "2025-01-01 10:00:00",
           role_name: null, filegroup_name: null, supports_net_changes: false,
           columns: [id, customer_id, status, total, ordered_at]}
    jobs:
      capture: {maxtrans: 500, maxscans: 10, continuous: true, pollinginterval: 5, retention: 0, threshold: 0}
      cleanup: {maxtrans: 0, maxscans: 0, continuous: false, pollinginterval: 0, retention: 4320, threshold: 5000}
"""

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.mssql import MssqlError

MAX_INSTANCES = 2


class PlanError(Exception):
    """The requested state cannot be reached; raised before anything changes."""


def table_key(name):
    schema, table = mssql.split_table(name)
    return '%s.%s' % (schema, table)


def find_instances(state, key):
    """Capture instances of ``key`` (case-insensitive, as SQL Server's default collation)."""
    for name, instances in (state.get('tables') or {}).items():
        if name.lower() == key.lower():
            return instances
    return []


def normalize_tables(params):
    out = []
    for spec in params.get('tables') or []:
        try:
            schema, table = mssql.split_table(spec['name'])
        except MssqlError as e:
            raise PlanError(str(e))
        ci = spec.get('capture_instance')
        if ci is not None:
            ci = ci.rstrip()
            if not ci or len(ci) > mssql.MAX_CAPTURE_INSTANCE or '\x00' in ci:
                raise PlanError('capture_instance of %s must be 1 to %d characters' % (spec['name'],
                                                                                    mssql.MAX_CAPTURE_INSTANCE))
        cols = spec.get('captured_columns')
        for ident in [spec.get('role_name'), spec.get('filegroup')] + list(cols or []):
            if ident is not None:
                try:
                    mssql.quote_name(ident)
                except MssqlError as e:
                    raise PlanError('table %s: %s' % (spec['name'], e))
        out.append({'schema': schema, 'table': table, 'key': '%s.%s' % (schema, table), 'capture_instance': ci,
                    'role_name': spec.get('role_name') or None, 'filegroup': spec.get('filegroup') or None,
                    'captured_columns': list(cols) if cols else None})
    return out


def plan_schema_change(params, current):
    change = params.get('schema_change')
    if not change:
        return []
    try:
        key = table_key(change['table'])
    except MssqlError as e:
        raise PlanError('schema_change.table: %s' % e)
    ddl = [d for d in change['ddl'] if d and d.strip()]
    if not ddl or len(ddl) != len(change['ddl']):
        raise PlanError('schema_change.ddl must be a list of non-empty statements')
    marker = current.get('schema_change_marker')
    if marker is not None and marker.lower() == change['new_instance'].lower():
        return []
    return [{'action': 'apply_ddl', 'table': key, 'new_instance': change['new_instance'], 'statements': len(ddl),
             'update_marker': marker is not None}]


def plan_tables(params, current, tables):
    plan = []
    if params['state'] == 'absent':
        for t in tables:
            if not t['capture_instance']:
                raise PlanError('capture_instance is required for table %s with state=absent' % t['key'])
            names = [i['capture_instance'].lower() for i in find_instances(current, t['key'])]
            if t['capture_instance'].lower() in names:
                plan.append({'action': 'disable_instance', 'table': t['key'], 'capture_instance': t['capture_instance']})
        return plan
    for t in tables:
        instances = find_instances(current, t['key'])
        names = [i['capture_instance'].lower() for i in instances]
        if t['capture_instance'] is None and instances:
            continue
        ci = t['capture_instance'] or mssql.default_capture_instance(t['schema'], t['table'])
        if ci.lower() in names:
            continue
        if len(instances) >= MAX_INSTANCES:
            raise PlanError('table %s already has %d capture instances (%s); SQL Server allows at most two: drop one '
                            '(state=absent) before creating %s'
                            % (t['key'], len(instances), ', '.join(i['capture_instance'] for i in instances), ci))
        plan.append({'action': 'enable_table', 'table': t['key'], 'capture_instance': ci, 'role_name': t['role_name'],
                     'filegroup': t['filegroup'], 'captured_columns': t['captured_columns']})
    return plan


def plan_jobs(params, current):
    plan = []
    for job_type, option in (('capture', 'capture_job'), ('cleanup', 'cleanup_job')):
        wanted = {k: v for k, v in (params.get(option) or {}).items() if v is not None}
        for key, value in wanted.items():
            if value < 0:
                raise PlanError('%s.%s must not be negative (got %d)' % (option, key, value))
        have = (current.get('jobs') or {}).get(job_type) or {}
        changes = {k: v for k, v in sorted(wanted.items()) if have.get(k) != v}
        if changes:
            plan.append({'action': 'change_job', 'job_type': job_type, 'set': changes})
            if job_type == 'capture':
                plan.append({'action': 'restart_job', 'job_type': 'capture'})
    return plan


def plan_reader(params, current, tables):
    reader = params.get('reader')
    if not reader:
        return []
    login = reader['login']
    user = reader.get('user') or login
    for ident in (login, user):
        try:
            mssql.quote_name(ident)
        except MssqlError as e:
            raise PlanError('reader: %s' % e)
    have = current.get('reader') or {}
    plan = []
    if not have.get('login'):
        if not reader.get('password'):
            raise PlanError('reader.password is required to create login %s' % login)
        plan.append({'action': 'create_login', 'login': login})
    if not have.get('user'):
        plan.append({'action': 'create_user', 'user': user, 'login': login})
    granted = set(tuple(p) for p in have.get('permissions') or [])
    wanted = [('SELECT', 'OBJECT', t['key']) for t in tables]
    wanted.append(('SELECT', 'SCHEMA', 'cdc'))
    for option, perm in (('signal_table', 'INSERT'), ('heartbeat_table', 'UPDATE')):
        if reader.get(option):
            try:
                wanted.append((perm, 'OBJECT', table_key(reader[option])))
            except MssqlError as e:
                raise PlanError('reader.%s: %s' % (option, e))
    seen = set()
    for perm in wanted:
        norm = (perm[0], perm[1], perm[2].lower())
        if norm in seen or norm in {(g[0], g[1], g[2].lower()) for g in granted}:
            continue
        seen.add(norm)
        plan.append({'action': 'grant', 'permission': perm[0], 'class': perm[1], 'on': perm[2], 'user': user})
    roles = {r.lower() for r in have.get('roles') or []}
    for role in sorted({t['role_name'] for t in tables if t['role_name']}):
        if role.lower() not in roles:
            plan.append({'action': 'add_role_member', 'role': role, 'user': user})
    if reader.get('view_server_state', True) and not have.get('view_server_state'):
        plan.append({'action': 'grant_server', 'permission': 'VIEW SERVER STATE', 'login': login})
    return plan


def compute_plan(params, current):
    """Actions that turn ``current`` (see :func:`read_state`) into the requested state. Pure; raises PlanError."""
    tables = normalize_tables(params)
    if params['state'] == 'info':
        return []
    if params['state'] == 'absent':
        return plan_tables(params, current, tables) if current['is_cdc_enabled'] else []
    plan = []
    if not current['is_cdc_enabled']:
        if not params.get('enable_database', True):
            raise PlanError('CDC is not enabled on database %s and enable_database is false' % params['database'])
        plan.append({'action': 'enable_db'})
    existing = {k.lower() for k in current.get('existing_tables') or []}
    for option, kind in (('signal_table', 'signal'), ('heartbeat_table', 'heartbeat')):
        if params.get(option):
            try:
                key = table_key(params[option])
            except MssqlError as e:
                raise PlanError('%s: %s' % (option, e))
            if key.lower() not in existing:
                plan.append({'action': 'create_table', 'table': key, 'kind': kind})
                existing.add(key.lower())
            if kind == 'heartbeat' and not current.get('heartbeat_row'):
                plan.append({'action': 'seed_heartbeat', 'table': key})
    plan += plan_schema_change(params, current)
    missing = [t['key'] for t in tables if t['key'].lower() not in existing]
    if missing:
        raise PlanError('table(s) not found in database %s: %s' % (params['database'], ', '.join(missing)))
    plan += plan_tables(params, current, tables)
    plan += plan_jobs(params, current)
    plan += plan_reader(params, current, tables)
    return plan


def statements_for(action, params):
    """The statements that apply one action."""
    kind = action['action']
    if kind == 'enable_db':
        return [mssql.s_enable_db()]
    if kind in ('create_table', 'seed_heartbeat', 'enable_table', 'disable_instance', 'apply_ddl'):
        schema, table = mssql.split_table(action['table'])
    if kind == 'apply_ddl':
        return [mssql.Statement(sql, ()) for sql in params['schema_change']['ddl']] + \
            [mssql.s_mark_schema_change(schema, table, action['new_instance'], action['update_marker'])]
    if kind == 'create_table':
        cols = mssql.SIGNAL_COLUMNS if action['kind'] == 'signal' else mssql.HEARTBEAT_COLUMNS
        return [mssql.s_create_table(schema, table, cols)]
    if kind == 'seed_heartbeat':
        return [mssql.s_seed_heartbeat(schema, table)]
    if kind == 'enable_table':
        return [mssql.s_enable_table(schema, table, action['capture_instance'], action['role_name'],
                                     action['filegroup'], action['captured_columns'])]
    if kind == 'disable_instance':
        return [mssql.s_disable_instance(schema, table, action['capture_instance'])]
    if kind == 'change_job':
        return [mssql.s_change_job(action['job_type'], action['set'])]
    if kind == 'restart_job':
        return [mssql.Statement('EXEC sys.sp_cdc_stop_job @job_type = ?', (action['job_type'],)),
                mssql.Statement('EXEC sys.sp_cdc_start_job @job_type = ?', (action['job_type'],))]
    if kind == 'create_login':
        return [mssql.s_create_login(action['login'], params['reader']['password'])]
    if kind == 'create_user':
        return [mssql.s_create_user(action['user'], action['login'])]
    if kind == 'grant':
        if action['class'] == 'SCHEMA':
            return [mssql.s_grant_select_schema(action['on'], action['user'])]
        schema, table = mssql.split_table(action['on'])
        if action['permission'] == 'INSERT':
            return [mssql.s_grant_insert_object(schema, table, action['user'])]
        if action['permission'] == 'UPDATE':
            return [mssql.s_grant_update_object(schema, table, action['user'])]
        return [mssql.s_grant_select_object(schema, table, action['user'])]
    if kind == 'add_role_member':
        return [mssql.s_add_role_member(action['role'], action['user'])]
    if kind == 'grant_server':
        return [mssql.s_grant_server_permission(action['permission'], action['login'])]
    raise MssqlError('unknown action %r' % kind)  # pragma: no cover - plans only hold the kinds above


def shown(stmt, params):
    """A statement for the result: the reader password replaced by ********."""
    secret = (params.get('reader') or {}).get('password')
    return {'sql': stmt.sql, 'params': ['********' if secret and p == secret else p for p in stmt.params]}


def read_state(conn, params):
    """Current CDC state plus what the plan needs: which tables exist, the heartbeat row, the reader's grants."""
    state = mssql.read_cdc_state(conn)
    if params['state'] != 'present':
        return state
    names = [t['name'] for t in params.get('tables') or []]
    names += [params[o] for o in ('signal_table', 'heartbeat_table') if params.get(o)]
    existing = []
    for name in names:
        schema, table = mssql.split_table(name)
        if conn.query(mssql.q_table_exists(schema, table))[0]['object_id'] is not None:
            existing.append('%s.%s' % (schema, table))
    state['existing_tables'] = existing
    change = params.get('schema_change')
    if change:
        schema, table = mssql.split_table(change['table'])
        state['schema_change_marker'] = mssql.read_schema_change_marker(conn, schema, table)
    if params.get('heartbeat_table'):
        schema, table = mssql.split_table(params['heartbeat_table'])
        state['heartbeat_row'] = ('%s.%s' % (schema, table)) in existing and \
            conn.query(mssql.q_heartbeat_row(schema, table))[0]['n'] > 0
    reader = params.get('reader')
    if reader:
        user = reader.get('user') or reader['login']
        perms = []
        for row in conn.query(mssql.q_user_permissions(user)):
            if row['class_desc'] == 'SCHEMA':
                perms.append([row['permission_name'], 'SCHEMA', row['schema_name']])
            elif row['class_desc'] == 'OBJECT_OR_COLUMN' and row['object_name']:
                perms.append([row['permission_name'], 'OBJECT', '%s.%s' % (row['schema_name'], row['object_name'])])
        state['reader'] = {
            'login': bool(conn.query(mssql.q_login(reader['login']))),
            'user': bool(conn.query(mssql.q_user(user))),
            'permissions': perms,
            'roles': [r['name'] for r in conn.query(mssql.q_user_roles(user))],
            'view_server_state': bool(conn.query(mssql.q_server_permission(reader['login'], 'VIEW SERVER STATE'))),
        }
    return state


def predict(current, plan):
    """CDC view expected after ``plan``."""
    after = view(current)
    for action in plan:
        kind = action['action']
        if kind == 'enable_db':
            after['is_cdc_enabled'] = True
        elif kind == 'enable_table':
            after['tables'].setdefault(action['table'], []).append({
                'capture_instance': action['capture_instance'], 'start_lsn': None, 'create_date': None,
                'role_name': action['role_name'], 'filegroup_name': action['filegroup'], 'supports_net_changes': False,
                'columns': action['captured_columns'] or []})
        elif kind == 'disable_instance':
            for key in list(after['tables']):
                if key.lower() == action['table'].lower():
                    after['tables'][key] = [i for i in after['tables'][key]
                                            if i['capture_instance'].lower() != action['capture_instance'].lower()]
                    if not after['tables'][key]:
                        del after['tables'][key]
        elif kind == 'change_job':
            after['jobs'].setdefault(action['job_type'], {}).update(action['set'])
    return after


def view(state):
    """The user-facing CDC state (``cdc`` and the diff)."""
    return {k: copy.deepcopy(state.get(k)) for k in ('database', 'is_cdc_enabled', 'recovery_model', 'tables', 'jobs')}


def make_connection(params):
    """Open the connection; replaced by a fake in unit tests."""
    return mssql.connect(params)


def run(module):
    params = dict(module.params)
    try:
        normalize_tables(params)
        conn = make_connection(params)
        current = read_state(conn, params)
        plan = compute_plan(params, current)
        statements = [(a, s) for a in plan for s in statements_for(a, params)]
    except (PlanError, MssqlError) as e:
        module.fail_json(msg=str(e), changed=False)

    done = []
    if not module.check_mode:
        for action in plan:
            try:
                if action['action'] == 'apply_ddl':
                    conn.execute_atomically(statements_for(action, params))
                else:
                    for stmt in statements_for(action, params):
                        conn.execute(stmt)
            except MssqlError as e:
                module.fail_json(msg=str(e), changed=bool(done), plan=plan, applied=done,
                                 statements=[shown(s, params) for _a, s in statements])
            done.append(action)
        if plan:
            try:
                after = view(mssql.read_cdc_state(conn))
            except MssqlError as e:
                module.fail_json(msg='applied the plan but could not read the state back: %s' % e, changed=True,
                                 plan=plan, applied=done)
        else:
            after = view(current)
    else:
        after = predict(current, plan)

    result = {'changed': bool(plan), 'plan': plan, 'statements': [shown(s, params) for _a, s in statements],
              'cdc': after}
    if module._diff:
        result['diff'] = {'before': view(current), 'after': after}
    module.exit_json(**result)


def main():
    argument_spec = dict(
        state=dict(type='str', default='present', choices=['present', 'absent', 'info']),
        tables=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            capture_instance=dict(type='str'),
            role_name=dict(type='str'),
            filegroup=dict(type='str'),
            captured_columns=dict(type='list', elements='str'),
        )),
        enable_database=dict(type='bool', default=True),
        signal_table=dict(type='str'),
        heartbeat_table=dict(type='str'),
        capture_job=dict(type='dict', options=dict(
            pollinginterval=dict(type='int'), maxtrans=dict(type='int'), maxscans=dict(type='int'))),
        cleanup_job=dict(type='dict', options=dict(retention=dict(type='int'))),
        schema_change=dict(type='dict', options=dict(
            table=dict(type='str', required=True),
            new_instance=dict(type='str', required=True),
            ddl=dict(type='list', elements='str', required=True),
        )),
        reader=dict(type='dict', options=dict(
            login=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            user=dict(type='str'),
            view_server_state=dict(type='bool', default=True),
            signal_table=dict(type='str'),
            heartbeat_table=dict(type='str'),
        )),
    )
    argument_spec.update(mssql.connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not mssql.HAS_PYODBC:
        module.fail_json(msg=missing_required_lib('pyodbc'), exception=mssql.PYODBC_IMPORT_ERROR)
    run(module)


if __name__ == '__main__':
    main()
