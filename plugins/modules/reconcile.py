#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: reconcile
short_description: Compare tables between the pipeline's source and target databases
version_added: "0.1.0"
description:
  - Proves that each target table holds exactly the rows of its source table, or names the differing keys,
    with the collection's reconciliation engine (see C(docs/reconcile.md)).
  - Rows are divided into buckets server-side and only per-bucket aggregates cross the network; in
    O(mode=full) the differing buckets are drilled into down to keys and columns. Buckets are hashes of the key,
    or, for a single integer primary key whose rows are stored in about key order, contiguous key ranges (one
    digest per range, much cheaper); the report's C(partition) tells which.
  - The comparison is read-only. It runs in check mode too; only the report files (O(json_path), O(html_path),
    O(metrics_path)) are not written then.
  - With O(repair) the rows a O(mode=full) run found are repaired afterwards (the module then reports a change) by
    Debezium incremental snapshot signals for the missing and different keys, and/or direct upserts and deletes
    on the PostgreSQL target. In check mode the repair is planned and returned in RV(repair_plan), not run.
  - >-
    Runs wherever the task runs, typically the controller with C(delegate_to: localhost); that host needs
    network access to both databases.
author:
  - Sluice developers
requirements:
  - psycopg >= 3 (PostgreSQL endpoints)
  - pyodbc and an ODBC driver for SQL Server (SQL Server endpoints)
attributes:
  check_mode:
    support: full
    description: Runs the (read-only) comparison and plans the repair; writes no report files, repairs nothing.
  diff_mode:
    support: full
    description: The planned repair statements are shown as the diff.
options:
  source:
    description:
      - Connection settings of the source database.
    type: dict
    required: true
    suboptions: &connection
      engine:
        description: Database engine.
        type: str
        required: true
        choices: [postgresql, sqlserver]
      host:
        description: Host name or address.
        type: str
        required: true
      port:
        description: TCP port; default 5432 (PostgreSQL) or 1433 (SQL Server).
        type: int
      database:
        description: Database name.
        type: str
        required: true
      user:
        description:
          - Login name. For SQL Server without O(source.user) a trusted (Kerberos) connection is used.
        type: str
      password:
        description: Password of the login.
        type: str
      sslmode:
        description: PostgreSQL only; libpq C(sslmode) (V(disable) ... V(verify-full)). Default V(prefer).
        type: str
      sslrootcert:
        description: PostgreSQL only; PEM file of the CA certificates that verify the server (libpq C(sslrootcert)).
        type: path
      sslcert:
        description: PostgreSQL only; PEM file of a client certificate (libpq C(sslcert)).
        type: path
      sslkey:
        description: PostgreSQL only; PEM file of the private key of O(source.sslcert) (libpq C(sslkey)).
        type: path
      encrypt:
        description: SQL Server only; ODBC C(Encrypt) V(yes), V(no) or V(strict). Default V(yes).
        type: str
      trust_server_certificate:
        description: SQL Server only; accept the server certificate without validation.
        type: bool
        default: false
      hostname_in_certificate:
        description: SQL Server only; host name expected in the server certificate (ODBC C(HostNameInCertificate)).
        type: str
      server_certificate:
        description: SQL Server only; the server's own certificate file to match (ODBC C(ServerCertificate), 18.1).
        type: path
      odbc_driver:
        description:
          - SQL Server only; ODBC driver name. Default C(ODBC Driver 18 for SQL Server). A FreeTDS driver
            is recognized by its name and given C(Server)/C(Port)/C(TDS_Version) attributes.
        type: str
      connect_timeout:
        description: Connection timeout in seconds.
        type: int
        default: 30
  target:
    description:
      - Connection settings of the target database; the same sub-options as O(source).
    type: dict
    required: true
    suboptions: *connection
  tables:
    description:
      - Tables to compare. An item is a source table name (C(schema.table) or C(table)), or a dict with
        C(source), C(target) (default the source table name in the target's default schema), C(where)
        (SQL text, or a dict with C(source) and C(target)), C(include), C(exclude), C(key) (default the
        source's primary key) and C(nfc).
    type: list
    elements: raw
    required: true
  mode:
    description:
      - V(count) compares row counts, V(checksum) per-bucket digests, V(full) also lists the differing keys
        and columns.
      - Default V(checksum), or V(full) when O(repair) is set.
    type: str
    choices: [count, checksum, full]
  buckets:
    description: Number of buckets (key hash buckets or key ranges) per table.
    type: int
    default: 1024
  workers:
    description: Tables compared in parallel (each uses one connection per side).
    type: int
    default: 2
  split:
    description:
      - Slices per side of each table's digest scan, each on its own connection and run concurrently (rows are
        split by bucket or key range; with a single integer key the other slices' rows are filtered out in the scan
        itself).
      - For big tables on servers with spare cores; V(1) is one scan per side.
    type: int
    default: 1
  recheck_delay:
    description:
      - O(mode=full) only; seconds to wait before looking again at the differing keys, for rows still in
        flight in the pipeline. V(0) disables the re-check.
    type: float
    default: 0.0
  max_keys:
    description: Keys listed per table and kind (missing, extra, different); the counts stay complete.
    type: int
    default: 1000
  nfc:
    description: Compare text after Unicode NFC normalization (PostgreSQL only).
    type: bool
    default: false
  fail_on_differences:
    description:
      - The task fails when more rows differ than this number. V(0) fails on any difference, V(-1) never
        fails on differences. Errors always fail the task.
      - Outside O(mode=full) the number of differing rows of a differing table is a lower bound (the row count
        difference, or the number of differing buckets, at least 1).
    type: int
    default: 0
  repair:
    description:
      - Repair methods to apply after the comparison; needs O(mode=full) (the default with O(repair)).
      - V(signal) inserts Debezium C(execute-snapshot) signals (incremental, C(additional-conditions) selecting
        exactly the missing and different keys) into the source's O(signal_table); rows only in the target are
        listed as needing V(direct).
      - V(direct) upserts the missing and different rows (the compared columns, from the source) into the
        PostgreSQL target and deletes the rows only in the target, in one transaction per table. With both
        methods the snapshot refills and V(direct) only deletes.
      - A table whose key lists were truncated (see O(max_keys)) is not repaired and reported as an error.
    type: list
    elements: str
    choices: [signal, direct]
    default: []
  signal_table:
    description: The source's Debezium signal table (C(schema.table)), for O(repair=[signal]).
    type: str
    default: dbo.debezium_signal
  json_path:
    description: Write the JSON report (the engine's report plus run metadata) to this path on the managed host.
    type: path
  html_path:
    description: Write a self-contained HTML report to this path.
    type: path
  metrics_path:
    description:
      - Write Prometheus node_exporter textfile-collector metrics to this path (atomically), e.g.
        C(/var/lib/node_exporter/textfile_collector/sluice_reconcile.prom).
    type: path
notes:
  - Tested against PostgreSQL 15 only; the SQL Server dialect is tested on generated statements and value
    normalization. SQL Server 2019 or later and PostgreSQL 14 or later, UTF-8 databases.
seealso:
  - name: Reconciliation
    description: How the comparison works, the report schema and the metrics (docs/reconcile.md).
    link: https://example.invalid/sluice/docs/reconcile.md
"""

EXAMPLES = r"""
- name: Compare two tables down to the differing keys
  sluice.cdc.reconcile:
    source:
      engine: sqlserver
      host: mssql1.example.com
      database: shop
      user: sluice_reader
      password: "{{ vault_mssql_reader_password }}"
    target:
      engine: postgresql
      host: pg1.example.com
      database: shop
      user: sluice_reader
      password: "{{ vault_pg_reader_password }}"
      sslmode: require
    tables:
      - dbo.customers
      - source: dbo.orders
        target: public.orders
        where: "created_at < '2024-01-01'"
    mode: full
    recheck_delay: 10
    html_path: reports/reconcile.html
  delegate_to: localhost
  run_once: true
  register: reconciled

- name: Report, but do not fail, on differences
  sluice.cdc.reconcile:
    source: "{{ reconcile_source }}"
    target: "{{ reconcile_target }}"
    tables: "{{ connectors_tables }}"
    fail_on_differences: -1
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
exit_status:
  description: 0 every table consistent, 1 differences (and no error), 2 an error in at least one table.
  returned: when the comparison ran
  type: int
  sample: 1
summary:
  description:
    - Per source table, its status and counts by kind. C(differences) is exact in O(mode=full) and a lower
      bound otherwise.
  returned: when the comparison ran
  type: dict
  sample:
    dbo.orders:
      target_table: public.orders
      status: different
      rows_source: 1200
      rows_target: 1199
      missing: 1
      extra: 0
      different: 0
      differences: 1
      errors: []
      seconds: 0.42
report:
  description:
    - The engine's report (status, exit_status, mode, buckets, totals, tables with keys and differing
      values) plus C(run) metadata; schema in docs/reconcile.md.
  returned: when the comparison ran
  type: dict
  sample:
    status: consistent
    exit_status: 0
    mode: checksum
    buckets: 1024
    totals: {tables: 1, consistent: 1, different: 0, error: 0}
    tables: []
    run: {started: "2024-05-01T03:00:00.000Z", finished: "2024-05-01T03:00:01.250Z", duration_seconds: 1.25}
repair_plan:
  description: The repair statements, planned (check mode) or run, with a sample of their parameters.
  returned: when O(repair) is set and a table differs
  type: list
  elements: str
  sample: ["[source] snapshot signal for 2 key(s) of shop.dbo.orders\n  INSERT INTO [dbo].[debezium_signal] ..."]
files:
  description: Report files written (none in check mode).
  returned: when the comparison ran
  type: list
  elements: str
  sample: [reports/reconcile.json]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import runner

try:
    import psycopg  # noqa: F401
except ImportError:
    HAS_PSYCOPG, PSYCOPG_IMPORT_ERROR = False, traceback.format_exc()
else:
    HAS_PSYCOPG, PSYCOPG_IMPORT_ERROR = True, None

try:
    import pyodbc  # noqa: F401
except ImportError:
    HAS_PYODBC, PYODBC_IMPORT_ERROR = False, traceback.format_exc()
else:
    HAS_PYODBC, PYODBC_IMPORT_ERROR = True, None


def argument_spec():
    """The runner's one option schema (plugins/module_utils/reconcile/runner.py)."""
    return runner.argument_spec()


def missing_drivers(params):
    """[(library, import error)] for the drivers the two endpoints need but that are not importable."""
    needed = []
    engines = {params['source']['engine'], params['target']['engine']}
    if 'postgresql' in engines and not HAS_PSYCOPG:
        needed.append(('psycopg', PSYCOPG_IMPORT_ERROR))
    if 'sqlserver' in engines and not HAS_PYODBC:
        needed.append(('pyodbc', PYODBC_IMPORT_ERROR))
    return needed


def run(module):
    params = module.params
    try:
        outcome = runner.run(params, dry_run=module.check_mode, write=not module.check_mode)
    except runner.OptionError as e:
        module.fail_json(msg=str(e), changed=False)
    report = outcome.report
    result = dict(changed=outcome.changed, exit_status=report['exit_status'], summary=runner.outputs.summary(report),
                  report=outcome.doc, files=outcome.files)
    if outcome.write_error:
        module.fail_json(msg=outcome.write_error, **dict(result, changed=False))
    if outcome.plan:
        result['repair_plan'] = outcome.plan
        if module._diff:
            result['diff'] = dict(before='', after='\n'.join(outcome.plan) + '\n')
    msg = runner.failure(report, params['fail_on_differences'])
    if msg:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    for lib, error in missing_drivers(module.params):
        module.fail_json(msg=missing_required_lib(lib), exception=error)
    run(module)


if __name__ == '__main__':
    main()
