"""The quarantine plan: the exact REST calls and Kafka produce, in order, with fakes at the connection layer."""
import json

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import dlq, quarantine as q

from supervisor_fakes import Clock, FakeConnect, FakeRecords

TRACE = ('Caused by: org.postgresql.util.PSQLException: ERROR: value too long for type character varying(20) '
         '[INSERT INTO cdc.t (id) VALUES (?)]')


def setup(bad=(1, 5), sink_offsets=None):
    records = FakeRecords()
    for p in range(2):
        for i in range(8):
            records.add('t', p, b'{"id":%d}' % (p * 100 + i), b'{"v":%d}' % i, [('h', b'x')])
    records.topics['sluice.dlq'] = {0: []}
    connect = FakeConnect(records, offsets=sink_offsets or {('t', 0): 3, ('t', 1): 2},
                          bad={('t', bad[0]): bad[1]})
    clock = Clock()
    logs = []
    quar = q.Quarantine(connect, records, 'sluice.dlq', lambda e, **f: logs.append((e, f)), step=5,
                        clock=clock, sleep=clock.sleep)
    return records, connect, quar, logs


def test_finds_the_exact_record_copies_it_and_moves_the_offset():
    records, connect, quar, logs = setup()
    result = quar.run('sink', TRACE)
    assert result['outcome'] == 'quarantined'
    assert (result['topic'], result['partition'], result['offset']) == ('t', 1, 5)
    calls = [c[:2] if c[0] != 'PATCH offsets' else c for c in connect.calls if c[0] != 'GET config']
    probe = 'sink' + q.PROBE_SUFFIX
    assert calls == [
        ('PUT stop', 'sink'),
        ('GET offsets', 'sink'),
        # partition 0 from the sink's committed offset 3, partition 1 at its end: clean
        ('POST connectors', probe), ('PATCH offsets', probe, {('t', 0): 3, ('t', 1): 8}),
        ('PUT resume', probe), ('PUT stop', probe), ('GET offsets', probe), ('DELETE', probe),
        # partition 1 from 2: the probe fails at offset 5
        ('POST connectors', probe), ('PATCH offsets', probe, {('t', 0): 8, ('t', 1): 2}),
        ('PUT resume', probe), ('PUT stop', probe), ('GET offsets', probe), ('DELETE', probe),
        ('PATCH offsets', 'sink', {('t', 1): 6}),
        ('PUT resume', 'sink'),
    ]
    created = [c for c in connect.calls if c[0] == 'POST connectors'][0]
    assert created[2] == 'STOPPED'
    assert created[3]['batch.size'] == '1' and created[3]['tasks.max'] == '1'
    assert created[3]['consumer.override.max.poll.records'] == '1' and created[3]['topics'] == 't'
    assert 'errors.deadletterqueue.topic.name' not in created[3]
    assert records.calls == [('read', 't', 1, 5), ('produce', 'sluice.dlq', 0)]
    copy = records.topics['sluice.dlq'][0][0]
    assert copy['key'] == b'{"id":105}' and copy['value'] == b'{"v":5}'
    assert copy['headers'][0] == ('h', b'x'), 'the original headers come first, unchanged'
    assert dlq.origin(copy) == ('t', 1, 5)
    assert dlq.header(copy, dlq.H_CONNECTOR) == 'sink'
    assert dlq.header(copy, dlq.H_ERROR) == 'ERROR: value too long for type character varying(20)'
    assert dlq.header(copy, dlq.H_SQLSTATE) == '22001'
    assert connect.state['sink'] == 'RUNNING' and probe not in connect.configs
    assert [e for e, _ in logs].count('probe_result') == 2


def test_crash_between_dlq_write_and_offset_move_does_not_copy_twice(tmp_path):
    records, connect, quar, _logs = setup()
    quar.state_dir = str(tmp_path)
    original = connect.patch_offsets

    def crash(name, entries):
        if name == 'sink':
            raise SystemExit('supervisor killed')
        return original(name, entries)
    connect.patch_offsets = crash
    with pytest.raises(SystemExit):
        quar.run('sink', TRACE)
    assert quar.unfinished() == ['sink'], 'the interrupted quarantine is remembered'
    assert len(records.topics['sluice.dlq'][0]) == 1
    connect.patch_offsets = original
    connect.state['sink'] = 'STOPPED'
    result = quar.run('sink', '')
    assert result['outcome'] == 'already_quarantined'
    assert len(records.topics['sluice.dlq'][0]) == 1, 'no second copy'
    assert connect.offsets['sink'][('t', 1)] == 6
    assert quar.unfinished() == []


def test_probe_failing_for_a_transient_cause_stops_the_search():
    records, connect, quar, _ = setup()
    original = connect._run_probe

    def outage(name, check_only=False):
        original(name, check_only)
        if connect.tasks[name][0]['state'] == 'FAILED':
            connect.tasks[name][0]['trace'] = 'Caused by: java.net.ConnectException: Connection refused'
    connect._run_probe = outage
    result = quar.run('sink', TRACE)
    assert result['outcome'] == 'transient' and 'Connection refused' in result['error']
    assert records.topics['sluice.dlq'][0] == [] and connect.state['sink'] == 'RUNNING'
    created = [c for c in connect.calls if c[0] == 'POST connectors'][0][3]
    assert created['flush.max.retries'] == '0' and created['connection.restart.on.errors'] == 'false'


def test_no_bad_record_found_resumes_the_sink():
    records, connect, quar, _ = setup(bad=(0, 99))
    result = quar.run('sink', TRACE)
    assert result['outcome'] == 'not_found' and result['probes'] == 2
    assert connect.state['sink'] == 'RUNNING'
    assert records.topics['sluice.dlq'][0] == []
    assert [c for c in connect.calls if c[0] == 'PATCH offsets' and c[1] == 'sink'] == []


def test_search_is_bounded():
    records, connect, quar, logs = setup(bad=(0, 99))
    connect.probe_speed = 1
    quar.search_timeout = 12
    result = quar.run('sink', TRACE)
    assert result['outcome'] == 'timeout'
    assert 'probe_progress' in [e for e, _ in logs]
    assert connect.state['sink'] == 'RUNNING'


def test_candidates_ordered_by_table_in_trace_and_bounded_by_window():
    records = FakeRecords()
    for topic in ('p.db.dbo.a', 'p.db.dbo.b'):
        for i in range(700):
            records.add(topic, 0, b'k', b'v')
    quar = q.Quarantine(None, records, 'dlq', lambda *a, **k: None)
    config = {'topics': 'p.db.dbo.a,p.db.dbo.b'}
    cands = quar.candidates(config, {('p.db.dbo.a', 0): 10, ('p.db.dbo.b', 0): 700}, 'INSERT INTO cdc.b')
    assert [(c['topic'], c['start'], c['end']) for c in cands] == [('p.db.dbo.a', 10, 510)]
    cands = quar.candidates(config, {('p.db.dbo.a', 0): 10}, 'INSERT INTO "cdc"."b" (id)')
    assert [c['topic'] for c in cands] == ['p.db.dbo.b', 'p.db.dbo.a'], 'the table named in the SQL first'
    assert cands[0]['start'] == 0
    assert q.window_of({'consumer.override.max.poll.records': '50'}, 0) == 50
    assert q.window_of({}, 7) == 7
    assert q.sink_topics({'topics.regex': 'x'}, {('b', 0): 1, ('a', 1): 2}) == ['a', 'b']
    assert q.is_probe('x' + q.PROBE_SUFFIX) and not q.is_probe('x')


def test_missing_connector_raises_and_leftover_probe_is_deleted(tmp_path):
    records, connect, quar, _ = setup()
    with pytest.raises(q.QuarantineError):
        quar.run('nope', TRACE)
    connect.configs['sink' + q.PROBE_SUFFIX] = {'topics': 't'}
    connect.state['sink' + q.PROBE_SUFFIX] = 'RUNNING'
    assert quar.delete_probe('sink') is True
    assert quar.delete_probe('sink') is False
    quar.state_dir = str(tmp_path)
    (tmp_path / 'quarantine-bad.json').write_text('not json')
    assert quar.unfinished() == []
    assert json.dumps(q.probe_config({'name': 'x', 'topics.regex': 'a.*', 'consumer.override.group.id': 'g'}, 'a'))
