#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_acl
short_description: Make a Kafka principal's ACL bindings exactly (or at least) the ones listed
version_added: "0.2.0"
description:
  - Manages the ACL bindings of one principal on a Kafka cluster whose brokers run an authorizer (Sluice's role
    C(kafka) runs C(StandardAuthorizer) whenever its listeners use SASL).
  - The module first reads the principal's bindings, computes a plan (the bindings to create and, with O(purge)
    or O(state=absent), to delete) and only then applies it, so check mode and diff come from the same plan.
  - Every entry of O(acls) expands to one binding per operation. Bindings are compared exactly (resource type,
    name, pattern type, operation, permission, host).
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
    description: Returns the principal's bindings before and after.
options:
  principal:
    description:
      - The principal, C(User:<name>); for a SCRAM login the user name, for a TLS client the certificate's
        distinguished name (C(User:CN=host)).
    type: str
    required: true
  acls:
    description:
      - The principal's bindings this task is about; with O(state=present) the ones that must exist, with
        O(state=absent) the ones to delete.
    type: list
    elements: dict
    default: []
    suboptions:
      resource_type:
        description: What the binding is about.
        type: str
        choices: [topic, group, cluster, transactional_id]
        required: true
      resource_name:
        description:
          - The resource's name, or its prefix with O(acls[].pattern_type=prefixed); V(*) means every resource of
            the type. For O(acls[].resource_type=cluster) it is always C(kafka-cluster) and may be omitted.
        type: str
      pattern_type:
        description: V(literal) matches the name exactly, V(prefixed) every name that starts with it.
        type: str
        choices: [literal, prefixed]
        default: literal
      operations:
        description: Operations allowed (or denied), one binding each.
        type: list
        elements: str
        choices: [all, read, write, create, delete, alter, describe, cluster_action, describe_configs,
                  alter_configs, idempotent_write]
        required: true
      permission:
        description: Allow or deny.
        type: str
        choices: [allow, deny]
        default: allow
      host:
        description: Client address the binding applies to; V(*) is any.
        type: str
        default: '*'
  state:
    description:
      - V(present) creates the listed bindings that are missing.
      - V(absent) deletes the listed bindings; with O(purge=true) every binding of the principal.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also delete the principal's bindings that are not listed, so that its bindings
        are exactly O(acls). With O(state=absent) and an empty O(acls), delete all of them.
    type: bool
    default: false
  timeout:
    description: Timeout in seconds of each admin request.
    type: int
    default: 30
extends_documentation_fragment:
  - sluice.cdc.kafka
notes:
  - The login (O(sasl_username)) needs the C(Alter) and C(Describe) operations on the cluster, which Kafka's super
    users (C(super.users)) have.
  - Creating a binding before its deletions keeps the principal authorized during a change; the plan creates first.
seealso:
  - name: Kafka authorization and ACLs
    link: https://kafka.apache.org/documentation/#security_authz
"""

EXAMPLES = r"""
- name: The Connect workers' principal may use its internal topics and its group, and nothing else
  sluice.cdc.kafka_acl:
    principal: User:connect
    acls:
      - {resource_type: topic, resource_name: sluice-connect-, pattern_type: prefixed,
         operations: [read, write, describe, create, describe_configs]}
      - {resource_type: group, resource_name: sluice-connect, operations: [read]}
    purge: true
    bootstrap_servers: [kafka1:9092]
    security_protocol: SASL_SSL
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ssl_ca_file: /etc/ssl/sluice/ca.crt
  delegate_to: localhost
  run_once: true

- name: Remove every binding of a retired principal
  sluice.cdc.kafka_acl:
    principal: User:legacy
    state: absent
    purge: true
    bootstrap_servers: [kafka1:9092]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
plan:
  description: Bindings created (C(create)) and deleted (C(delete)), in that order; empty lists when nothing changes.
  returned: always
  type: dict
  sample:
    create: [{resource_type: group, resource_name: sluice-connect, pattern_type: literal, operation: read,
              permission: allow, host: '*'}]
    delete: []
acls:
  description: The principal's bindings after the task (in check mode, predicted), sorted.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.sluice.cdc.plugins.module_utils.config_values import PlanError
from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import (
    CLUSTER_RESOURCE,
    CONFLUENT_KAFKA_IMPORT_ERROR,
    HAS_CONFLUENT_KAFKA,
    AclAdmin,
    KafkaAdminError,
)

KEY = ('resource_type', 'resource_name', 'pattern_type', 'operation', 'permission', 'host')


def _key(binding):
    return tuple(binding[k] for k in KEY)


def expand(principal, acls):
    """The bindings ``acls`` asks for, one per operation, sorted and without repeats. Raises PlanError on an entry
    that names no resource, a cluster binding with another name than Kafka's, or an empty operation list."""
    if not principal or ':' not in principal:
        raise PlanError('principal must be <type>:<name>, for example User:connect (got %r)' % (principal,))
    out = {}
    for i, acl in enumerate(acls):
        name = acl.get('resource_name')
        if acl['resource_type'] == 'cluster':
            if name not in (None, '', CLUSTER_RESOURCE):
                raise PlanError('acls[%d]: the cluster resource is named %s, not %r' % (i, CLUSTER_RESOURCE, name))
            if acl['pattern_type'] != 'literal':
                raise PlanError('acls[%d]: a cluster binding is literal' % i)
            name = CLUSTER_RESOURCE
        elif not name:
            raise PlanError('acls[%d]: resource_name is required for a %s binding' % (i, acl['resource_type']))
        if not acl['operations']:
            raise PlanError('acls[%d]: operations must not be empty' % i)
        for operation in acl['operations']:
            binding = {'resource_type': acl['resource_type'], 'resource_name': name,
                       'pattern_type': acl['pattern_type'], 'operation': operation,
                       'permission': acl['permission'], 'host': acl['host']}
            out[_key(binding)] = binding
    return [out[k] for k in sorted(out)]


def compute_plan(params, current):
    """``{'create': [...], 'delete': [...]}`` that turns the principal's ``current`` bindings into the requested
    ones. Pure: no I/O."""
    wanted = expand(params['principal'], params['acls'])
    have = {_key(b): b for b in current}
    want = {_key(b) for b in wanted}
    if params['state'] == 'absent':
        gone = have if params['purge'] and not wanted else {k: have[k] for k in want if k in have}
        return {'create': [], 'delete': [gone[k] for k in sorted(gone)]}
    create = [b for b in wanted if _key(b) not in have]
    delete = [have[k] for k in sorted(have) if k not in want] if params['purge'] else []
    return {'create': create, 'delete': delete}


def predict(current, plan):
    after = {_key(b): b for b in current}
    for b in plan['delete']:
        after.pop(_key(b), None)
    for b in plan['create']:
        after[_key(b)] = b
    return [after[k] for k in sorted(after)]


def make_admin(params):
    """Build the admin wrapper; replaced by a fake in unit tests."""
    return AclAdmin(params['bootstrap_servers'], kafka_conn.client_config(params), params['timeout'])


def run(module):
    params = module.params
    try:
        expand(params['principal'], params['acls'])   # bad input fails before any connection
        admin = make_admin(params)
        current = admin.describe(params['principal'])
        plan = compute_plan(params, current)
    except (PlanError, KafkaAdminError, kafka_conn.KafkaConfigError) as e:
        module.fail_json(msg=str(e), changed=False)
    changed = bool(plan['create'] or plan['delete'])
    if changed and not module.check_mode:
        try:
            admin.create(params['principal'], plan['create'])
            admin.delete(params['principal'], plan['delete'])
        except KafkaAdminError as e:
            module.fail_json(msg=str(e), changed=True, plan=plan)
    after = predict(current, plan)
    result = {'changed': changed, 'plan': plan, 'acls': after}
    if module._diff:
        result['diff'] = {'before': {'principal': params['principal'], 'acls': sorted(current, key=_key)},
                          'after': {'principal': params['principal'], 'acls': after}}
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            principal=dict(type='str', required=True),
            acls=dict(type='list', elements='dict', default=[], options=dict(
                resource_type=dict(type='str', required=True,
                                   choices=['topic', 'group', 'cluster', 'transactional_id']),
                resource_name=dict(type='str'),
                pattern_type=dict(type='str', default='literal', choices=['literal', 'prefixed']),
                operations=dict(type='list', elements='str', required=True, choices=[
                    'all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'cluster_action',
                    'describe_configs', 'alter_configs', 'idempotent_write']),
                permission=dict(type='str', default='allow', choices=['allow', 'deny']),
                host=dict(type='str', default='*'),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            purge=dict(type='bool', default=False),
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
