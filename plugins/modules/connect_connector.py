#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: connect_connector
short_description: Manage one Kafka Connect connector declaratively over the Connect REST API
version_added: "0.1.0"
description:
  - Creates, reconfigures, pauses, resumes, stops, restarts or deletes one Kafka Connect connector, or only
    validates its configuration.
  - The module first reads the connector's config and status and computes a plan (a list of actions such as
    C(create), C(update_config), C(pause), C(resume), C(stop), C(restart) or C(delete)). Before a config is
    created or changed it is validated by the connector plugin, so an invalid config fails before anything
    changes. Then the plan is applied in order and, with O(wait), the module waits until the connector and all
    its tasks are in the requested state.
  - O(config) is the B(complete) connector config. Keys the connector has but O(config) lacks are removed. Values
    are compared as strings, as Connect stores them. Other connectors are never touched.
  - Check mode computes the plan, validates, and reports the predicted result, and changes nothing.
  - Values of keys that look secret (see O(secret_keys)) are masked in the returned config, the plan, the diff
    and in messages, unless the value is a config-provider reference such as C(${dir:/etc/kafka/secrets:password}),
    which is shown.
  - The module talks to the Connect REST API from wherever the task runs, typically the controller with
    C(delegate_to) or a Connect node; it needs no Python package beyond Ansible.
author:
  - Sluice developers
attributes:
  check_mode:
    support: full
    description: Computes the plan and validates the config (both read-only), applies nothing.
  diff_mode:
    support: full
    description: Returns the connector's state and masked config before and after.
options:
  name:
    description:
      - Name of the connector.
    type: str
    required: true
  config:
    description:
      - The complete connector config, including C(connector.class). A C(name) key, if given, must equal O(name).
      - Required unless O(state) is V(absent) or V(restarted), where it is ignored.
      - Booleans are converted to V(true)/V(false), numbers to their decimal string and lists to a comma-separated
        string; values are then compared as strings with the config stored in Connect.
      - Keys of the current config not listed here are removed (the update is a full C(PUT .../config)).
    type: dict
  state:
    description:
      - V(running), V(paused), V(stopped) create or update the connector and bring it to that state. A connector
        that does not exist yet is created directly in the V(paused) or V(stopped) state (C(initial_state),
        Kafka Connect 3.7 or later). A V(stopped) connector has no tasks.
      - With V(running), a connector or task that is C(FAILED) is restarted (only the failed parts) when no config
        change is needed; a config change makes Connect restart the connector and reconfigure its tasks.
      - V(absent) deletes the connector if it exists.
      - V(restarted) restarts an existing connector and its tasks (see O(restart_only_failed)) and always reports a
        change; it fails if the connector does not exist.
      - V(validated) only validates O(config) with the connector plugin; it never creates or changes anything and
        never reports a change. It fails only for errors on keys not listed in O(ignore_validation_errors).
    type: str
    choices: [running, paused, stopped, absent, restarted, validated]
    default: running
  restart_only_failed:
    description:
      - With O(state=restarted), restart only the connector and tasks that are C(FAILED) (C(onlyFailed=true));
        V(false) restarts all of them.
    type: bool
    default: true
  validate:
    description:
      - Validate the config with C(PUT /connector-plugins/{connector.class}/config/validate) before it is created
        or changed, also in check mode. Errors fail the task before any change, listing each field with its
        errors.
      - Kafka Connect itself refuses an invalid config when it is created or changed; validating first keeps a
        multi-action plan from stopping half-way and reports all errors at once.
    type: bool
    default: true
  ignore_validation_errors:
    description:
      - Config keys whose validation errors are returned as warnings instead of failing the task, for example
        C(database.hostname) when validating a database source from where the database is not reachable.
      - Note that Connect repeats the validation when a config is created or changed and refuses it if it has
        errors, so this mainly serves O(state=validated).
    type: list
    elements: str
    default: []
  secret_keys:
    description:
      - Regular expressions (Python syntax, searched anywhere in the key) for config keys whose values are secret.
        Their values are replaced by C(********) in RV(config), RV(plan), the diff and messages, unless the value
        is only config-provider references like C(${file:/path:key}) or C(${dir:/path:key}).
      - In the diff, a secret value that changes is shown as C(******** (changed)) after the change.
    type: list
    elements: str
    default: ['(?i)(password|secret|token|credential|sasl\.jaas\.config|\.key$)']
  wait:
    description:
      - After a change, wait until the connector and all its tasks are C(RUNNING) (V(running); for V(restarted) the
        state the connector had, RUNNING unless it was PAUSED or STOPPED), C(PAUSED) (V(paused)) or C(STOPPED)
        with no tasks (V(stopped)), or until it is gone (V(absent)).
      - If the connector or a task is C(FAILED), or O(wait_timeout) passes, the task fails with the first lines of
        the connector's and tasks' stack traces in the message.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, see O(wait).
    type: int
    default: 180
extends_documentation_fragment:
  - sluice.cdc.connect
notes:
  - The wait checks the state Connect reports. A task that fails later, for example after a connection timeout of
    its own, is not noticed; O(state=running) restarts it on the next run.
  - With O(state=paused), a connector whose status is C(FAILED) is paused again on every run, because Connect does
    not report the target state of a failed connector.
  - Secret values of at least 4 characters are also removed from any text the module returns (for example stack
    traces) and from the module's logged arguments.
seealso:
  - module: sluice.cdc.connect_connector_info
  - name: Kafka Connect REST API
    description: Reference of the endpoints this module uses.
    link: https://kafka.apache.org/documentation/#connect_rest
"""

EXAMPLES = r"""
- name: Run the SQL Server source connector
  sluice.cdc.connect_connector:
    url: http://connect-1:8083
    name: sqlserver-orders
    config:
      connector.class: io.debezium.connector.sqlserver.SqlServerConnector
      tasks.max: 1
      database.hostname: mssql-1
      database.port: 1433
      database.user: debezium
      database.password: ${dir:/etc/kafka-connect/secrets:mssql-password}
      database.names: shop
      database.encrypt: true
      topic.prefix: sqlserver
      table.include.list: dbo.orders
      schema.history.internal.kafka.bootstrap.servers: kafka-1:9092
      schema.history.internal.kafka.topic: schema-history.sqlserver
  delegate_to: localhost
  run_once: true

- name: Validate the config where SQL Server is not reachable (connection errors are only warnings)
  sluice.cdc.connect_connector:
    url: https://connect-1:8443
    ca_path: /etc/pki/connect/ca.pem
    url_username: admin
    url_password: "{{ connect_admin_password }}"
    name: sqlserver-orders
    state: validated
    config: "{{ sqlserver_orders_config }}"
    ignore_validation_errors: [database.hostname]
  delegate_to: localhost
  run_once: true

- name: Stop the sink without deleting it (keeps its offsets)
  sluice.cdc.connect_connector:
    url: http://connect-1:8083
    name: postgres-orders
    state: stopped
    config: "{{ postgres_orders_config }}"
  delegate_to: localhost
  run_once: true

- name: Restart the failed tasks of a connector
  sluice.cdc.connect_connector:
    url: http://connect-1:8083
    name: postgres-orders
    state: restarted
  delegate_to: localhost
  run_once: true

- name: Delete a connector
  sluice.cdc.connect_connector:
    url: http://connect-1:8083
    name: scratch
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
plan:
  description:
    - Actions computed from the current state, in the order they are (or, in check mode, would be) applied.
      Empty when nothing had to change.
    - C(create) carries C(initial_state) (V(PAUSED), V(STOPPED) or null for running); C(update_config) carries
      C(set) (changed or added keys with their new, masked values) and C(remove) (keys removed); C(restart) carries
      C(only_failed); C(pause), C(resume), C(stop) and C(delete) carry nothing else.
  returned: always
  type: list
  elements: dict
  sample:
    - {action: update_config, connector: orders-sink, set: {tasks.max: "2", connection.password: "********"},
       remove: [batch.size]}
    - {action: resume, connector: orders-sink}
applied:
  description: Actions of RV(plan) that were applied before a later action failed.
  returned: when applying the plan failed
  type: list
  elements: dict
  sample: [{action: update_config, connector: orders-sink, set: {tasks.max: "2"}, remove: []}]
state:
  description:
    - State of the connector after the task (in check mode the predicted state) as requested, V(absent) if it
      does not exist. For V(restarted) and when nothing changed, the state Connect reported, in lower case
      (V(running), V(paused), V(stopped), V(failed), V(unassigned), V(restarting)).
  returned: unless O(state=validated)
  type: str
  sample: running
config:
  description:
    - The connector's config after the task (in check mode the predicted config; with O(state=validated) the
      config validated), values as strings, secret values masked, without the C(name) key Connect adds. Null
      when the connector does not exist.
  returned: always
  type: dict
  sample: {connector.class: io.confluent.connect.jdbc.JdbcSinkConnector, tasks.max: "1",
           connection.password: "********", connection.user: "${dir:/etc/kafka-connect/secrets:pg-user}"}
status:
  description:
    - The connector's status as Connect reports it (C(GET /connectors/{name}/status)), after the wait when the
      module waited, or as read when nothing had to change. Secret values are removed from traces.
  returned: when the connector exists and nothing changed, or the module waited for a state
  type: dict
  contains:
    connector:
      description: C(state) and C(worker_id) of the connector (C(trace) when it failed).
      type: dict
    tasks:
      description: One entry per task with C(id), C(state), C(worker_id) (C(trace) when it failed).
      type: list
      elements: dict
    type:
      description: V(source) or V(sink).
      type: str
  sample:
    connector: {state: RUNNING, worker_id: "10.0.0.5:8083"}
    tasks: [{id: 0, state: RUNNING, worker_id: "10.0.0.6:8083"}]
    type: sink
validation_errors:
  description:
    - Errors the connector plugin reported for the config, by key (including the keys listed in
      O(ignore_validation_errors)). Empty when the config is valid.
  returned: when the config was validated
  type: dict
  sample: {database.hostname: ["Unable to connect: Login failed for user 'debezium'"]}
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sluice.cdc.plugins.module_utils.config_values import PlanError, config_string
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import (
    CONNECTION_ARGUMENT_SPEC,
    DEFAULT_SECRET_KEYS,
    MASK,
    ConnectClient,
    ConnectError,
    Masker,
    WaitError,
    format_errors,
    has_failures,
    validation_errors,
    wait_for_absence,
    wait_for_state,
)

TARGET = {'running': 'RUNNING', 'paused': 'PAUSED', 'stopped': 'STOPPED'}
INITIAL_STATE = {'running': None, 'paused': 'PAUSED', 'stopped': 'STOPPED'}
CONFIG_CHANGES = ('create', 'update_config')


def desired_config(params):
    """Check the options that need no Connect worker; return the desired config as strings, without
    ``name`` (``None`` where the state ignores the config)."""
    name = params['name']
    if not name:
        raise PlanError('name must not be empty')
    for opt in ('request_timeout', 'wait_timeout'):
        if params[opt] < 1:
            raise PlanError('%s must be a positive integer (got %d)' % (opt, params[opt]))
    if params['state'] in ('absent', 'restarted'):
        return None
    if not params.get('config'):
        raise PlanError('config is required with state=%s' % params['state'])
    config = {str(k): config_string(k, v) for k, v in params['config'].items()}
    if config.get('name', name) != name:
        raise PlanError('config has name %s but the connector is %s' % (config['name'], name))
    config.pop('name', None)
    if not config.get('connector.class'):
        raise PlanError('config must contain connector.class')
    return config


def strip_name(config):
    return None if config is None else {k: v for k, v in config.items() if k != 'name'}


def observed_state(status):
    """Lower-case connector state from a status, or ``None``."""
    state = ((status or {}).get('connector') or {}).get('state')
    return state.lower() if state else None


def failed_task_ids(status):
    return [t.get('id') for t in (status or {}).get('tasks') or [] if t.get('state') == 'FAILED']


def compute_plan(params, desired, current, status, masker):
    """Return the actions that turn the connector (``current`` config without ``name``, or ``None``
    if it does not exist, and its ``status``) into the requested state. Pure: no I/O.

    Plan entries are returned to the user, so values in them are masked; the config that is sent
    is ``desired`` itself."""
    name, state = params['name'], params['state']
    if state == 'absent':
        return [{'action': 'delete', 'connector': name}] if current is not None else []
    if state == 'restarted':
        if current is None:
            raise PlanError('connector %s does not exist, so it cannot be restarted' % name)
        return [{'action': 'restart', 'connector': name, 'only_failed': params['restart_only_failed']}]
    if current is None:
        return [{'action': 'create', 'connector': name, 'initial_state': INITIAL_STATE[state]}]

    plan = []
    changed = {k: v for k, v in sorted(desired.items()) if current.get(k) != v}
    removed = sorted(k for k in current if k not in desired)
    update = None
    if changed or removed:
        update = {'action': 'update_config', 'connector': name, 'set': masker.mask(changed), 'remove': removed}
    observed = observed_state(status)
    if state == 'running':
        if update:
            plan.append(update)
        if observed in ('paused', 'stopped'):
            plan.append({'action': 'resume', 'connector': name})
        elif not update and has_failures(status):
            plan.append({'action': 'restart', 'connector': name, 'only_failed': True})
    else:
        # pause or stop first, so that the new config never runs
        verb = 'pause' if state == 'paused' else 'stop'
        if observed != state:
            plan.append({'action': verb, 'connector': name})
        if update:
            plan.append(update)
    return plan


def predict(current, observed, plan, desired, requested):
    """``(config, state)`` expected after ``plan``; config ``None`` means absent."""
    config, state = (None, 'absent') if current is None else (dict(current), observed)
    for action in plan:
        kind = action['action']
        if kind == 'create':
            config, state = dict(desired), requested
        elif kind == 'update_config':
            config = dict(desired)
        elif kind == 'pause':
            state = 'paused'
        elif kind in ('resume', 'restart') and requested == 'running':
            state = 'running'
        elif kind == 'stop':
            state = 'stopped'
        elif kind == 'delete':
            config, state = None, 'absent'
    return config, state


def view(name, config, state, masker, before=None, failed_tasks=None):
    """User-facing connector state for the diff. Secret values are masked; with ``before`` (the
    previous config), a secret that changed shows as ``******** (changed)``."""
    if config is None:
        return {'state': 'absent'}
    shown = {}
    for key, value in sorted(config.items()):
        if masker.hides(key, value):
            changed = before is not None and key in before and before[key] != value
            value = MASK + ' (changed)' if changed else MASK
        shown[key] = value
    out = {'name': name, 'state': state or 'unknown', 'config': shown}
    if failed_tasks:
        out['failed_tasks'] = failed_tasks
    return out


def wait_target(params, observed):
    if params['state'] == 'restarted':
        return {'paused': 'PAUSED', 'stopped': 'STOPPED'}.get(observed, 'RUNNING')
    return TARGET.get(params['state'])


def make_client(params):
    """Build the REST client; tests replace its request function."""
    return ConnectClient(params['url'], validate_certs=params['validate_certs'], ca_path=params['ca_path'],
                         client_cert=params['client_cert'], client_key=params['client_key'],
                         url_username=params['url_username'], url_password=params['url_password'],
                         timeout=params['request_timeout'])


def apply(client, action, desired):
    kind, name = action['action'], action['connector']
    if kind == 'create':
        if action['initial_state']:
            return client.create(name, desired, action['initial_state'])
        return client.put_config(name, desired)
    if kind == 'update_config':
        return client.put_config(name, desired)
    if kind in ('pause', 'resume', 'stop', 'delete'):
        return getattr(client, kind)(name)
    if kind == 'restart':
        return client.restart(name, include_tasks=True, only_failed=action['only_failed'])
    raise ConnectError('unknown plan action %r for connector %s' % (kind, name))


class Runner:
    """One run of the module: everything it returns is scrubbed of secret values."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = module.params['name']
        self.masker = None
        self.result = {'changed': False, 'plan': []}

    def fail(self, msg, **extra):
        result = dict(self.result, **extra)
        if self.masker is not None:
            msg, result = self.masker.scrub(msg), self.masker.scrub_data(result)
        self.module.fail_json(msg=msg, **result)

    def learn(self, config):
        self.module.no_log_values.update(self.masker.learn(config))

    def validate(self, client, desired):
        """Validate ``desired`` with the plugin; fail on errors outside ignore_validation_errors."""
        raw = client.validate(dict(desired, name=self.name))
        errors = self.masker.scrub_data(validation_errors(raw))
        self.result['validation_errors'] = errors
        ignored = set(self.params['ignore_validation_errors'])
        for key in sorted(k for k in errors if k in ignored):
            for msg in errors[key]:
                self.module.warn('ignored validation error of connector %s: %s: %s' % (self.name, key, msg))
        blocking = {k: v for k, v in errors.items() if k not in ignored}
        if blocking:
            self.fail('config of connector %s is invalid (%d error(s)): %s'
                      % (self.name, sum(len(v) for v in blocking.values()), format_errors(blocking)))

    def run(self):
        params = self.params
        try:
            self.masker = Masker(params['secret_keys'])
            desired = desired_config(params)
        except (PlanError, ValueError) as e:
            self.module.fail_json(msg=str(e), changed=False)
        self.learn(desired)
        try:
            client = make_client(params)
            if params['state'] == 'validated':
                self.result['config'] = self.masker.mask(desired)
                self.validate(client, desired)
                self.module.exit_json(**self.masker.scrub_data(self.result))
            raw_config = client.get_config(self.name)
            current = strip_name(raw_config)
            self.learn(current)
            status = client.get_status(self.name) if current is not None else None
            plan = compute_plan(params, desired, current, status, self.masker)
            self.result['plan'] = plan
            if params['validate'] and any(a['action'] in CONFIG_CHANGES for a in plan):
                self.validate(client, desired)
        except (PlanError, ConnectError) as e:
            self.fail(str(e))

        observed = observed_state(status) or (None if current is None else 'unassigned')
        after_config, after_state = predict(current, observed, plan, desired, params['state'])
        self.result.update(changed=bool(plan), state=after_state, config=self.masker.mask(after_config))
        if self.module._diff:
            self.result['diff'] = {
                'before': view(self.name, current, observed, self.masker, failed_tasks=failed_task_ids(status)),
                'after': view(self.name, after_config, after_state, self.masker, before=current,
                              failed_tasks=failed_task_ids(status) if not plan else None),
            }
        if not plan:
            if status is not None:
                self.result['status'] = self.masker.scrub_data(strip_name(status))
        elif not self.module.check_mode:
            self.execute(client, plan, desired, current, status)
        self.module.exit_json(**self.masker.scrub_data(self.result))

    def execute(self, client, plan, desired, current, status):
        done = []
        for action in plan:
            try:
                apply(client, action, desired)
            except ConnectError as e:
                self.fail(str(e), changed=bool(done), applied=copy.deepcopy(done))
            done.append(action)
        if not self.params['wait']:
            return
        try:
            if self.params['state'] == 'absent':
                wait_for_absence(client, self.name, self.params['wait_timeout'])
                return
            final = wait_for_state(client, self.name, wait_target(self.params, observed_state(status)),
                                   self.params['wait_timeout'], masker=self.masker,
                                   stale_failures=has_failures(status))
        except WaitError as e:
            extra = {'status': strip_name(e.last_status)} if e.last_status else {}
            self.fail(str(e), **extra)
        self.result['status'] = strip_name(final)
        if self.params['state'] == 'restarted':
            self.result['state'] = observed_state(final)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            config=dict(type='dict'),
            state=dict(type='str', default='running',
                       choices=['running', 'paused', 'stopped', 'absent', 'restarted', 'validated']),
            restart_only_failed=dict(type='bool', default=True),
            validate=dict(type='bool', default=True),
            ignore_validation_errors=dict(type='list', elements='str', default=[]),
            secret_keys=dict(type='list', elements='str', default=list(DEFAULT_SECRET_KEYS), no_log=False),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=180),
            **CONNECTION_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    Runner(module).run()


if __name__ == '__main__':
    main()
