# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.kafka_acl module (no broker: the ACL admin is faked)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError
from ansible_collections.sluice.cdc.plugins.modules import kafka_acl
from ansible_collections.sluice.cdc.plugins.modules.kafka_acl import PlanError, compute_plan, expand


def acl(resource_type='topic', name='sluice.', pattern='prefixed', operations=('read',), permission='allow',
        host='*'):
    return {'resource_type': resource_type, 'resource_name': name, 'pattern_type': pattern,
            'operations': list(operations), 'permission': permission, 'host': host}


def binding(resource_type='topic', name='sluice.', pattern='prefixed', operation='read', permission='allow',
            host='*'):
    return {'resource_type': resource_type, 'resource_name': name, 'pattern_type': pattern, 'operation': operation,
            'permission': permission, 'host': host}


def params(acls, state='present', purge=False):
    return {'principal': 'User:connect', 'acls': acls, 'state': state, 'purge': purge}


# -- plan (pure) -------------------------------------------------------------------------------------

def test_expand_one_binding_per_operation_sorted_without_repeats():
    got = expand('User:connect', [acl(operations=['write', 'read']), acl(operations=['read'])])
    assert got == [binding(operation='read'), binding(operation='write')]


def test_expand_names_the_cluster_resource():
    assert expand('User:a', [acl('cluster', None, 'literal', ['describe'])]) == [
        binding('cluster', 'kafka-cluster', 'literal', 'describe')]


@pytest.mark.parametrize('principal, acls, message', [
    ('connect', [], r'principal must be <type>:<name>'),
    ('User:a', [acl('cluster', 'other', 'literal')], r"acls\[0\]: the cluster resource is named kafka-cluster"),
    ('User:a', [acl('cluster', None, 'prefixed')], r'acls\[0\]: a cluster binding is literal'),
    ('User:a', [acl('group', '')], r'acls\[0\]: resource_name is required for a group binding'),
    ('User:a', [acl(), acl(operations=[])], r'acls\[1\]: operations must not be empty'),
])
def test_expand_refuses_bad_input(principal, acls, message):
    with pytest.raises(PlanError, match=message):
        expand(principal, acls)


def test_present_creates_only_missing_and_keeps_others_without_purge():
    current = [binding(operation='read'), binding('group', 'x', 'literal')]
    plan = compute_plan(params([acl(operations=['read', 'write'])]), current)
    assert plan == {'create': [binding(operation='write')], 'delete': []}


def test_present_with_purge_revokes_unlisted():
    current = [binding(operation='read'), binding('group', 'x', 'literal')]
    plan = compute_plan(params([acl()], purge=True), current)
    assert plan == {'create': [], 'delete': [binding('group', 'x', 'literal')]}


def test_host_and_permission_are_part_of_the_identity():
    current = [binding(host='10.0.0.1'), binding(permission='deny')]
    plan = compute_plan(params([acl()], purge=True), current)
    assert plan['create'] == [binding()]
    assert plan['delete'] == sorted([binding(host='10.0.0.1'), binding(permission='deny')],
                                    key=lambda b: tuple(b[k] for k in kafka_acl.KEY))


def test_absent_deletes_listed_that_exist():
    current = [binding(operation='read'), binding('group', 'x', 'literal')]
    plan = compute_plan(params([acl(operations=['read', 'write'])], state='absent'), current)
    assert plan == {'create': [], 'delete': [binding(operation='read')]}


def test_absent_with_purge_and_no_acls_deletes_everything():
    current = [binding(operation='read'), binding('group', 'x', 'literal')]
    plan = compute_plan(params([], state='absent', purge=True), current)
    assert sorted(map(str, plan['delete'])) == sorted(map(str, current))


# -- main() through AnsibleModule --------------------------------------------------------------------

class FakeAdmin:
    def __init__(self, current, fail=None):
        self.current = list(current)
        self.calls = []
        self.fail = fail

    def describe(self, principal):
        if self.fail == 'describe':
            raise KafkaAdminError('failed describing the ACLs of %s: No Authorizer (SECURITY_DISABLED)' % principal)
        return list(self.current)

    def create(self, principal, acls):
        if self.fail == 'create' and acls:
            raise KafkaAdminError('failed creating the ACLs of %s: denied' % principal)
        self.calls.append(('create', principal, acls))

    def delete(self, principal, acls):
        self.calls.append(('delete', principal, acls))


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, admin, check=False, diff=False):
        made = []
        monkeypatch.setattr(kafka_acl, 'make_admin', lambda p: made.append(p) or admin)
        args = dict({'bootstrap_servers': ['k1:9092'], 'principal': 'User:connect'}, **args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                kafka_acl.main()
        result = json.loads(capsys.readouterr().out)
        result['_rc'] = exc.value.code
        result['_made'] = bool(made)
        return result
    return run


def test_main_applies_create_before_delete_and_diffs(run_main):
    admin = FakeAdmin([binding('group', 'old', 'literal')])
    result = run_main({'acls': [{'resource_type': 'group', 'resource_name': 'sluice-connect',
                                 'operations': ['read']}], 'purge': True}, admin, diff=True)
    new = binding('group', 'sluice-connect', 'literal')
    assert result['_rc'] == 0 and result['changed'] is True
    assert admin.calls == [('create', 'User:connect', [new]), ('delete', 'User:connect', [binding('group', 'old', 'literal')])]
    assert result['acls'] == [new]
    assert result['diff'] == {'before': {'principal': 'User:connect', 'acls': [binding('group', 'old', 'literal')]},
                              'after': {'principal': 'User:connect', 'acls': [new]}}


def test_main_second_run_changes_nothing(run_main):
    admin = FakeAdmin([binding('group', 'sluice-connect', 'literal')])
    result = run_main({'acls': [{'resource_type': 'group', 'resource_name': 'sluice-connect',
                                 'operations': ['read']}], 'purge': True}, admin)
    assert result['changed'] is False and admin.calls == []


def test_main_check_mode_predicts_and_applies_nothing(run_main):
    admin = FakeAdmin([])
    result = run_main({'acls': [{'resource_type': 'cluster', 'operations': ['describe']}]}, admin, check=True)
    assert result['changed'] is True and admin.calls == []
    assert result['acls'] == [binding('cluster', 'kafka-cluster', 'literal', 'describe')]


def test_main_bad_input_fails_before_connecting(run_main):
    result = run_main({'acls': [{'resource_type': 'topic', 'operations': ['read']}]}, FakeAdmin([]))
    assert result['_rc'] == 1 and result['_made'] is False
    assert result['msg'] == 'acls[0]: resource_name is required for a topic binding'


@pytest.mark.parametrize('fail, changed', [('describe', False), ('create', True)])
def test_main_reports_kafka_errors(run_main, fail, changed):
    result = run_main({'acls': [{'resource_type': 'group', 'resource_name': 'g', 'operations': ['read']}]},
                      FakeAdmin([], fail=fail))
    assert result['_rc'] == 1 and result['changed'] is changed
    assert 'the ACLs of User:connect' in result['msg']
