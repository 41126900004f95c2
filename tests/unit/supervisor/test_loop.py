"""The runner: which action for which failure, back-off between restarts, policies, leadership, metrics."""
import io
import json
import threading

from ansible_collections.sluice.cdc.plugins.module_utils import connect_client as cc
from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import config as cfg, leader, loop, metrics
from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import quarantine as q

from supervisor_fakes import Clock, FakeConnect, FakeRecords

TRANSIENT = 'Caused by: org.postgresql.util.PSQLException: FATAL: terminating connection due to administrator command'
DATA = 'Caused by: org.postgresql.util.PSQLException: ERROR: invalid input syntax for type integer: "x"'
UNKNOWN = 'java.lang.IllegalStateException: something odd at offset 17'


class FakeQuarantine:
    def __init__(self, outcome='quarantined'):
        self.runs = []
        self.outcome = outcome
        self.left = []

    def run(self, connector, trace):
        self.runs.append((connector, trace))
        return {'outcome': self.outcome, 'topic': 't', 'partition': 0, 'offset': 5, 'error': 'ERROR: x',
                'dlq': (0, 1), 'seconds': 1.0, 'probes': 1}

    def unfinished(self):
        return self.left


def make(policy='auto', tmp_path=None, outcome='quarantined'):
    records = FakeRecords()
    connect = FakeConnect(records, sink='sink')
    connect.configs['source'] = {'connector.class': 'x'}
    connect.state['source'] = 'RUNNING'
    connect.tasks['source'] = [{'id': 0, 'state': 'RUNNING'}]
    config = cfg.validate({'kafka_bootstrap_servers': 'k:9092', 'connectors': [{'name': 'sink', 'quarantine': policy}],
                           'backoff_initial': 10, 'backoff_max': 40, 'backoff_reset_after': 100,
                           'state_dir': str(tmp_path) if tmp_path else None})
    clock = Clock()
    out = io.StringIO()
    m = metrics.Metrics()
    quar = FakeQuarantine(outcome)
    sup = loop.Supervisor(config, connect, records, m, leader.AlwaysLeader(), loop.json_logger(out), quarantine=quar,
                          clock=clock, wall=lambda: 1000.0 + clock.now)
    return sup, connect, clock, quar, m, out


def fail(connect, trace, name='sink', task=0):
    connect.tasks[name] = [{'id': task, 'state': 'FAILED', 'trace': trace}]


def test_transient_failure_restarts_only_the_task_with_backoff():
    sup, connect, clock, quar, m, out = make()
    fail(connect, TRANSIENT)
    assert sup.poll_once() == [('restart', 'sink', 0)]
    assert ('POST task restart', 'sink', 0) in connect.calls
    restarts = []
    for _ in range(20):   # the task keeps failing; poll every 5 s for 100 s
        clock.now += 5
        fail(connect, TRANSIENT)
        if sup.poll_once():
            restarts.append(clock.now)
    assert restarts == [10, 30, 70], 'waits 10, 20, 40 (capped) seconds between restarts'
    assert m.get('sluice_supervisor_task_restarts_total', connector='sink', task='0', cause='transient') == 4
    assert m.get('sluice_supervisor_backoff_seconds', connector='sink', task='0') == 40
    assert quar.runs == []
    line = json.loads(out.getvalue().splitlines()[0])
    assert line['event'] == 'task_restarted' and line['cause'] == 'transient' and line['task'] == 0


def test_backoff_resets_after_a_healthy_period():
    sup, connect, clock, _quar, m, _out = make()
    fail(connect, TRANSIENT)
    sup.poll_once()
    connect.tasks['sink'] = [{'id': 0, 'state': 'RUNNING'}]
    for _ in range(3):
        clock.now += 50
        sup.poll_once()
    assert m.get('sluice_supervisor_backoff_attempts', connector='sink', task='0') == 0
    fail(connect, TRANSIENT)
    assert sup.poll_once() == [('restart', 'sink', 0)], 'restarted at once again'


def test_data_error_is_quarantined_when_policy_auto(tmp_path):
    sup, connect, _clock, quar, m, _out = make(tmp_path=tmp_path)
    fail(connect, DATA)
    assert sup.poll_once() == [('quarantine', 'sink', 0)]
    assert quar.runs == [('sink', DATA)]
    assert not [c for c in connect.calls if c[0] == 'POST task restart']
    assert m.get('sluice_supervisor_quarantined_records_total', connector='sink', topic='t') == 1
    saved = json.loads((tmp_path / 'actions.json').read_text())
    assert saved['quarantined'] == {'sink': 1.0}
    assert [a['action'] for a in saved['actions']] == ['quarantine_started', 'record_quarantined']


def test_data_error_with_policy_off_restarts_and_alerts():
    sup, connect, _clock, quar, m, out = make(policy='off')
    fail(connect, DATA)
    assert sup.poll_once() == [('restart', 'sink', 0)]
    assert quar.runs == []
    assert 'quarantine is off' in out.getvalue()
    assert m.get('sluice_supervisor_task_restarts_total', connector='sink', task='0', cause='data') == 1


def test_same_unknown_failure_at_same_offsets_after_restart_is_a_data_error():
    sup, connect, clock, quar, _m, _out = make()
    connect.offsets['sink'] = {('t', 0): 7}
    fail(connect, UNKNOWN)
    assert sup.poll_once() == [('restart', 'sink', 0)]
    clock.now += 11
    fail(connect, UNKNOWN.replace('17', '18'))   # same failure (numbers aside), same committed offsets
    assert sup.poll_once() == [('quarantine', 'sink', 0)]
    assert len(quar.runs) == 1


def test_unknown_failure_that_moved_on_is_restarted():
    sup, connect, clock, quar, _m, _out = make()
    connect.offsets['sink'] = {('t', 0): 7}
    fail(connect, UNKNOWN)
    sup.poll_once()
    connect.offsets['sink'] = {('t', 0): 9}
    clock.now += 11
    fail(connect, UNKNOWN)
    assert sup.poll_once() == [('restart', 'sink', 0)]
    assert quar.runs == []


def test_source_data_errors_are_never_quarantined_and_failed_connectors_restart():
    sup, connect, _clock, quar, m, _out = make()
    fail(connect, DATA, name='source')
    connect.state['sink'] = 'FAILED'
    actions = sup.poll_once()
    assert ('restart', 'sink', 'connector') in actions
    assert quar.runs == [('sink', DATA)] or ('restart', 'source', 0) in actions
    assert ('POST restart', 'sink', False, True) in connect.calls


def test_failed_quarantine_is_counted_and_backs_off():
    sup, connect, clock, quar, m, out = make(outcome='not_found')
    fail(connect, DATA)
    sup.poll_once()
    assert m.get('sluice_supervisor_quarantine_failures_total', connector='sink') == 1
    assert 'quarantine_failed' in out.getvalue()
    clock.now += 5
    assert sup.poll_once() == [] and len(quar.runs) == 1, 'no new search before the back-off passed'
    clock.now += 6
    assert sup.poll_once() == [('quarantine', 'sink', 0)] and len(quar.runs) == 2


def test_quarantine_that_raises_is_a_failure():
    sup, connect, _clock, quar, m, out = make()

    def boom(connector, trace):
        raise q.QuarantineError('cannot read')
    quar.run = boom
    fail(connect, DATA)
    sup.poll_once()
    assert m.get('sluice_supervisor_quarantine_failures_total', connector='sink') == 1
    assert 'cannot read' in out.getvalue()
    assert sup.snapshot()['backoff'][0]['attempts'] == 1


def test_standby_does_nothing_and_recover_removes_probes():
    sup, connect, _clock, quar, m, _out = make()
    sup.leader = type('Standby', (), {'active': False})()
    fail(connect, TRANSIENT)
    assert sup.poll_once() == []
    assert m.get('sluice_supervisor_active') == 0
    connect.configs['sink' + q.PROBE_SUFFIX] = {}
    connect.state['sink' + q.PROBE_SUFFIX] = 'STOPPED'
    quar.left = ['sink']
    sup.recover()
    assert ('DELETE', 'sink' + q.PROBE_SUFFIX) in connect.calls
    assert quar.runs == [('sink', '')]


def test_poll_errors_are_counted_and_run_stops():
    sup, connect, _clock, _quar, m, _out = make()

    def boom():
        raise cc.ConnectError('cannot reach Kafka Connect')
    connect.list_connectors = boom
    assert sup.poll_once() == []
    assert m.get('sluice_supervisor_poll_errors_total') == 1
    stop = threading.Event()
    sup.config['poll_interval'] = 0.01
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    sup.run(stop)
    assert m.get('sluice_supervisor_poll_errors_total') > 1


class FakeConsumer:
    def __init__(self):
        self.subscribed = None
        self.closed = False

    def subscribe(self, topics, on_assign=None, on_revoke=None, on_lost=None):
        self.subscribed = (topics, on_assign, on_revoke, on_lost)

    def poll(self, timeout):
        import time
        time.sleep(0.01)

    def close(self):
        self.closed = True


class LeaderRecords:
    def __init__(self, topic_exists=True):
        self.consumer_obj = FakeConsumer()
        self.exists = topic_exists
        self.conf = None

    def partitions(self, topic):
        return [0] if self.exists else []

    def consumer(self, group_id=None, **extra):
        self.conf = (group_id, extra)
        return self.consumer_obj


def test_kafka_leader_owns_partition_zero():
    logs = []
    records = LeaderRecords(topic_exists=False)
    lead = leader.KafkaLeader(records, 'sluice.supervisor', 'g', lambda e, **f: logs.append((e, f))).start()
    try:
        topics, on_assign, on_revoke, on_lost = records.consumer_obj.subscribed
        assert topics == ['sluice.supervisor'] and records.conf[0] == 'g'
        assert not lead.active and logs[0][0] == 'leader_topic_missing'
        on_assign(None, [type('TP', (), {'partition': 0})()])
        assert lead.active
        on_lost(None, [])
        assert not lead.active
        on_assign(None, [])
        assert not lead.active
    finally:
        lead.stop()
    assert records.consumer_obj.closed
