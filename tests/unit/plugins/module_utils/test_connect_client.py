# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for plugins/module_utils/connect_client.py: open_url is replaced by a recorder, no network."""

from __future__ import annotations

import io
import json
import socket
import urllib.error

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import connect_client
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import (
    MASK,
    ConnectClient,
    ConnectError,
    Masker,
    WaitError,
    format_errors,
    has_failures,
    status_summary,
    status_traces,
    trace_head,
    validation_errors,
    verdict,
    wait_for_absence,
    wait_for_state,
)


class Response:
    def __init__(self, body=b'', status=200):
        self.body, self.status = body, status

    def read(self):
        return self.body


def http_error(code, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return urllib.error.HTTPError('http://c:8083/x', code, 'Reason %d' % code, {}, io.BytesIO(raw))


class Opener:
    """Replaces open_url: returns or raises the queued outcomes in order, records each call."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = []

    def __call__(self, url, **kwargs):
        self.calls.append(dict(kwargs, url=url))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, Response):
            return outcome
        return Response(json.dumps(outcome).encode() if outcome is not None else b'')


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(connect_client, 'CLOCK', c.time)
    monkeypatch.setattr(connect_client, 'SLEEP', c.sleep)
    return c


@pytest.fixture
def opener(monkeypatch):
    def install(*outcomes):
        op = Opener(*outcomes)
        monkeypatch.setattr(connect_client, 'open_url', op)
        return op
    return install


# -- transport ------------------------------------------------------------------------------------

def test_request_sends_json_with_connection_options(opener):
    op = opener({'ok': 1})
    client = ConnectClient('https://connect-1:8443/', validate_certs=False, ca_path='/ca.pem', client_cert='/c.pem',
                           client_key='/k.pem', url_username='admin', url_password='pw', timeout=7)
    assert client.request('PUT', '/connectors/a%20b/config', {'x': 'y'}, query=[('q', '1')]) == {'ok': 1}
    (call,) = op.calls
    assert call['url'] == 'https://connect-1:8443/connectors/a%20b/config?q=1'
    assert call['method'] == 'PUT' and json.loads(call['data']) == {'x': 'y'}
    assert call['headers'] == {'Accept': 'application/json', 'Content-Type': 'application/json'}
    assert (call['validate_certs'], call['ca_path'], call['client_cert'], call['client_key']) == (
        False, '/ca.pem', '/c.pem', '/k.pem')
    assert (call['url_username'], call['url_password'], call['force_basic_auth'], call['timeout']) == (
        'admin', 'pw', True, 7)


def test_request_defaults_verify_tls_and_no_auth(opener):
    op = opener(None)
    assert ConnectClient('http://c:8083').request('GET', '/') is None
    call = op.calls[0]
    assert call['validate_certs'] is True and call['force_basic_auth'] is False and call['data'] is None
    assert call['headers'] == {'Accept': 'application/json'} and call['timeout'] == 30


@pytest.mark.parametrize('url', ['', None, 'connect-1:8083', 'ftp://x', 'http://'])
def test_invalid_url(url):
    with pytest.raises(ConnectError, match='url must be an http:// or https:// URL'):
        ConnectClient(url)


def test_http_error_carries_status_and_connect_message(opener):
    opener(http_error(404, {'error_code': 404, 'message': 'Connector x not found'}))
    with pytest.raises(ConnectError) as exc:
        ConnectClient('http://c:8083').request('GET', '/connectors/x/config')
    assert exc.value.status == 404 and exc.value.connect_message == 'Connector x not found'
    assert str(exc.value) == 'Kafka Connect answered HTTP 404 to GET /connectors/x/config: Connector x not found'


def test_http_error_without_json_body(opener):
    opener(http_error(502, b'<html>Bad gateway</html>'))
    with pytest.raises(ConnectError, match='HTTP 502 to GET /: <html>Bad gateway</html>$'):
        ConnectClient('http://c:8083').request('GET', '/')


def test_http_error_without_body(opener):
    opener(http_error(401, b''))
    with pytest.raises(ConnectError, match='HTTP 401 to GET /: Reason 401$'):
        ConnectClient('http://c:8083').request('GET', '/')


def test_http_error_unreadable_body(opener):
    err = urllib.error.HTTPError('http://c:8083/', 500, None, {}, None)
    err.read = lambda: (_ for _ in ()).throw(OSError('gone'))
    opener(err)
    with pytest.raises(ConnectError, match='HTTP 500 to GET /: no error message$'):
        ConnectClient('http://c:8083').request('GET', '/')


def test_conflict_is_retried(opener, clock):
    op = opener(http_error(409, {'message': 'Cannot complete request because of a conflicting operation '
                                            '(e.g. worker rebalance)'}), {'ok': True})
    assert ConnectClient('http://c:8083').request('PUT', '/connectors/x/pause') == {'ok': True}
    assert len(op.calls) == 2 and clock.sleeps == [connect_client.CONFLICT_BACKOFF]


def test_conflict_retries_are_bounded(opener, monkeypatch):
    monkeypatch.setattr(connect_client, 'CONFLICT_RETRIES', 2)
    op = opener(http_error(409, {'message': 'rebalance'}))
    with pytest.raises(ConnectError) as exc:
        ConnectClient('http://c:8083').request('PUT', '/connectors/x/pause')
    assert exc.value.status == 409 and len(op.calls) == 3


def test_already_exists_is_not_retried(opener):
    op = opener(http_error(409, {'message': 'Connector x already exists'}))
    with pytest.raises(ConnectError, match='already exists'):
        ConnectClient('http://c:8083').request('POST', '/connectors', {})
    assert len(op.calls) == 1


def test_connection_refused_hides_credentials(opener):
    opener(urllib.error.URLError(ConnectionRefusedError(111, 'Connection refused')))
    with pytest.raises(ConnectError) as exc:
        ConnectClient('http://u:secretpw@c:8083/base').request('GET', '/connectors')
    assert str(exc.value) == ('cannot reach Kafka Connect at http://c:8083/base (GET /connectors): '
                              '[Errno 111] Connection refused')
    assert exc.value.status is None


def test_credentials_without_port_are_hidden(opener):
    opener(OSError('boom'))
    with pytest.raises(ConnectError, match=r'at https://c \(GET /\): boom$'):
        ConnectClient('https://u@c/').request('GET', '/')


@pytest.mark.parametrize('error', [urllib.error.URLError(socket.timeout('timed out')), socket.timeout('timed out'),
                                   TimeoutError()])
def test_timeouts(opener, error):
    opener(error)
    with pytest.raises(ConnectError, match=r'^timed out after 3s on GET /connectors\?expand=status at http://c:8083$'):
        ConnectClient('http://c:8083', timeout=3).request('GET', '/connectors', query=[('expand', 'status')])


def test_invalid_json_response(opener):
    opener(Response(b'not json'))
    with pytest.raises(ConnectError, match="response to GET / that is not JSON: b'not json'"):
        ConnectClient('http://c:8083').request('GET', '/')


# -- endpoints ------------------------------------------------------------------------------------

class Recorder(ConnectClient):
    def __init__(self, answers=None):
        super().__init__('http://c:8083')
        self.answers = answers or {}
        self.calls = []

    def request(self, method, path, body=None, query=None):
        self.calls.append((method, path, body, query))
        answer = self.answers.get((method, path))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_endpoint_paths_and_bodies():
    c = Recorder({('GET', '/connectors'): None, ('GET', '/connector-plugins'): None, ('GET', '/'): None})
    c.put_config('a/b', {'k': 'v'})
    c.create('s', {'k': 'v'}, 'STOPPED')
    c.create('r', {'k': 'v'})
    c.pause('s')
    c.resume('s')
    c.stop('s')
    c.delete('s')
    c.restart('s')
    c.restart('s', include_tasks=False, only_failed=False)
    c.validate({'connector.class': 'io.x.Y', 'name': 's'})
    assert c.list_connectors() == {} and c.plugins() == [] and c.worker() == {}
    assert c.calls == [
        ('PUT', '/connectors/a%2Fb/config', {'k': 'v', 'name': 'a/b'}, None),
        ('POST', '/connectors', {'name': 's', 'config': {'k': 'v', 'name': 's'}, 'initial_state': 'STOPPED'}, None),
        ('POST', '/connectors', {'name': 'r', 'config': {'k': 'v', 'name': 'r'}}, None),
        ('PUT', '/connectors/s/pause', None, None),
        ('PUT', '/connectors/s/resume', None, None),
        ('PUT', '/connectors/s/stop', None, None),
        ('DELETE', '/connectors/s', None, None),
        ('POST', '/connectors/s/restart', None, [('includeTasks', 'true'), ('onlyFailed', 'true')]),
        ('POST', '/connectors/s/restart', None, [('includeTasks', 'false'), ('onlyFailed', 'false')]),
        ('PUT', '/connector-plugins/io.x.Y/config/validate', {'connector.class': 'io.x.Y', 'name': 's'}, None),
        ('GET', '/connectors', None, [('expand', 'status'), ('expand', 'info')]),
        ('GET', '/connector-plugins', None, [('connectorsOnly', 'true')]),
        ('GET', '/', None, None),
    ]


def test_validate_needs_connector_class():
    with pytest.raises(ConnectError, match='without connector.class'):
        Recorder().validate({'name': 'x'})


def test_missing_connector_reads_as_none():
    c = Recorder({('GET', '/connectors/x/config'): ConnectError('nf', status=404),
                  ('GET', '/connectors/x/status'): ConnectError('nf', status=404)})
    assert c.get_config('x') is None and c.get_status('x') is None


def test_other_read_errors_propagate():
    c = Recorder({('GET', '/connectors/x/config'): ConnectError('forbidden', status=403)})
    with pytest.raises(ConnectError, match='forbidden'):
        c.get_config('x')


def test_initial_state_on_old_connect_gets_a_hint():
    msg = 'Unrecognized field "initial_state" (class CreateConnectorRequest)'
    c = Recorder({('POST', '/connectors'): ConnectError('HTTP 500: ' + msg, status=500, connect_message=msg)})
    with pytest.raises(ConnectError, match=r'initial_state needs Kafka Connect 3.7 or later\)$') as exc:
        c.create('x', {}, 'PAUSED')
    assert exc.value.status == 500


def test_other_create_errors_are_unchanged():
    c = Recorder({('POST', '/connectors'): ConnectError('HTTP 400: bad', status=400, connect_message='bad')})
    with pytest.raises(ConnectError, match='^HTTP 400: bad$'):
        c.create('x', {}, 'PAUSED')


# -- masking --------------------------------------------------------------------------------------

@pytest.mark.parametrize('key', ['database.password', 'connection.PASSWORD', 'aws.secret.access.key', 'api.token',
                                 'credentials.json', 'sasl.jaas.config', 'ssl.key', 'client.secret'])
def test_default_secret_keys(key):
    assert Masker().is_secret_key(key)


@pytest.mark.parametrize('key', ['database.user', 'key.converter', 'tasks.max', 'topic.prefix', 'keystore.type'])
def test_default_non_secret_keys(key):
    assert not Masker().is_secret_key(key)


def test_mask_keeps_config_provider_references():
    m = Masker()
    config = {'database.password': 'hunter22', 'connection.password': '${dir:/etc/secrets:pg-password}',
              'sasl.jaas.config': '${file:/etc/kafka/jaas.properties:jaas}', 'database.user': 'u',
              'mixed.password': 'pre-${file:/x:y}'}
    assert m.mask(config) == {'database.password': MASK, 'connection.password': '${dir:/etc/secrets:pg-password}',
                              'sasl.jaas.config': '${file:/etc/kafka/jaas.properties:jaas}', 'database.user': 'u',
                              'mixed.password': MASK}
    assert m.mask(None) is None


def test_learn_and_scrub():
    m = Masker()
    found = m.learn({'database.password': 'hunter22', 'x.password': 'abc', 'y.token': 'true', 'z.secret': None,
                     'b.secret': True, 'ref.password': '${dir:/d:k}', 'user': 'hunter22-not-secret-key',
                     'longer.password': 'hunter22xyz'})
    assert found == {'hunter22', 'hunter22xyz'}
    m.learn(None)
    assert m.scrub('login hunter22xyz / hunter22 failed') == 'login %s / %s failed' % (MASK, MASK)
    assert m.scrub(5) == 5
    assert m.scrub_data({'a': ['x hunter22', {'b': 'hunter22'}], 'n': 1}) == {'a': ['x ' + MASK, {'b': MASK}], 'n': 1}


def test_custom_patterns_and_invalid_regex():
    assert Masker(['^only$']).is_secret_key('only') and not Masker(['^only$']).is_secret_key('database.password')
    assert not Masker([]).hides('database.password', 'x')
    with pytest.raises(ValueError, match=r"secret_keys: invalid regular expression '\(': "):
        Masker(['('])


# -- validation -----------------------------------------------------------------------------------

def test_validation_errors_and_format():
    result = {'error_count': 3, 'configs': [
        {'definition': {'name': 'name'}, 'value': {'name': 'name', 'errors': []}},
        {'definition': {'name': 'tasks.max'},
         'value': {'name': 'tasks.max', 'errors': ['Not a number', 'Must be non-null']}},
        {'definition': {'name': 'topic'}, 'value': {'errors': ['Missing required configuration "topic"']}},
        {'value': {'errors': ['weird']}},
        {},
    ]}
    errors = validation_errors(result)
    assert errors == {'tasks.max': ['Not a number', 'Must be non-null'],
                      'topic': ['Missing required configuration "topic"'], '?': ['weird']}
    assert format_errors({'b': ['x'], 'a': ['y', 'z']}) == 'a: y; a: z; b: x'
    assert validation_errors(None) == {} and validation_errors({'configs': None}) == {}


# -- status ---------------------------------------------------------------------------------------

def status(connector='RUNNING', *tasks, trace=None, task_traces=None):
    st = {'name': 'c', 'connector': {'state': connector, 'worker_id': 'w:8083'},
          'tasks': [{'id': i, 'state': s, 'worker_id': 'w:8083'} for i, s in enumerate(tasks)], 'type': 'source'}
    if trace:
        st['connector']['trace'] = trace
    for i, t in (task_traces or {}).items():
        st['tasks'][i]['trace'] = t
    return st


def test_trace_head_cuts_long_traces():
    trace = '\n'.join('line %d' % i for i in range(100))
    head = trace_head(trace, lines=40)
    assert head.splitlines()[:40] == ['line %d' % i for i in range(40)]
    assert head.splitlines()[-1] == '... (60 more lines)' and len(head.splitlines()) == 41
    assert trace_head('short\n') == 'short'


def test_summary_and_traces():
    st = status('FAILED', 'RUNNING', 'FAILED', trace='ConnectException: boom', task_traces={1: 'task boom'})
    assert status_summary(st) == 'connector FAILED, task 0 RUNNING, task 1 FAILED'
    assert status_summary(status('STOPPED')) == 'connector STOPPED, no tasks'
    assert status_summary(None) == 'no status'
    assert status_traces(st) == 'connector trace:\nConnectException: boom\ntask 1 trace:\ntask boom'
    assert status_traces(None) == ''
    assert has_failures(st) and has_failures(status('RUNNING', 'FAILED')) and not has_failures(None)
    assert not has_failures(status('RUNNING', 'RUNNING'))


@pytest.mark.parametrize('st, target, expected', [
    (None, 'RUNNING', 'pending'),
    (status('RUNNING', 'RUNNING', 'RUNNING'), 'RUNNING', 'done'),
    (status('RUNNING', 'RUNNING', 'UNASSIGNED'), 'RUNNING', 'pending'),
    (status('RUNNING'), 'RUNNING', 'no_tasks'),
    (status('RUNNING', 'FAILED'), 'RUNNING', 'failed'),
    (status('FAILED'), 'PAUSED', 'failed'),
    (status('PAUSED', 'RUNNING'), 'PAUSED', 'pending'),
    (status('PAUSED', 'PAUSED'), 'PAUSED', 'done'),
    (status('PAUSED'), 'PAUSED', 'done'),
    (status('STOPPED'), 'STOPPED', 'done'),
    (status('STOPPED', 'RUNNING'), 'STOPPED', 'pending'),
    (status('RUNNING', 'RUNNING'), 'STOPPED', 'pending'),
])
def test_verdict(st, target, expected):
    assert verdict(st, target) == expected


class Statuses:
    """get_status/get_config returning queued values (the last one repeats)."""

    def __init__(self, *values):
        self.values = list(values)
        self.calls = 0

    def _next(self):
        self.calls += 1
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        if isinstance(value, Exception):
            raise value
        return value

    def get_status(self, name):
        return self._next()

    def get_config(self, name):
        return self._next()


def test_wait_needs_stable_target(clock):
    api = Statuses(None, status('RUNNING', 'UNASSIGNED'), status('RUNNING', 'RUNNING'))
    assert wait_for_state(api, 'c', 'RUNNING', 60) == status('RUNNING', 'RUNNING')
    assert api.calls == 4 and clock.now == 3 * connect_client.POLL_INTERVAL


def test_wait_retries_errors(clock):
    api = Statuses(ConnectError('HTTP 500'), status('PAUSED'))
    assert wait_for_state(api, 'c', 'PAUSED', 60)['connector']['state'] == 'PAUSED'


def test_wait_fails_on_failed_task_with_traces():
    long_trace = 'org.apache.kafka.connect.errors.ConnectException: login hunter22 refused\n' + '\n'.join(
        '\tat frame%d' % i for i in range(60))
    api = Statuses(status('RUNNING', 'RUNNING', 'FAILED', task_traces={1: long_trace}))
    masker = Masker()
    masker.learn({'database.password': 'hunter22'})
    with pytest.raises(WaitError) as exc:
        wait_for_state(api, 'c', 'RUNNING', 60, masker=masker)
    msg = str(exc.value)
    assert msg.startswith('connector c failed while waiting for RUNNING: connector RUNNING, task 0 RUNNING, '
                          'task 1 FAILED\ntask 1 trace:\norg.apache.kafka.connect.errors.ConnectException: login '
                          '******** refused\n')
    assert '\tat frame38' in msg and '\tat frame39' not in msg and '... (21 more lines)' in msg
    assert 'hunter22' not in json.dumps(exc.value.last_status)


def test_wait_tolerates_stale_failures_for_a_while(clock):
    api = Statuses(status('FAILED', 'FAILED'), status('FAILED', 'FAILED'), status('RUNNING', 'RUNNING'))
    assert wait_for_state(api, 'c', 'RUNNING', 60, stale_failures=True)['connector']['state'] == 'RUNNING'


def test_wait_stale_failures_end_after_grace(clock):
    api = Statuses(status('FAILED', trace='boom'))
    with pytest.raises(WaitError, match='connector c failed while waiting for RUNNING: connector FAILED, no tasks'):
        wait_for_state(api, 'c', 'RUNNING', 60, stale_failures=True)
    assert clock.now >= connect_client.FAILED_GRACE


def test_wait_accepts_no_tasks_after_grace(clock):
    api = Statuses(status('RUNNING'))
    assert wait_for_state(api, 'c', 'RUNNING', 60) == status('RUNNING')
    assert clock.now >= connect_client.EMPTY_TASKS_GRACE


def test_wait_times_out(clock):
    api = Statuses(ConnectError('HTTP 500: rebalancing'), status('RUNNING', 'UNASSIGNED'))
    with pytest.raises(WaitError) as exc:
        wait_for_state(api, 'c', 'RUNNING', 5)
    assert str(exc.value) == ('timed out after 5s waiting for connector c and its tasks to be RUNNING; last status: '
                              'connector RUNNING, task 0 UNASSIGNED')
    assert exc.value.last_status == status('RUNNING', 'UNASSIGNED')


def test_wait_timeout_reports_last_error(clock):
    api = Statuses(ConnectError('HTTP 500: rebalancing'))
    with pytest.raises(WaitError, match='last status: no status; last error: HTTP 500: rebalancing$'):
        wait_for_state(api, 'c', 'STOPPED', 3)


def test_wait_rejects_unknown_target():
    with pytest.raises(ValueError):
        wait_for_state(Statuses(None), 'c', 'DELETED', 3)


def test_wait_for_absence(clock):
    api = Statuses({'name': 'c'}, ConnectError('HTTP 500'), None)
    wait_for_absence(api, 'c', 30)
    assert api.calls == 3


def test_wait_for_absence_times_out(clock):
    with pytest.raises(WaitError, match='timed out after 2s waiting for connector c to disappear$'):
        wait_for_absence(Statuses({'name': 'c'}), 'c', 2)
    with pytest.raises(WaitError, match='to disappear; last error: HTTP 500$'):
        wait_for_absence(Statuses(ConnectError('HTTP 500')), 'c', 2)
