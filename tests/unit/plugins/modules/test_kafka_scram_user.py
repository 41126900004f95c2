# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.kafka_scram_user module (no broker: the SCRAM admin is faked)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError
from ansible_collections.sluice.cdc.plugins.modules import kafka_scram_user
from ansible_collections.sluice.cdc.plugins.modules.kafka_scram_user import PlanError, compute_plan, validate

SECRET = 'rotate-me-s3cret'
SHA512 = 'SCRAM-SHA-512'
SHA256 = 'SCRAM-SHA-256'


def params(**kw):
    base = {'name': 'reporting', 'password': SECRET, 'mechanism': SHA512, 'iterations': 8192, 'state': 'present',
            'update_password': 'on_create'}
    return dict(base, **kw)


def cred(mechanism=SHA512, iterations=8192):
    return {'mechanism': mechanism, 'iterations': iterations}


def step(action, mechanism=SHA512, iterations=8192):
    return {'action': action, 'user': 'reporting', 'mechanism': mechanism, 'iterations': iterations}


# -- plan (pure) -------------------------------------------------------------------------------------

@pytest.mark.parametrize('kw, current, plan', [
    ({}, [], [step('create')]),
    ({}, [cred(SHA256)], [step('create')]),                        # another mechanism does not count
    ({}, [cred()], []),                                            # on_create: existing credential left alone
    ({'password': None}, [cred()], []),
    ({'update_password': 'always'}, [cred()], [step('update')]),   # rotation
    ({'iterations': 4096}, [cred()], [step('update', iterations=4096)]),
    ({'state': 'absent'}, [cred(iterations=4096), cred(SHA256)], [step('delete', iterations=4096)]),
    ({'state': 'absent'}, [cred(SHA256)], []),
])
def test_plan(kw, current, plan):
    assert compute_plan(params(**kw), current) == (plan, [])


def test_other_iterations_without_password_warn_and_change_nothing():
    plan, warnings = compute_plan(params(password=None), [cred(iterations=4096)])
    assert plan == []
    assert warnings == ['the SCRAM-SHA-512 credential of user reporting has 4096 iterations, not 8192; give a '
                        'password to rewrite it']


def test_creating_needs_a_password():
    with pytest.raises(PlanError, match='user reporting has no SCRAM-SHA-512 credential: a password is needed'):
        compute_plan(params(password=''), [])


@pytest.mark.parametrize('kw, message', [
    ({'name': ''}, 'name must not be empty'),
    ({'iterations': 4095}, 'iterations must be between 4096 and 16384'),
    ({'iterations': 16385}, 'iterations must be between 4096 and 16384'),
    ({'update_password': 'always', 'password': None}, r'update_password=always needs a password \(user reporting\)'),
])
def test_validate_refuses_bad_input(kw, message):
    with pytest.raises(PlanError, match=message):
        validate(params(**kw))


def test_validate_accepts_the_bounds_and_absent_without_password():
    for kw in ({'iterations': 4096}, {'iterations': 16384}, {'state': 'absent', 'password': None,
                                                             'update_password': 'always'}):
        validate(params(**kw))


# -- main() through AnsibleModule --------------------------------------------------------------------

class FakeAdmin:
    def __init__(self, current=None, fail=None):
        self.current = {k: list(v) for k, v in (current or {}).items()}
        self.calls = []
        self.fail = fail

    def describe(self, names):
        if self.fail == 'describe':
            raise KafkaAdminError('failed describing the SCRAM credentials of user %s: denied' % names[0])
        return {n: self.current[n] for n in names if n in self.current}

    def upsert(self, name, mechanism, password, iterations):
        if self.fail == 'upsert':
            raise KafkaAdminError('failed setting the %s credential of user %s: denied' % (mechanism, name))
        self.calls.append(('upsert', name, mechanism, password, iterations))

    def delete(self, name, mechanism):
        self.calls.append(('delete', name, mechanism))


@pytest.fixture(autouse=True)
def no_leftover_warnings(monkeypatch):
    # Warnings go to the module result only outside the controller; other tests may have loaded controller code.
    monkeypatch.setattr(ansible_internal, 'is_controller', False)
    monkeypatch.setattr(ansible_warnings, '_global_warnings', {})


@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, admin, check=False, diff=False):
        made = []
        monkeypatch.setattr(kafka_scram_user, 'make_admin', lambda p: made.append(p) or admin)
        args = dict({'bootstrap_servers': ['k1:9092'], 'name': 'reporting'}, **args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                kafka_scram_user.main()
        out = capsys.readouterr().out
        assert SECRET not in out   # never returned, not even in a message or the invocation
        result = json.loads(out)
        result['_rc'] = exc.value.code
        result['_made'] = bool(made)
        return result
    return run


def test_main_creates_a_missing_user_and_diffs(run_main):
    admin = FakeAdmin()
    result = run_main({'password': SECRET}, admin, diff=True)
    assert result['_rc'] == 0 and result['changed'] is True
    assert admin.calls == [('upsert', 'reporting', SHA512, SECRET, 8192)]
    assert result['plan'] == [step('create')]
    assert result['user'] == {'name': 'reporting', 'mechanisms': [cred()]}
    assert result['diff'] == {'before': {'name': 'reporting', 'mechanisms': []},
                              'after': {'name': 'reporting', 'mechanisms': [cred()]}}


def test_main_second_run_changes_nothing(run_main):
    admin = FakeAdmin({'reporting': [cred()]})
    result = run_main({'password': SECRET}, admin)
    assert result['changed'] is False and result['plan'] == [] and admin.calls == []
    assert result['user'] == {'name': 'reporting', 'mechanisms': [cred()]}


def test_main_always_rotates(run_main):
    admin = FakeAdmin({'reporting': [cred(SHA256, 4096), cred()]})
    result = run_main({'password': SECRET, 'update_password': 'always', 'iterations': 16384}, admin)
    assert result['changed'] is True and admin.calls == [('upsert', 'reporting', SHA512, SECRET, 16384)]
    assert result['user']['mechanisms'] == [cred(SHA256, 4096), cred(iterations=16384)]


def test_main_check_mode_predicts_and_applies_nothing(run_main):
    admin = FakeAdmin({'reporting': [cred(), cred(SHA256)]})
    result = run_main({'state': 'absent', 'mechanism': SHA256}, admin, check=True)
    assert result['changed'] is True and admin.calls == []
    assert result['plan'] == [step('delete', SHA256)]
    assert result['user'] == {'name': 'reporting', 'mechanisms': [cred()]}


def test_main_deletes(run_main):
    admin = FakeAdmin({'reporting': [cred()]})
    result = run_main({'state': 'absent'}, admin)
    assert result['changed'] is True and admin.calls == [('delete', 'reporting', SHA512)]
    assert result['user'] == {'name': 'reporting', 'mechanisms': []}


def test_main_warns_about_other_iterations_without_password(run_main):
    result = run_main({}, FakeAdmin({'reporting': [cred(iterations=4096)]}))
    assert result['changed'] is False
    # ansible-core 2.19 returns a warning as a WarningSummary dict, older releases as the text.
    texts = [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]
    assert texts == ['the SCRAM-SHA-512 credential of user reporting has 4096 iterations, not 8192; give a password '
                     'to rewrite it']


@pytest.mark.parametrize('args, message', [
    ({'iterations': 100, 'password': SECRET}, 'iterations must be between 4096 and 16384 (Kafka refuses others), '
                                              'not 100'),
    ({'update_password': 'always'}, 'update_password=always needs a password (user reporting)'),
])
def test_main_bad_input_fails_before_connecting(run_main, args, message):
    result = run_main(args, FakeAdmin())
    assert result['_rc'] == 1 and result['_made'] is False and result['msg'] == message


def test_main_missing_password_for_a_new_user_fails_without_change(run_main):
    admin = FakeAdmin()
    result = run_main({}, admin)
    assert result['_rc'] == 1 and result['changed'] is False and admin.calls == []
    assert result['msg'] == 'user reporting has no SCRAM-SHA-512 credential: a password is needed to create it'


@pytest.mark.parametrize('fail, changed', [('describe', False), ('upsert', True)])
def test_main_reports_kafka_errors(run_main, fail, changed):
    result = run_main({'password': SECRET}, FakeAdmin(fail=fail))
    assert result['_rc'] == 1 and result['changed'] is changed
    assert 'of user reporting: denied' in result['msg']


def test_make_admin_builds_the_scram_admin(monkeypatch):
    seen = {}
    monkeypatch.setattr(kafka_scram_user, 'ScramAdmin', lambda servers, conf, timeout: seen.update(
        servers=servers, conf=conf, timeout=timeout) or 'admin')
    got = kafka_scram_user.make_admin({'bootstrap_servers': ['k1:9092'], 'timeout': 7, 'client_config': {},
                                       'security_protocol': 'SASL_SSL', 'sasl_username': 'admin'})
    assert got == 'admin'
    assert seen == {'servers': ['k1:9092'], 'timeout': 7,
                    'conf': {'security.protocol': 'SASL_SSL', 'sasl.username': 'admin',
                             'ssl.endpoint.identification.algorithm': 'https'}}
