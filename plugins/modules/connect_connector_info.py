#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: connect_connector_info
short_description: Read connectors, plugins and worker information from Kafka Connect
version_added: "0.1.0"
description:
  - Reads, over the Kafka Connect REST API, the state, tasks and config of connectors, the installed connector
    plugins, and the version and Kafka cluster of the worker. Never changes anything.
  - Values of config keys that look secret (see O(secret_keys)) are masked, unless the value is a config-provider
    reference such as C(${dir:/etc/kafka-connect/secrets:password}), which is shown.
author:
  - Sluice developers
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  names:
    description:
      - Connectors to report. Empty (the default) reports all connectors.
      - Names that do not exist are left out of RV(connectors).
    type: list
    elements: str
    default: []
  gather:
    description:
      - What to read. V(connectors) (C(GET /connectors?expand=status&expand=info)), V(plugins)
        (C(GET /connector-plugins?connectorsOnly=true)), V(worker) (C(GET /)).
    type: list
    elements: str
    choices: [connectors, plugins, worker]
    default: [connectors, plugins, worker]
  secret_keys:
    description:
      - Regular expressions (Python syntax, searched anywhere in the key) for config keys whose values are replaced
        by C(********), unless the value is only config-provider references like C(${file:/path:key}).
    type: list
    elements: str
    default: ['(?i)(password|secret|token|credential|sasl\.jaas\.config|\.key$)']
extends_documentation_fragment:
  - sluice.cdc.connect
seealso:
  - module: sluice.cdc.connect_connector
"""

EXAMPLES = r"""
- name: Read all connectors of the Connect cluster
  sluice.cdc.connect_connector_info:
    url: http://connect-1:8083
  register: connect
  delegate_to: localhost
  run_once: true

- name: Fail if a task of the SQL Server source is not running
  ansible.builtin.assert:
    that:
      - connect.connectors['sqlserver-orders'].state == 'RUNNING'
      - connect.connectors['sqlserver-orders'].tasks | rejectattr('state', 'eq', 'RUNNING') | list | length == 0
    fail_msg: "{{ connect.connectors['sqlserver-orders'] }}"

- name: Check that the Debezium SQL Server plugin is installed
  sluice.cdc.connect_connector_info:
    url: https://connect-1:8443
    ca_path: /etc/pki/connect/ca.pem
    gather: [plugins, worker]
  register: connect_plugins
  failed_when: >-
    'io.debezium.connector.sqlserver.SqlServerConnector'
    not in connect_plugins.plugins | map(attribute='class') | list
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
connectors:
  description:
    - Connectors by name (those of O(names), or all). Config values of secret keys are masked; traces have secret
      values removed.
  returned: when O(gather) contains V(connectors)
  type: dict
  contains:
    type:
      description: V(source) or V(sink).
      type: str
    state:
      description: State of the connector, for example V(RUNNING), V(PAUSED), V(STOPPED), V(FAILED), V(UNASSIGNED).
      type: str
    worker_id:
      description: Worker the connector runs on.
      type: str
    trace:
      description: Stack trace of a failed connector.
      type: str
      returned: when the connector failed
    tasks:
      description: One entry per task with C(id), C(state), C(worker_id), and C(trace) when the task failed.
      type: list
      elements: dict
    config:
      description: The connector's config (with C(name)), secret values masked.
      type: dict
  sample:
    orders-sink:
      type: sink
      state: RUNNING
      worker_id: "10.0.0.5:8083"
      tasks: [{id: 0, state: RUNNING, worker_id: "10.0.0.6:8083"}]
      config: {connector.class: io.debezium.connector.jdbc.JdbcSinkConnector, connection.password: "********",
               name: orders-sink, tasks.max: "1"}
plugins:
  description: Installed connector plugins.
  returned: when O(gather) contains V(plugins)
  type: list
  elements: dict
  sample: [{class: io.debezium.connector.sqlserver.SqlServerConnector, type: source, version: 3.6.1.Final}]
worker:
  description: The worker's C(version), C(commit) and C(kafka_cluster_id).
  returned: when O(gather) contains V(worker)
  type: dict
  sample: {version: 4.3.0, commit: a9ce3221537b8653, kafka_cluster_id: aOx91IvuTJC5NEFyXbNZAw}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import (
    CONNECTION_ARGUMENT_SPEC,
    DEFAULT_SECRET_KEYS,
    ConnectClient,
    ConnectError,
    Masker,
)


def describe(entry, masker):
    """One connector of ``GET /connectors?expand=status&expand=info``, as this module returns it."""
    status = entry.get('status') or {}
    info = entry.get('info') or {}
    connector = status.get('connector') or {}
    out = {
        'type': info.get('type') or status.get('type'),
        'state': connector.get('state'),
        'worker_id': connector.get('worker_id'),
        'tasks': [],
        'config': masker.mask(info.get('config') or {}),
    }
    if connector.get('trace'):
        out['trace'] = connector['trace']
    for task in sorted(status.get('tasks') or [], key=lambda t: t.get('id', 0)):
        shown = {'id': task.get('id'), 'state': task.get('state'), 'worker_id': task.get('worker_id')}
        if task.get('trace'):
            shown['trace'] = task['trace']
        out['tasks'].append(shown)
    return out


def make_client(params):
    """Build the REST client; tests replace its request function."""
    return ConnectClient(params['url'], validate_certs=params['validate_certs'], ca_path=params['ca_path'],
                         client_cert=params['client_cert'], client_key=params['client_key'],
                         url_username=params['url_username'], url_password=params['url_password'],
                         timeout=params['request_timeout'])


def run(module):
    params = module.params
    try:
        masker = Masker(params['secret_keys'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    if params['request_timeout'] < 1:
        module.fail_json(msg='request_timeout must be a positive integer (got %d)' % params['request_timeout'])
    gather = set(params['gather'])
    result = {'changed': False}
    try:
        client = make_client(params)
        if 'connectors' in gather:
            listing = client.list_connectors()
            wanted = set(params['names']) if params['names'] else set(listing)
            for name in listing:
                if name in wanted:
                    module.no_log_values.update(masker.learn(((listing[name] or {}).get('info') or {}).get('config')))
            result['connectors'] = {name: describe(listing[name] or {}, masker)
                                    for name in sorted(listing) if name in wanted}
        if 'plugins' in gather:
            result['plugins'] = [{'class': p.get('class'), 'type': p.get('type'), 'version': p.get('version')}
                                 for p in client.plugins()]
        if 'worker' in gather:
            worker = client.worker()
            result['worker'] = {k: worker.get(k) for k in ('version', 'commit', 'kafka_cluster_id')}
    except ConnectError as e:
        module.fail_json(msg=masker.scrub(str(e)), changed=False)
    module.exit_json(**masker.scrub_data(result))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str', default=[]),
            gather=dict(type='list', elements='str', default=['connectors', 'plugins', 'worker'],
                        choices=['connectors', 'plugins', 'worker']),
            secret_keys=dict(type='list', elements='str', default=list(DEFAULT_SECRET_KEYS), no_log=False),
            **CONNECTION_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == '__main__':
    main()
