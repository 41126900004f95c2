#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_info
short_description: Read the SQL Server facts that CDC with Debezium depends on
version_added: "0.1.0"
description:
  - Read-only. Returns the server's version and edition (C(SERVERPROPERTY)), the SQL Server Agent status
    (C(sys.dm_server_services)), the database's recovery model and CDC flag (C(sys.databases)), its capture
    instances with their columns and start LSNs (C(cdc.change_tables), C(cdc.captured_columns)) and the CDC job
    settings (C(msdb.dbo.cdc_jobs)).
  - With O(preflight), also evaluates the sqlserver_source role's preflight checks on these facts and returns the
    findings (errors and warnings); the module itself never fails on a finding.
  - A connection failure fails the task with a message naming the host, port, database, login and driver.
author:
  - Sluice developers
requirements:
  - pyodbc
  - the Microsoft C(ODBC Driver 18 for SQL Server) (package C(msodbcsql18)) or FreeTDS's ODBC driver (package
    C(tdsodbc)) with unixODBC, on the host that runs the module
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  preflight:
    description:
      - Preflight settings; when given the result contains RV(findings).
    type: dict
    suboptions:
      max_outage:
        description: Longest connector outage (minutes) that must not lose changes; compared with the cleanup retention.
        type: int
      retention:
        description: Cleanup retention (minutes) that will be set; when omitted the server's current one is used.
        type: int
      tables:
        description: Tables (C(schema.table)) that must be captured when O(preflight.require_cdc_enabled=true).
        type: list
        elements: str
        default: []
      require_cdc_enabled:
        description: Report every table of O(preflight.tables) without a capture instance as an error.
        type: bool
        default: false
  rotation:
    description:
      - When given, also derives the state of a capture-instance rotation after a schema change (see the
        schema_change playbook) and returns it as RV(rotation). An impossible rotation (for example a table that
        already has two capture instances and none of them is O(rotation.new_instance)) fails the task.
    type: dict
    suboptions:
      table:
        description: Table as C(schema.table).
        type: str
        required: true
      new_instance:
        description: Name of the capture instance to rotate to.
        type: str
        required: true
      ddl_applied:
        description:
          - Whether the schema change has been applied to the table (by the operator's own migration tool).
          - Not needed when it was applied by M(sluice.cdc.mssql_cdc) O(sluice.cdc.mssql_cdc#module:schema_change);
            the table's marker for O(rotation.new_instance) counts as applied.
        type: bool
        default: false
      connector_offsets:
        description:
          - The source connector's offsets, as returned by Kafka Connect's C(GET /connectors/<name>/offsets)
            (Debezium's C(commit_lsn)/C(change_lsn)); omitted means the position is unknown.
        type: raw
      role_name:
        description: Gating role shown in the dry-run text of the new capture instance.
        type: str
extends_documentation_fragment:
  - sluice.cdc.mssql
seealso:
  - module: sluice.cdc.mssql_cdc
"""

EXAMPLES = r"""
- name: Gather SQL Server facts and the preflight findings
  sluice.cdc.mssql_info:
    database: sluice_demo
    preflight:
      max_outage: 1440
      tables: [dbo.orders, dbo.customers]
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sqlserver_admin_password }}"
  register: sqlserver
  delegate_to: localhost
"""

RETURN = r"""
server:
  description: Server facts.
  returned: always
  type: dict
  contains:
    product_version:
      description: C(SERVERPROPERTY('ProductVersion')).
      type: str
    edition:
      description: C(SERVERPROPERTY('Edition')).
      type: str
    engine_edition:
      description: C(SERVERPROPERTY('EngineEdition')) (2 Standard, 3 Enterprise/Developer, 4 Express, 8 Managed Instance).
      type: int
    agent_status:
      description: C(status_desc) of the SQL Server Agent service, C(not found), or null when unreadable.
      type: str
  sample: {product_version: 16.0.4135.4, edition: Developer Edition (64-bit), engine_edition: 3, agent_status: Running}
cdc:
  description: CDC state of the database, as M(sluice.cdc.mssql_cdc) returns it.
  returned: always
  type: dict
  sample: {database: sluice_demo, is_cdc_enabled: true, recovery_model: FULL, tables: {}, jobs: {}}
rotation:
  description:
    - Rotation state (C(preflight), C(apply_ddl), C(create_new_instance), C(wait_connector_switched),
      C(drop_old_instance) or C(done)) with C(old_instance), C(new_instance), C(new_start_lsn), C(connector_lsn),
      C(ddl_marker) (the table's schema-change marker, or null), C(msg) and C(steps) (one line per remaining step, the current one marked C(->)).
  returned: when O(rotation) is given
  type: dict
  sample:
    state: wait_connector_switched
    table: dbo.orders
    old_instance: dbo_orders
    new_instance: dbo_orders_v2
    new_start_lsn: "0x0000003000000A100001"
    connector_lsn: "0000002f:00000100:0001"
findings:
  description: Preflight findings, each with C(check), C(severity) (C(error) or C(warning)) and C(msg).
  returned: when O(preflight) is given
  type: list
  elements: dict
  sample:
    - {check: agent, severity: error, msg: "SQL Server Agent is Stopped: ..."}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils import mssql
from ansible_collections.sluice.cdc.plugins.module_utils.mssql import MssqlError
from ansible_collections.sluice.cdc.plugins.module_utils.rotation import RotationError
from ansible_collections.sluice.cdc.plugins.module_utils import rotation as rot


def make_connection(params):
    """Open the connection; replaced by a fake in unit tests."""
    return mssql.connect(params)


def rotation_state(spec, cdc, marker=None):
    """The rotation state of ``spec['table']`` from the CDC state, the table's schema-change marker (see
    mssql_cdc's schema_change) and the connector's offsets."""
    schema, table = mssql.split_table(spec['table'])
    key = '%s.%s' % (schema, table)
    instances = next((v for k, v in (cdc.get('tables') or {}).items() if k.lower() == key.lower()), [])
    position = rot.connector_lsn(spec.get('connector_offsets'), cdc.get('database'))
    marked = marker is not None and marker.lower() == spec['new_instance'].lower()
    state = rot.current_state({'table': key, 'new_instance': spec['new_instance'], 'instances': instances,
                               'ddl_applied': spec.get('ddl_applied') or marked, 'connector_lsn': position})
    state['ddl_marker'] = marker
    state['connector_lsn'] = position
    state['steps'] = rot.describe(state, spec.get('role_name'))
    return state


def run(module):
    params = module.params
    try:
        conn = make_connection(params)
        server = mssql.read_server_facts(conn)
        cdc = mssql.read_cdc_state(conn)
        tables = [mssql.split_table(t) for t in (params.get('preflight') or {}).get('tables') or []]
    except MssqlError as e:
        module.fail_json(msg=str(e))
    result = {'changed': False, 'server': server, 'cdc': cdc}
    if params.get('preflight') is not None:
        pre = params['preflight']
        facts = dict(server, **cdc)
        settings = {'max_outage': pre.get('max_outage'), 'retention': pre.get('retention'),
                    'tables': ['%s.%s' % t for t in tables], 'require_cdc_enabled': pre.get('require_cdc_enabled')}
        result['findings'] = mssql.preflight_findings(facts, settings)
    if params.get('rotation') is not None:
        try:
            marker = mssql.read_schema_change_marker(conn, *mssql.split_table(params['rotation']['table']))
            result['rotation'] = rotation_state(params['rotation'], cdc, marker)
        except (RotationError, MssqlError) as e:
            module.fail_json(msg=str(e), server=server, cdc=cdc)
    module.exit_json(**result)


def main():
    argument_spec = dict(
        preflight=dict(type='dict', options=dict(
            max_outage=dict(type='int'),
            retention=dict(type='int'),
            tables=dict(type='list', elements='str', default=[]),
            require_cdc_enabled=dict(type='bool', default=False),
        )),
        rotation=dict(type='dict', options=dict(
            table=dict(type='str', required=True),
            new_instance=dict(type='str', required=True),
            ddl_applied=dict(type='bool', default=False),
            connector_offsets=dict(type='raw'),
            role_name=dict(type='str'),
        )),
    )
    argument_spec.update(mssql.connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not mssql.HAS_PYODBC:
        module.fail_json(msg=missing_required_lib('pyodbc'), exception=mssql.PYODBC_IMPORT_ERROR)
    run(module)


if __name__ == '__main__':
    main()
