#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_topic
short_description: Create, alter and delete a Kafka topic idempotently
version_added: "0.1.0"
description:
  - Ensures that a Kafka topic exists with at least the requested number of partitions, the
    requested replication factor and the requested topic configs, or that it does not exist.
  - The module first computes a plan (a list of actions such as C(create), C(add_partitions),
    C(alter_configs) or C(delete)) from the topic's current state, validates it, and only then
    applies it in order. Invalid requests (fewer partitions, another replication factor, unknown
    config keys) fail before anything is changed.
  - >-
    The module talks to Kafka with the admin API of C(confluent-kafka) from wherever the task
    runs, typically the controller with C(delegate_to: localhost) and C(run_once: true).
    That host needs network access to the brokers' B(advertised) listeners, not only to the
    bootstrap servers.
author:
  - Sluice developers
requirements:
  - confluent-kafka
attributes:
  check_mode:
    support: full
    description: Computes and returns the plan without applying it.
  diff_mode:
    support: full
    description: Returns the topic's state before and after.
options:
  name:
    description:
      - Name of the topic.
    type: str
    required: true
  state:
    description:
      - V(present) creates the topic or brings an existing topic in line with the options.
      - V(absent) deletes the topic if it exists; the other topic options are ignored.
    type: str
    choices: [present, absent]
    default: present
  partitions:
    description:
      - Number of partitions.
      - Required when the topic has to be created.
      - On an existing topic a larger number adds partitions (note that this changes the
        key-to-partition mapping of keyed messages). A smaller number is an error, as Kafka
        cannot reduce the partition count.
      - When omitted, the partition count of an existing topic is left alone.
    type: int
  replication_factor:
    description:
      - Replication factor used when the topic is created.
      - When omitted (or V(-1)), the broker default C(default.replication.factor) applies.
      - If the topic exists with a different replication factor the module fails; changing it
        requires a partition reassignment, which this module does not do.
    type: int
  configs:
    description:
      - Topic configs to set, for example C(retention.ms) or C(cleanup.policy).
      - Values are compared as strings with the configs explicitly set on the topic. Booleans
        are converted to V(true)/V(false), numbers to their decimal string and lists to a
        comma-separated string.
      - A key that is not a topic config is an error. On an existing topic this is checked
        before any change; on creation Kafka itself rejects the request.
      - By default configs set on the topic but not listed here are left alone, see
        O(purge_configs).
    type: dict
    default: {}
  purge_configs:
    description:
      - When V(true), configs explicitly set on the topic (dynamic topic configs) that are not
        listed in O(configs) are reset to their defaults.
      - When V(false) (the default) such configs are left alone.
    type: bool
    default: false
  timeout:
    description:
      - Timeout in seconds of each admin request, and of the wait for the metadata of a created,
        extended or deleted topic to show the change.
    type: int
    default: 30
extends_documentation_fragment:
  - sluice.cdc.kafka
notes:
  - The module sets C(allow.auto.create.topics=false) unless O(client_config) overrides it, so that looking up a
    missing topic never creates it.
  - Topic names are case sensitive. Kafka warns about names that collide only in C(.) versus
    C(_); this module does not.
seealso:
  - name: Kafka topic configs
    description: Reference of all topic-level configs.
    link: https://kafka.apache.org/documentation/#topicconfigs
"""

EXAMPLES = r"""
- name: Ensure the CDC topic exists
  sluice.cdc.kafka_topic:
    name: sqlserver.dbo.orders
    partitions: 6
    replication_factor: 3
    configs:
      cleanup.policy: compact
      min.insync.replicas: 2
      retention.ms: 604800000
    bootstrap_servers: kafka1:9092,kafka2:9092,kafka3:9092
  delegate_to: localhost
  run_once: true

- name: Make the topic's explicit configs exactly these (reset everything else)
  sluice.cdc.kafka_topic:
    name: sqlserver.dbo.orders
    configs:
      cleanup.policy: compact
    purge_configs: true
    bootstrap_servers:
      - kafka1:9093
    client_config:
      security.protocol: SASL_SSL
      sasl.mechanism: SCRAM-SHA-512
      sasl.username: admin
      sasl.password: "{{ kafka_admin_password }}"
      ssl.ca.location: /etc/pki/kafka/ca.pem
  delegate_to: localhost
  run_once: true

- name: Delete a topic
  sluice.cdc.kafka_topic:
    name: scratch
    state: absent
    bootstrap_servers: [kafka1:9092]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
plan:
  description:
    - Actions computed from the current state, in the order they are (or, in check mode, would
      be) applied. Empty when nothing had to change.
    - C(create) carries C(partitions), C(replication_factor) (V(-1) means broker default) and
      C(configs); C(add_partitions) carries C(from) and C(to); C(alter_configs) carries C(set)
      (a dict) and C(delete) (a list of keys reset to their defaults); C(delete) carries nothing
      else.
  returned: always
  type: list
  elements: dict
  sample:
    - {action: add_partitions, topic: orders, from: 3, to: 6}
    - {action: alter_configs, topic: orders, set: {retention.ms: "86400000"}, delete: []}
applied:
  description:
    - Actions of RV(plan) that were applied before a later action failed.
  returned: when applying the plan failed
  type: list
  elements: dict
  sample: [{action: add_partitions, topic: orders, from: 3, to: 6}]
topic:
  description:
    - State of the topic after the task; in check mode the predicted state.
    - For an absent topic only C(name) and C(state) are returned.
  returned: always
  type: dict
  contains:
    name:
      description: Topic name.
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    partitions:
      description: Number of partitions.
      type: int
    replication_factor:
      description:
        - Replication factor. Null in check mode when a topic would be created with the broker
          default.
      type: int
    configs:
      description: Configs explicitly set on the topic (dynamic topic configs), as strings.
      type: dict
  sample:
    name: orders
    state: present
    partitions: 6
    replication_factor: 3
    configs: {cleanup.policy: compact, retention.ms: "604800000"}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils.config_values import PlanError, config_string
from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import (
    CONFLUENT_KAFKA_IMPORT_ERROR,
    HAS_CONFLUENT_KAFKA,
    KafkaAdminError,
    TopicAdmin,
)


def validate_params(params):
    """Check option values that need no broker; return the desired configs as strings."""
    if not params['name']:
        raise PlanError('name must not be empty')
    for opt in ('partitions', 'timeout'):
        if params.get(opt) is not None and params[opt] < 1:
            raise PlanError('%s must be a positive integer (got %d)' % (opt, params[opt]))
    rf = params.get('replication_factor')
    if rf is not None and rf != -1 and rf < 1:
        raise PlanError('replication_factor must be a positive integer, or -1 for the broker default (got %d)' % rf)
    if not params['bootstrap_servers']:
        raise PlanError('bootstrap_servers must not be empty')
    return {str(k): config_string(k, v) for k, v in (params.get('configs') or {}).items()}


def compute_plan(params, current):
    """Return the list of actions that turn ``current`` into the requested state.

    ``current`` is ``None`` for a missing topic, else a dict as returned by
    ``TopicAdmin.describe_topic``. Pure: no I/O. Raises PlanError for impossible requests.
    """
    name = params['name']
    if params['state'] == 'absent':
        return [{'action': 'delete', 'topic': name}] if current is not None else []

    desired = validate_params(params)
    partitions, rf = params.get('partitions'), params.get('replication_factor')
    if current is None:
        if partitions is None:
            raise PlanError('partitions is required to create topic %s' % name)
        return [{'action': 'create', 'topic': name, 'partitions': partitions,
                 'replication_factor': -1 if rf is None else rf, 'configs': desired}]

    if partitions is not None and partitions < current['partitions']:
        raise PlanError('topic %s has %d partitions; Kafka cannot reduce partitions (requested %d)'
                        % (name, current['partitions'], partitions))
    if rf not in (None, -1) and rf != current['replication_factor']:
        raise PlanError('topic %s has replication factor %d; changing it to %d needs a partition '
                        'reassignment, which this module does not do'
                        % (name, current['replication_factor'], rf))
    known = current.get('all_configs') or {}
    unknown = sorted(k for k in desired if known and k not in known)
    if unknown:
        raise PlanError('unknown topic config key(s) for topic %s: %s' % (name, ', '.join(unknown)))

    plan = []
    if partitions is not None and partitions > current['partitions']:
        plan.append({'action': 'add_partitions', 'topic': name, 'from': current['partitions'], 'to': partitions})
    existing = current['configs']
    to_set = {k: v for k, v in sorted(desired.items()) if existing.get(k) != v}
    to_delete = sorted(k for k in existing if k not in desired) if params.get('purge_configs') else []
    if to_set or to_delete:
        plan.append({'action': 'alter_configs', 'topic': name, 'set': to_set, 'delete': to_delete})
    return plan


def predict(current, plan):
    """State expected after applying ``plan`` to ``current`` (``None`` means absent)."""
    state = None if current is None else {
        'partitions': current['partitions'],
        'replication_factor': current['replication_factor'],
        'configs': dict(current['configs']),
    }
    for action in plan:
        kind = action['action']
        if kind == 'create':
            rf = action['replication_factor']
            state = {'partitions': action['partitions'], 'replication_factor': None if rf == -1 else rf,
                     'configs': dict(action['configs'])}
        elif kind == 'add_partitions':
            state['partitions'] = action['to']
        elif kind == 'alter_configs':
            state['configs'].update(action['set'])
            for key in action['delete']:
                state['configs'].pop(key, None)
        elif kind == 'delete':
            state = None
    return state


def view(name, state):
    """User-facing topic state, as used for ``topic`` and the diff."""
    if state is None:
        return {'state': 'absent'}
    return {'name': name, 'state': 'present', 'partitions': state['partitions'],
            'replication_factor': state['replication_factor'], 'configs': dict(sorted(state['configs'].items()))}


def make_admin(params):
    """Build the admin wrapper; replaced by a fake in unit tests."""
    return TopicAdmin(params['bootstrap_servers'], kafka_conn.client_config(params), params['timeout'])


def run(module):
    params = dict(module.params)
    name = params['name']
    params['bootstrap_servers'] = [s.strip() for s in params['bootstrap_servers'] or [] if s and s.strip()]
    try:
        validate_params(params)
        admin = make_admin(params)
        current = admin.describe_topic(name)
        plan = compute_plan(params, current)
    except (PlanError, KafkaAdminError, kafka_conn.KafkaConfigError) as e:
        module.fail_json(msg=str(e), changed=False)

    after = predict(current, plan)
    done = []
    if not module.check_mode:
        for action in plan:
            try:
                outcome = admin.apply(action)
            except KafkaAdminError as e:
                module.fail_json(msg=str(e), changed=bool(done), plan=plan, applied=done)
            done.append(action)
            if action['action'] == 'create' and outcome:  # learn the broker-default replication factor
                after['replication_factor'] = outcome['replication_factor']

    topic = view(name, after)
    result = {'changed': bool(plan), 'plan': plan, 'topic': dict(topic, name=name)}
    if module._diff:
        result['diff'] = {'before': view(name, current), 'after': topic}
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            partitions=dict(type='int'),
            replication_factor=dict(type='int'),
            configs=dict(type='dict', default={}),
            purge_configs=dict(type='bool', default=False),
            **kafka_conn.argument_spec(),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    if not HAS_CONFLUENT_KAFKA:
        module.fail_json(msg=missing_required_lib('confluent-kafka'), exception=CONFLUENT_KAFKA_IMPORT_ERROR)
    run(module)


if __name__ == '__main__':
    main()
