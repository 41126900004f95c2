#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_scram_user
short_description: Create, rotate or delete a Kafka user's SCRAM credential
version_added: "0.2.0"
description:
  - Manages one SCRAM credential (one user, one mechanism) on a running Kafka cluster through the admin API
    (C(AlterUserScramCredentials)), so users can be added to, and passwords rotated on, a cluster whose storage is
    already formatted.
  - The module first reads the user's credentials, computes a plan and only then applies it, so check mode and diff
    come from the same plan.
  - Kafka never returns a credential's salt or keys, so a password cannot be compared. With
    O(update_password=on_create) an existing credential of O(mechanism) with the same O(iterations) is left alone;
    O(update_password=always) rewrites it on every run (password rotation), and so always reports a change.
author:
  - Sluice developers
requirements:
  - confluent-kafka >= 2.2
attributes:
  check_mode:
    support: full
    description: Computes and returns the plan without applying it.
  diff_mode:
    support: full
    description: Returns the user's mechanisms and iterations before and after (never a password).
options:
  name:
    description: The SCRAM user name (the principal is C(User:<name>)).
    type: str
    required: true
  password:
    description:
      - The password. Required to create the credential, and with O(update_password=always).
      - Never returned or logged; still, mark the calling task C(no_log).
    type: str
  mechanism:
    description: The SCRAM mechanism of the credential; a user may hold one credential per mechanism.
    type: str
    choices: [SCRAM-SHA-512, SCRAM-SHA-256]
    default: SCRAM-SHA-512
  iterations:
    description:
      - PBKDF2 iterations of a credential this task writes; Kafka accepts 4096 to 16384.
      - An existing credential with other iterations is rewritten with O(update_password=on_create) only when
        O(password) is given; without it the module warns and changes nothing.
      - C(kafka-storage format --add-scram) (the role C(kafka)) writes 4096.
    type: int
    default: 8192
  state:
    description:
      - V(present) makes sure the credential exists.
      - V(absent) deletes the credential of O(mechanism); the user's other mechanism, if any, stays.
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description:
      - V(on_create) writes the password only when the credential does not exist yet (idempotent).
      - V(always) rewrites it on every run, for rotating a password; the task then always reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
  timeout:
    description: Timeout in seconds of each admin request.
    type: int
    default: 30
extends_documentation_fragment:
  - sluice.cdc.kafka
notes:
  - The login (O(sasl_username)) needs the C(Alter) and C(Describe) operations on the cluster, which Kafka's super
    users (C(super.users)) have.
  - Rotating the password of the user the task logs in as works (the connection is already authenticated), but
    later logins need the new password.
  - Clients already connected keep their session; new connections need the new password.
seealso:
  - name: Kafka SASL/SCRAM
    link: https://kafka.apache.org/documentation/#security_sasl_scram
"""

EXAMPLES = r"""
- name: A user added to an already formatted cluster
  sluice.cdc.kafka_scram_user:
    name: reporting
    password: "{{ reporting_kafka_password }}"
    bootstrap_servers: [kafka1:9092]
    security_protocol: SASL_SSL
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ssl_ca_file: /etc/ssl/sluice/ca.crt
  delegate_to: localhost
  run_once: true
  no_log: true

- name: Rotate a password
  sluice.cdc.kafka_scram_user:
    name: connect
    password: "{{ new_connect_password }}"
    update_password: always
    bootstrap_servers: [kafka1:9092]
    security_protocol: SASL_SSL
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
  delegate_to: localhost
  run_once: true
  no_log: true

- name: Remove a retired user's credential
  sluice.cdc.kafka_scram_user:
    name: legacy
    state: absent
    bootstrap_servers: [kafka1:9092]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
plan:
  description: The actions applied (in check mode, to apply); empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample: [{action: create, user: reporting, mechanism: SCRAM-SHA-512, iterations: 8192}]
user:
  description: The user after the task (in check mode, predicted); C(mechanisms) is empty when it has no credential.
  returned: always
  type: dict
  sample: {name: reporting, mechanisms: [{mechanism: SCRAM-SHA-512, iterations: 8192}]}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils.config_values import PlanError
from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import (
    CONFLUENT_KAFKA_IMPORT_ERROR,
    HAS_CONFLUENT_KAFKA,
    KafkaAdminError,
    ScramAdmin,
)

MECHANISMS = ('SCRAM-SHA-512', 'SCRAM-SHA-256')
# Kafka's bounds (ScramMechanism.minIterations/maxIterations), the same for both mechanisms.
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384


def validate(params):
    """Raise PlanError on input that no cluster state makes valid, so it fails before any connection."""
    if not params['name']:
        raise PlanError('name must not be empty')
    if not MIN_ITERATIONS <= params['iterations'] <= MAX_ITERATIONS:
        raise PlanError('iterations must be between %d and %d (Kafka refuses others), not %d'
                        % (MIN_ITERATIONS, MAX_ITERATIONS, params['iterations']))
    if params['state'] == 'present' and params['update_password'] == 'always' and not params['password']:
        raise PlanError('update_password=always needs a password (user %s)' % params['name'])


def compute_plan(params, current):
    """``(plan, warnings)`` for the user's ``current`` credentials (``[{mechanism, iterations}]``). Pure: no I/O.

    The plan never holds the password; the caller adds it when applying a create or update."""
    name, mechanism, iterations = params['name'], params['mechanism'], params['iterations']
    have = {c['mechanism']: c['iterations'] for c in current}
    step = {'user': name, 'mechanism': mechanism}
    if params['state'] == 'absent':
        if mechanism not in have:
            return [], []
        return [dict(step, action='delete', iterations=have[mechanism])], []
    if mechanism not in have:
        if not params['password']:
            raise PlanError('user %s has no %s credential: a password is needed to create it' % (name, mechanism))
        return [dict(step, action='create', iterations=iterations)], []
    if params['update_password'] == 'always':
        return [dict(step, action='update', iterations=iterations)], []
    if have[mechanism] == iterations:
        return [], []
    if params['password']:
        return [dict(step, action='update', iterations=iterations)], []
    return [], ['the %s credential of user %s has %d iterations, not %d; give a password to rewrite it'
                % (mechanism, name, have[mechanism], iterations)]


def predict(name, current, plan):
    after = {c['mechanism']: c['iterations'] for c in current}
    for step in plan:
        if step['action'] == 'delete':
            after.pop(step['mechanism'], None)
        else:
            after[step['mechanism']] = step['iterations']
    return {'name': name, 'mechanisms': [{'mechanism': m, 'iterations': after[m]} for m in sorted(after)]}


def make_admin(params):
    """Build the admin wrapper; replaced by a fake in unit tests."""
    return ScramAdmin(params['bootstrap_servers'], kafka_conn.client_config(params), params['timeout'])


def run(module):
    params = module.params
    name = params['name']
    try:
        validate(params)   # bad input fails before any connection
        admin = make_admin(params)
        current = admin.describe([name]).get(name, [])
        plan, warnings = compute_plan(params, current)
    except (PlanError, KafkaAdminError, kafka_conn.KafkaConfigError) as e:
        module.fail_json(msg=str(e), changed=False)
    for warning in warnings:
        module.warn(warning)
    if plan and not module.check_mode:
        try:
            for step in plan:
                if step['action'] == 'delete':
                    admin.delete(name, step['mechanism'])
                else:
                    admin.upsert(name, step['mechanism'], params['password'], step['iterations'])
        except KafkaAdminError as e:
            module.fail_json(msg=str(e), changed=True, plan=plan)
    before = predict(name, current, [])
    after = predict(name, current, plan)
    result = {'changed': bool(plan), 'plan': plan, 'user': after}
    if module._diff:
        result['diff'] = {'before': before, 'after': after}
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            mechanism=dict(type='str', default='SCRAM-SHA-512', choices=list(MECHANISMS)),
            iterations=dict(type='int', default=8192),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            update_password=dict(type='str', default='on_create', choices=['on_create', 'always'], no_log=False),
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
