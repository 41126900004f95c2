# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.connect_connector module (no worker: ConnectClient.request is faked)."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils import connect_client
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectClient, ConnectError, Masker
from ansible_collections.sluice.cdc.plugins.modules import connect_connector
from ansible_collections.sluice.cdc.plugins.modules.connect_connector import (
    PlanError,
    compute_plan,
    config_string,
    desired_config,
    predict,
    view,
)

CLASS = 'org.apache.kafka.connect.file.FileStreamSourceConnector'
BASE = {'connector.class': CLASS, 'tasks.max': '1', 'file': '/tmp/in.txt', 'topic': 't1'}


def not_found(what):
    return ConnectError('Kafka Connect answered HTTP 404: %s not found' % what, status=404,
                        connect_message='%s not found' % what)


class FakeConnect:
    """An in-memory Kafka Connect REST API, installed as ConnectClient.request.

    ``connectors`` maps a name to ``{'config': {...}, 'state': 'RUNNING', 'tasks': ['RUNNING', ...],
    'trace': None, 'task_traces': {}}``. ``statuses`` maps a name to a list of status dicts served
    by GET .../status during waits (the last one repeats) instead of the computed one; ``invalid``
    maps config keys to validation errors; ``errors`` maps ``(method, path)`` to a ConnectError."""

    def __init__(self, connectors=None, invalid=None):
        self.connectors = connectors or {}
        self.invalid = invalid or {}
        self.statuses = {}
        self.errors = {}
        self.calls = []

    @staticmethod
    def make(config=None, state='RUNNING', tasks=('RUNNING',)):
        return {'config': dict(config or BASE), 'state': state, 'tasks': list(tasks), 'trace': None,
                'task_traces': {}}

    def status(self, name):
        if name in self.statuses:
            queue = self.statuses[name]
            return queue.pop(0) if len(queue) > 1 else queue[0]
        c = self.connectors[name]
        st = {'name': name, 'connector': {'state': c['state'], 'worker_id': 'w1:8083'}, 'type': 'source',
              'tasks': [{'id': i, 'state': s, 'worker_id': 'w1:8083'} for i, s in enumerate(c['tasks'])]}
        if c['trace']:
            st['connector']['trace'] = c['trace']
        for i, trace in c['task_traces'].items():
            st['tasks'][i]['trace'] = trace
        return st

    def set_state(self, name, state):
        c = self.connectors[name]
        c['state'] = state
        n = int(c['config'].get('tasks.max', 1))
        c['tasks'] = [] if state == 'STOPPED' else [state] * n

    def __call__(self, client, method, path, body=None, query=None):
        self.calls.append((method, path, body, query))
        if (method, path) in self.errors:
            raise self.errors[(method, path)]
        parts = [urllib.parse.unquote(p) for p in path.strip('/').split('/')]
        if method == 'PUT' and parts[0] == 'connector-plugins':
            return self.validate(body)
        if parts == ['connectors'] and method == 'POST':
            self.connectors[body['name']] = self.make(body['config'], body.get('initial_state') or 'RUNNING')
            self.set_state(body['name'], body.get('initial_state') or 'RUNNING')
            return {'name': body['name']}
        name = parts[1]
        rest = parts[2:]
        if method == 'PUT' and rest == ['config']:
            if name in self.connectors:
                self.connectors[name]['config'] = dict(body)
            else:
                self.connectors[name] = self.make(body)
                self.set_state(name, 'RUNNING')
            return {'name': name, 'config': body}
        if name not in self.connectors:
            raise not_found('Connector %s' % name)
        c = self.connectors[name]
        if method == 'GET' and rest == ['config']:
            return dict(c['config'])
        if method == 'GET' and rest == ['status']:
            return self.status(name)
        if method == 'PUT' and rest in (['pause'], ['resume'], ['stop']):
            self.set_state(name, {'pause': 'PAUSED', 'resume': 'RUNNING', 'stop': 'STOPPED'}[rest[0]])
            return None
        if method == 'DELETE' and not rest:
            del self.connectors[name]
            return None
        if method == 'POST' and rest == ['restart']:
            if c['state'] == 'FAILED':
                c['state'] = 'RUNNING'
            c['tasks'] = ['RUNNING' if s == 'FAILED' else s for s in c['tasks']]
            c['trace'], c['task_traces'] = None, {}
            return self.status(name)
        raise AssertionError('unexpected request %s %s' % (method, path))

    def validate(self, config):
        configs = [{'definition': {'name': k}, 'value': {'name': k, 'value': v, 'errors': []}}
                   for k, v in config.items()]
        for key, errors in self.invalid.items():
            configs.append({'definition': {'name': key}, 'value': {'name': key, 'errors': list(errors)}})
        return {'name': config.get('connector.class'), 'error_count': sum(len(e) for e in self.invalid.values()),
                'groups': [], 'configs': configs}

    def actions(self):
        """The requests that change something (validation excluded)."""
        return [(m, p) for m, p, b, q in self.calls if m != 'GET' and not p.startswith('/connector-plugins')]


class Clock:
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(connect_client, 'CLOCK', clock.time)
    monkeypatch.setattr(connect_client, 'SLEEP', clock.sleep)
    return clock


@pytest.fixture(autouse=True)
def no_leftover_warnings(monkeypatch):
    # Warnings go to the module result only outside the controller; other tests may have loaded controller code.
    monkeypatch.setattr(ansible_internal, 'is_controller', False)
    monkeypatch.setattr(ansible_warnings, '_global_warnings', {})


def warnings_of(result):
    """Warning texts of a module result (ansible-core 2.19 returns them as structured summaries)."""
    return [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]


def params(**overrides):
    base = {'name': 'src', 'config': dict(BASE), 'state': 'running', 'restart_only_failed': True, 'validate': True,
            'ignore_validation_errors': [], 'secret_keys': list(connect_client.DEFAULT_SECRET_KEYS), 'wait': True,
            'wait_timeout': 180, 'url': 'http://c:8083', 'validate_certs': True, 'ca_path': None,
            'client_cert': None, 'client_key': None, 'url_username': None, 'url_password': None,
            'request_timeout': 30}
    base.update(overrides)
    return base


def st(connector='RUNNING', *tasks):
    return {'connector': {'state': connector, 'worker_id': 'w'},
            'tasks': [{'id': i, 'state': s, 'worker_id': 'w'} for i, s in enumerate(tasks)]}


def plan_for(current=None, status=None, **overrides):
    p = params(**overrides)
    return compute_plan(p, desired_config(p), current, status, Masker())


# -- option checks and string conversion (pure) ---------------------------------------------------

def test_config_values_become_strings():
    assert config_string('a', True) == 'true' and config_string('a', False) == 'false'
    assert config_string('a', 5) == '5' and config_string('a', 0.5) == '0.5'
    assert config_string('a', ['x', 2, True]) == 'x,2,true'
    for bad in (None, {'x': 1}):
        with pytest.raises(PlanError, match='config a must be a string, number, boolean or list'):
            config_string('a', bad)


def test_desired_config_drops_matching_name():
    assert desired_config(params(config=dict(BASE, name='src', **{'tasks.max': 2}))) == dict(BASE, **{'tasks.max': '2'})


@pytest.mark.parametrize('overrides, message', [
    ({'name': ''}, 'name must not be empty'),
    ({'wait_timeout': 0}, 'wait_timeout must be a positive integer (got 0)'),
    ({'request_timeout': -1}, 'request_timeout must be a positive integer (got -1)'),
    ({'config': None}, 'config is required with state=running'),
    ({'config': {}, 'state': 'validated'}, 'config is required with state=validated'),
    ({'config': dict(BASE, name='other')}, 'config has name other but the connector is src'),
    ({'config': {'tasks.max': 1}}, 'config must contain connector.class'),
])
def test_desired_config_errors(overrides, message):
    with pytest.raises(PlanError) as exc:
        desired_config(params(**overrides))
    assert str(exc.value) == message


def test_absent_and_restarted_ignore_config():
    assert desired_config(params(state='absent', config=None)) is None
    assert desired_config(params(state='restarted', config={'junk': None})) is None


# -- plans (pure) ---------------------------------------------------------------------------------

@pytest.mark.parametrize('state, initial', [('running', None), ('paused', 'PAUSED'), ('stopped', 'STOPPED')])
def test_plan_create(state, initial):
    assert plan_for(state=state) == [{'action': 'create', 'connector': 'src', 'initial_state': initial}]


def test_plan_noop_compares_strings():
    current = dict(BASE, **{'tasks.max': '5', 'errors.tolerance': 'all', 'flag': 'true', 'list': 'a,b'})
    config = dict(BASE, **{'tasks.max': 5, 'errors.tolerance': 'all', 'flag': True, 'list': ['a', 'b']})
    assert plan_for(current, st('RUNNING', 'RUNNING'), config=config) == []


def test_plan_update_with_changed_and_removed_keys():
    current = dict(BASE, **{'tasks.max': '1', 'batch.size': '100', 'flag': 'false'})
    config = dict(BASE, **{'tasks.max': 2, 'flag': True, 'new.setting': 'x'})
    assert plan_for(current, st('RUNNING', 'RUNNING'), config=config) == [
        {'action': 'update_config', 'connector': 'src', 'set': {'flag': 'true', 'new.setting': 'x', 'tasks.max': '2'},
         'remove': ['batch.size']}]


def test_plan_only_removed_keys_is_drift():
    plan = plan_for(dict(BASE, extra='1'), st('RUNNING', 'RUNNING'))
    assert plan == [{'action': 'update_config', 'connector': 'src', 'set': {}, 'remove': ['extra']}]


def test_plan_masks_secret_values():
    config = dict(BASE, **{'db.password': 'hunter22', 'ref.password': '${dir:/s:pw}'})
    plan = plan_for(dict(BASE), st('RUNNING', 'RUNNING'), config=config)
    assert plan[0]['set'] == {'db.password': '********', 'ref.password': '${dir:/s:pw}'}


@pytest.mark.parametrize('observed', ['PAUSED', 'STOPPED'])
def test_plan_running_resumes_after_update(observed):
    plan = plan_for(dict(BASE, topic='old'), st(observed))
    assert [a['action'] for a in plan] == ['update_config', 'resume']


def test_plan_running_restarts_failed_parts():
    assert plan_for(dict(BASE), st('RUNNING', 'RUNNING', 'FAILED')) == [
        {'action': 'restart', 'connector': 'src', 'only_failed': True}]
    assert [a['action'] for a in plan_for(dict(BASE), st('FAILED'))] == ['restart']


def test_plan_running_failed_with_config_change_only_updates():
    assert [a['action'] for a in plan_for(dict(BASE, topic='old'), st('FAILED', 'FAILED'))] == ['update_config']


@pytest.mark.parametrize('observed', [None, 'UNASSIGNED', 'RESTARTING'])
def test_plan_running_leaves_transient_states_alone(observed):
    assert plan_for(dict(BASE), st(observed) if observed else None) == []


@pytest.mark.parametrize('state, verb', [('paused', 'pause'), ('stopped', 'stop')])
def test_plan_pause_or_stop_before_update(state, verb):
    plan = plan_for(dict(BASE, topic='old'), st('RUNNING', 'RUNNING'), state=state)
    assert [a['action'] for a in plan] == [verb, 'update_config']


@pytest.mark.parametrize('state, observed', [('paused', 'PAUSED'), ('stopped', 'STOPPED')])
def test_plan_paused_or_stopped_noop(state, observed):
    assert plan_for(dict(BASE), st(observed), state=state) == []


def test_plan_paused_from_stopped_and_failed():
    assert plan_for(dict(BASE), st('STOPPED'), state='paused') == [{'action': 'pause', 'connector': 'src'}]
    assert plan_for(dict(BASE), st('FAILED'), state='paused') == [{'action': 'pause', 'connector': 'src'}]
    assert plan_for(dict(BASE), st('PAUSED'), state='stopped') == [{'action': 'stop', 'connector': 'src'}]


def test_plan_absent():
    assert plan_for(dict(BASE), st(), state='absent') == [{'action': 'delete', 'connector': 'src'}]
    assert plan_for(None, None, state='absent') == []


def test_plan_restarted():
    assert plan_for(dict(BASE), st(), state='restarted', restart_only_failed=False) == [
        {'action': 'restart', 'connector': 'src', 'only_failed': False}]
    with pytest.raises(PlanError, match='^connector src does not exist, so it cannot be restarted$'):
        plan_for(None, None, state='restarted')


def test_predict_and_view():
    desired = dict(BASE, **{'db.password': 'new-secret'})
    current = dict(BASE, **{'db.password': 'old-secret', 'x.password': 'same-secret'})
    plan = [{'action': 'stop', 'connector': 'src'}, {'action': 'update_config', 'connector': 'src'}]
    assert predict(current, 'running', plan, desired, 'stopped') == (desired, 'stopped')
    assert predict(None, None, [{'action': 'create'}], desired, 'paused') == (desired, 'paused')
    assert predict(current, 'paused', [{'action': 'pause'}], None, 'paused')[1] == 'paused'
    assert predict(current, 'failed', [{'action': 'restart'}], None, 'restarted')[1] == 'failed'
    assert predict(current, 'failed', [{'action': 'restart'}], None, 'running')[1] == 'running'
    assert predict(current, 'running', [{'action': 'delete'}], None, 'absent') == (None, 'absent')
    masker = Masker()
    after = view('src', dict(desired, **{'x.password': 'same-secret'}), 'stopped', masker, before=current)
    assert after['config']['db.password'] == '******** (changed)'
    assert after['config']['x.password'] == '********'
    assert view('src', current, None, masker, failed_tasks=[1]) == {
        'name': 'src', 'state': 'unknown', 'failed_tasks': [1], 'config': masker.mask(dict(sorted(current.items())))}
    assert view('src', None, 'absent', masker) == {'state': 'absent'}


# -- the module -----------------------------------------------------------------------------------

@pytest.fixture
def run_main(monkeypatch, capsys):
    def run(args, fake, check=False, diff=False):
        monkeypatch.setattr(ConnectClient, 'request',
                            lambda self, method, path, body=None, query=None: fake(self, method, path, body, query))
        args = dict({'url': 'http://c:8083', 'name': 'src'}, **args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                connect_connector.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result['_rc'] = exc.value.code
        result['_out'] = out
        return result
    return run


def test_main_creates_running_connector_and_waits(run_main):
    fake = FakeConnect()
    result = run_main({'config': dict(BASE, **{'tasks.max': 1})}, fake, diff=True)
    assert result['_rc'] == 0 and result['changed'] is True
    assert result['plan'] == [{'action': 'create', 'connector': 'src', 'initial_state': None}]
    assert fake.calls[0][:2] == ('GET', '/connectors/src/config')
    validate = fake.calls[1]
    assert validate[:2] == ('PUT', '/connector-plugins/%s/config/validate' % CLASS)
    assert validate[2] == dict(BASE, name='src')
    assert fake.actions() == [('PUT', '/connectors/src/config')]
    assert fake.connectors['src']['config'] == dict(BASE, name='src')
    assert result['status']['connector']['state'] == 'RUNNING'
    assert result['status']['tasks'] == [{'id': 0, 'state': 'RUNNING', 'worker_id': 'w1:8083'}]
    assert result['state'] == 'running' and result['config'] == BASE
    assert result['validation_errors'] == {}
    assert result['diff'] == {'before': {'state': 'absent'},
                              'after': {'name': 'src', 'state': 'running', 'config': BASE}}


@pytest.mark.parametrize('state, initial', [('paused', 'PAUSED'), ('stopped', 'STOPPED')])
def test_main_creates_paused_or_stopped_via_initial_state(run_main, state, initial):
    fake = FakeConnect()
    result = run_main({'config': BASE, 'state': state}, fake)
    assert result['changed'] is True and result['state'] == state
    (post,) = [c for c in fake.calls if c[0] == 'POST']
    assert post[1] == '/connectors' and post[2] == {'name': 'src', 'config': dict(BASE, name='src'),
                                                    'initial_state': initial}
    assert fake.actions() == [('POST', '/connectors')]
    assert result['status']['connector']['state'] == initial
    if state == 'stopped':
        assert result['status']['tasks'] == []


def test_main_noop_returns_status_without_validating(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'config': dict(BASE, **{'tasks.max': 1})}, fake, diff=True)
    assert result['changed'] is False and result['plan'] == []
    assert fake.actions() == [] and 'validation_errors' not in result
    assert result['status']['connector']['state'] == 'RUNNING' and 'name' not in result['status']
    assert result['diff']['before'] == result['diff']['after']


def test_main_update_removes_keys(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src', **{'batch.size': '10'}))})
    result = run_main({'config': dict(BASE, topic='t2')}, fake, diff=True)
    assert result['changed'] is True
    assert result['plan'] == [{'action': 'update_config', 'connector': 'src', 'set': {'topic': 't2'},
                               'remove': ['batch.size']}]
    (put,) = [c for c in fake.calls if c[1] == '/connectors/src/config' and c[0] == 'PUT']
    assert put[2] == dict(BASE, topic='t2', name='src')
    assert fake.connectors['src']['config'] == dict(BASE, topic='t2', name='src')
    assert result['diff']['before']['config'] == dict(BASE, **{'batch.size': '10'})
    assert result['diff']['after']['config'] == dict(BASE, topic='t2')


def test_main_check_mode_applies_nothing_but_validates(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src', extra='1'), state='RUNNING')})
    result = run_main({'config': dict(BASE, topic='t2'), 'state': 'stopped'}, fake, check=True, diff=True)
    assert result['changed'] is True
    assert [a['action'] for a in result['plan']] == ['stop', 'update_config']
    assert fake.actions() == []
    assert [c[0] for c in fake.calls] == ['GET', 'GET', 'PUT']  # config, status, validate
    assert fake.connectors['src']['state'] == 'RUNNING'
    assert result['state'] == 'stopped' and result['config'] == dict(BASE, topic='t2')
    assert 'status' not in result
    assert result['diff'] == {
        'before': {'name': 'src', 'state': 'running', 'config': dict(BASE, extra='1')},
        'after': {'name': 'src', 'state': 'stopped', 'config': dict(BASE, topic='t2')}}


def test_main_check_mode_create(run_main):
    fake = FakeConnect()
    result = run_main({'config': BASE, 'state': 'paused'}, fake, check=True)
    assert result['changed'] is True and fake.connectors == {} and fake.actions() == []
    assert result['state'] == 'paused' and 'diff' not in result


def test_main_validation_failure_lists_each_field(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))},
                       invalid={'tasks.max': ['Not a number of type INT', 'Value must be non-null'],
                                'topic': ['Missing required configuration "topic" which has no default value.']})
    result = run_main({'config': dict(BASE, **{'tasks.max': 'abc'})}, fake)
    assert result['_rc'] == 1 and result['failed'] is True and result['changed'] is False
    assert result['msg'] == ('config of connector src is invalid (3 error(s)): tasks.max: Not a number of type INT; '
                             'tasks.max: Value must be non-null; topic: Missing required configuration "topic" '
                             'which has no default value.')
    assert set(result['validation_errors']) == {'tasks.max', 'topic'}
    assert fake.actions() == [] and fake.connectors['src']['config']['tasks.max'] == '1'


def test_main_ignored_validation_errors_become_warnings(run_main):
    fake = FakeConnect(invalid={'database.hostname': ['Unable to connect: connection refused']})
    result = run_main({'config': BASE, 'ignore_validation_errors': ['database.hostname']}, fake)
    assert result['_rc'] == 0 and result['changed'] is True
    assert warnings_of(result) == ['ignored validation error of connector src: database.hostname: '
                                  'Unable to connect: connection refused']
    assert result['validation_errors'] == {'database.hostname': ['Unable to connect: connection refused']}


def test_main_validate_false_skips_validation(run_main):
    fake = FakeConnect(invalid={'topic': ['bad']})
    result = run_main({'config': BASE, 'validate': False}, fake)
    assert result['changed'] is True and 'validation_errors' not in result
    assert not [c for c in fake.calls if c[1].startswith('/connector-plugins')]


def test_main_validated_state_only_validates(run_main):
    fake = FakeConnect(invalid={'database.hostname': ['Unable to connect'], 'database.port': ['refused']})
    result = run_main({'config': dict(BASE, **{'db.password': 'hunter22'}), 'state': 'validated',
                       'ignore_validation_errors': ['database.hostname', 'database.port']}, fake)
    assert result['_rc'] == 0 and result['changed'] is False and result['plan'] == []
    assert [c[:2] for c in fake.calls] == [('PUT', '/connector-plugins/%s/config/validate' % CLASS)]
    assert result['validation_errors'] == {'database.hostname': ['Unable to connect'], 'database.port': ['refused']}
    assert warnings_of(result) == ['ignored validation error of connector src: database.hostname: Unable to connect',
                                   'ignored validation error of connector src: database.port: refused']
    assert result['config'] == dict(BASE, **{'db.password': '********'})
    assert fake.connectors == {}


def test_main_validated_state_fails_on_other_errors(run_main):
    fake = FakeConnect(invalid={'database.hostname': ['Unable to connect'], 'topic': ['missing']})
    result = run_main({'config': BASE, 'state': 'validated', 'ignore_validation_errors': ['database.hostname']}, fake)
    assert result['_rc'] == 1 and result['changed'] is False
    assert result['msg'] == 'config of connector src is invalid (1 error(s)): topic: missing'
    assert result['validation_errors'] == {'database.hostname': ['Unable to connect'], 'topic': ['missing']}


def test_main_masks_secrets_but_shows_references(run_main):
    current = dict(BASE, name='src', **{'database.password': 'old-hunter22', 'sasl.jaas.config': 'user="a" pw="x"'})
    fake = FakeConnect({'src': FakeConnect.make(current)})
    fake.connectors['src']['tasks'] = ['RUNNING']
    config = dict(BASE, **{'database.password': 'new-hunter22',
                           'connection.password': '${dir:/etc/kafka-connect/secrets:pg-password}'})
    result = run_main({'config': config}, fake, diff=True)
    assert result['_rc'] == 0
    for secret in ('old-hunter22', 'new-hunter22', 'user="a" pw="x"'):
        assert secret not in result['_out']
    assert result['config']['database.password'] == '********'
    assert result['config']['connection.password'] == '${dir:/etc/kafka-connect/secrets:pg-password}'
    assert result['plan'][0]['set'] == {'connection.password': '${dir:/etc/kafka-connect/secrets:pg-password}',
                                        'database.password': '********'}
    assert result['plan'][0]['remove'] == ['sasl.jaas.config']
    assert result['diff']['before']['config']['sasl.jaas.config'] == '********'
    assert result['diff']['after']['config']['database.password'] == '******** (changed)'
    # the real values were sent
    assert fake.connectors['src']['config']['database.password'] == 'new-hunter22'


def test_main_scrubs_secrets_from_messages(run_main):
    fake = FakeConnect(invalid={'database.password': ['Login with password hunter22-pw failed']})
    result = run_main({'config': dict(BASE, **{'database.password': 'hunter22-pw'})}, fake)
    assert result['failed'] is True and 'hunter22-pw' not in result['_out']
    assert result['msg'].endswith('database.password: Login with password ******** failed')


def test_main_wait_failure_reports_traces(run_main):
    fake = FakeConnect()
    trace = 'org.apache.kafka.connect.errors.ConnectException: cannot open /tmp/in.txt\n' + '\n'.join(
        '\tat Frame.f%d' % i for i in range(100))
    fake.statuses['src'] = [{'name': 'src', 'connector': {'state': 'RUNNING', 'worker_id': 'w'}, 'type': 'source',
                             'tasks': [{'id': 0, 'state': 'FAILED', 'worker_id': 'w', 'trace': trace}]}]
    result = run_main({'config': BASE}, fake)
    assert result['_rc'] == 1 and result['changed'] is True
    msg = result['msg']
    assert msg.startswith('connector src failed while waiting for RUNNING: connector RUNNING, task 0 FAILED\n'
                          'task 0 trace:\norg.apache.kafka.connect.errors.ConnectException: cannot open /tmp/in.txt')
    assert '\tat Frame.f38\n... (61 more lines)' in msg and 'Frame.f39' not in msg
    assert result['status']['tasks'][0]['state'] == 'FAILED'
    assert result['plan'] == [{'action': 'create', 'connector': 'src', 'initial_state': None}]


def test_main_wait_failure_of_connector(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'), state='PAUSED', tasks=['PAUSED'])})
    fake.statuses['src'] = [st('PAUSED', 'PAUSED'),
                            dict(st('FAILED'), connector={'state': 'FAILED', 'worker_id': 'w', 'trace': 'Boom'})]
    result = run_main({'config': BASE}, fake)
    assert result['_rc'] == 1
    assert result['msg'] == ('connector src failed while waiting for RUNNING: connector FAILED, no tasks\n'
                             'connector trace:\nBoom')


def test_main_wait_timeout(run_main, fast):
    fake = FakeConnect()
    fake.statuses['src'] = [st('RUNNING', 'UNASSIGNED')]
    result = run_main({'config': BASE, 'wait_timeout': 20}, fake)
    assert result['_rc'] == 1 and result['changed'] is True
    assert result['msg'] == ('timed out after 20s waiting for connector src and its tasks to be RUNNING; '
                             'last status: connector RUNNING, task 0 UNASSIGNED')
    assert 20 <= fast.now <= 22


def test_main_no_wait(run_main):
    fake = FakeConnect()
    fake.statuses['src'] = [st('RUNNING', 'FAILED')]
    result = run_main({'config': BASE, 'wait': False}, fake)
    assert result['_rc'] == 0 and result['changed'] is True and 'status' not in result
    assert not [c for c in fake.calls if c[1].endswith('/status')]


def test_main_resumes_stopped_connector(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'), state='STOPPED', tasks=[])})
    result = run_main({'config': BASE}, fake, diff=True)
    assert result['plan'] == [{'action': 'resume', 'connector': 'src'}]
    assert fake.actions() == [('PUT', '/connectors/src/resume')]
    assert result['diff']['before']['state'] == 'stopped' and result['diff']['after']['state'] == 'running'
    assert result['status']['connector']['state'] == 'RUNNING'


def test_main_pauses_running_connector(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'config': BASE, 'state': 'paused'}, fake)
    assert fake.actions() == [('PUT', '/connectors/src/pause')]
    assert result['status']['tasks'][0]['state'] == 'PAUSED'


def test_main_running_restarts_failed_task(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'), tasks=['RUNNING', 'FAILED'])})
    fake.connectors['src']['task_traces'] = {1: 'old failure'}
    result = run_main({'config': BASE}, fake, diff=True)
    assert result['plan'] == [{'action': 'restart', 'connector': 'src', 'only_failed': True}]
    (restart,) = [c for c in fake.calls if c[0] == 'POST']
    assert restart[1] == '/connectors/src/restart' and restart[3] == [('includeTasks', 'true'), ('onlyFailed', 'true')]
    assert result['diff']['before']['failed_tasks'] == [1] and 'failed_tasks' not in result['diff']['after']
    assert [t['state'] for t in result['status']['tasks']] == ['RUNNING', 'RUNNING']


def test_main_restart_of_failed_connector_tolerates_stale_status(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'), state='FAILED', tasks=[])})
    fake.statuses['src'] = [st('FAILED'), st('FAILED'), st('FAILED'), st('RUNNING', 'RUNNING')]
    result = run_main({'config': BASE}, fake)
    assert result['_rc'] == 0 and result['status']['connector']['state'] == 'RUNNING'


@pytest.mark.parametrize('only_failed, flag', [(True, 'true'), (False, 'false')])
def test_main_restarted(run_main, only_failed, flag):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'state': 'restarted', 'restart_only_failed': only_failed}, fake)
    assert result['changed'] is True and result['state'] == 'running'
    (restart,) = [c for c in fake.calls if c[0] == 'POST']
    assert restart[3] == [('includeTasks', 'true'), ('onlyFailed', flag)]
    assert not [c for c in fake.calls if c[1].startswith('/connector-plugins')]


def test_main_restarted_paused_connector_waits_for_paused(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'), state='PAUSED', tasks=['PAUSED'])})
    result = run_main({'state': 'restarted'}, fake)
    assert result['_rc'] == 0 and result['state'] == 'paused'


def test_main_restarted_missing_connector_fails(run_main):
    fake = FakeConnect()
    result = run_main({'state': 'restarted'}, fake)
    assert result['_rc'] == 1 and result['changed'] is False
    assert result['msg'] == 'connector src does not exist, so it cannot be restarted'


def test_main_restarted_check_mode(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'state': 'restarted'}, fake, check=True)
    assert result['changed'] is True and fake.actions() == []


def test_main_deletes_and_waits_for_absence(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'state': 'absent'}, fake, diff=True)
    assert result['changed'] is True and fake.connectors == {}
    assert fake.actions() == [('DELETE', '/connectors/src')]
    assert fake.calls[-1][:2] == ('GET', '/connectors/src/config')
    assert result['state'] == 'absent' and result['config'] is None
    assert result['diff']['after'] == {'state': 'absent'}


def test_main_absent_noop(run_main):
    result = run_main({'state': 'absent', 'config': BASE}, FakeConnect())
    assert result['changed'] is False and result['plan'] == [] and 'status' not in result


def test_main_apply_error_reports_partial_progress(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    fake.errors[('PUT', '/connectors/src/config')] = ConnectError('Kafka Connect answered HTTP 500: boom', status=500)
    result = run_main({'config': dict(BASE, topic='t9'), 'state': 'paused'}, fake)
    assert result['_rc'] == 1 and result['changed'] is True
    assert result['msg'] == 'Kafka Connect answered HTTP 500: boom'
    assert result['applied'] == [{'action': 'pause', 'connector': 'src'}]


def test_main_read_error(run_main):
    fake = FakeConnect()
    fake.errors[('GET', '/connectors/src/config')] = ConnectError('cannot reach Kafka Connect at http://c:8083')
    result = run_main({'config': BASE}, fake)
    assert result['_rc'] == 1 and result['changed'] is False
    assert result['msg'] == 'cannot reach Kafka Connect at http://c:8083'


def test_main_option_errors_fail_before_connecting(run_main):
    fake = FakeConnect()
    result = run_main({'config': BASE, 'secret_keys': ['(']}, fake)
    assert result['_rc'] == 1 and result['msg'].startswith("secret_keys: invalid regular expression '('")
    result = run_main({}, fake)
    assert result['msg'] == 'config is required with state=running'
    result = run_main({'config': BASE, 'url': 'connect:8083'}, fake)
    assert result['msg'].startswith('url must be an http:// or https:// URL')
    assert fake.calls == []


def test_main_password_option_is_not_logged(run_main):
    fake = FakeConnect({'src': FakeConnect.make(dict(BASE, name='src'))})
    result = run_main({'config': BASE, 'url_username': 'admin', 'url_password': 's3cr3t-value'}, fake)
    assert result['_rc'] == 0 and 's3cr3t-value' not in result['_out']


def test_make_client_passes_connection_options(monkeypatch):
    client = connect_connector.make_client(params(url='https://c:8443', validate_certs=False, ca_path='/ca',
                                                  client_cert='/cert', client_key='/key', url_username='u',
                                                  url_password='p', request_timeout=9))
    assert (client.base_url, client.validate_certs, client.ca_path, client.client_cert, client.client_key,
            client.url_username, client.url_password, client.timeout) == (
        'https://c:8443', False, '/ca', '/cert', '/key', 'u', 'p', 9)


def test_apply_rejects_unknown_action():
    with pytest.raises(ConnectError, match="unknown plan action 'explode' for connector src"):
        connect_connector.apply(None, {'action': 'explode', 'connector': 'src'}, {})
