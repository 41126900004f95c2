# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for module_utils/status.py: gathering with fake Connect, Kafka, PostgreSQL and HTTP sources, the
verdict, the rendered screen, and that no secret gets into any of it."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import types

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import status
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectError
from tests.support.status_fakes import SECRET, T1, T2, FakeConnect, FakeOffsets, FakePg, fake_http, listing

NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.timezone.utc)

PROM = 'http://prom:9090'
AM = 'http://prom:9093'
PROM_ALERTS = {'status': 'success', 'data': {'alerts': [
    {'labels': {'alertname': 'SluiceConnectorTaskFailed', 'severity': 'critical', 'connector': 'sink'},
     'annotations': {'summary': 'a task failed'}, 'state': 'firing', 'activeAt': '2026-11-28T11:00:00Z'},
    {'labels': {'alertname': 'SluiceLagHigh'}, 'annotations': {}, 'state': 'pending', 'activeAt': 'x'}]}}
AM_ALERTS = [
    {'labels': {'alertname': 'SluiceEndToEndLagHigh', 'severity': 'warning'}, 'annotations': {'summary': 'lag'},
     'startsAt': '2026-11-28T11:05:00Z', 'status': {'state': 'active'}},
    {'labels': {'alertname': 'Suppressed'}, 'status': {'state': 'suppressed'}}]


def gather(**kw):
    kw.setdefault('now', NOW)
    connect = kw.pop('connect', FakeConnect())
    return status.gather(connect, **kw)


# --- helpers ------------------------------------------------------------------------------------------------------
def test_table_of_topic_and_quote_ident():
    assert status.table_of_topic(T1) == 'dbo.customers'
    assert status.table_of_topic('sluice.dlq') == 'sluice.dlq'
    assert status.quote_ident('cdc.sluice_heartbeat') == '"cdc"."sluice_heartbeat"'
    assert status.quote_ident('we"ird') == '"we""ird"'
    for bad in ('', 'a..b', 'a.b.c.d'):
        with pytest.raises(status.StatusError):
            status.quote_ident(bad)


def test_trace_summary_names_the_root_cause():
    trace = ('org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.'
             '\n\tat a.b(C.java:1)\nCaused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector '
             'failure\n\tat x\nCaused by: org.postgresql.util.PSQLException: This connection has been closed.\n\tat y')
    assert status.trace_summary(trace) == (
        'org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception. '
        '(root cause: org.postgresql.util.PSQLException: This connection has been closed.)')
    assert status.trace_summary('Boom\n\tat x') == 'Boom'
    assert status.trace_summary(None) == '' and status.trace_summary('E: x\nCaused by: E: x') == 'E: x'


def test_first_line_and_sink_group():
    assert status.first_line('Boom: x\n\tat y') == 'Boom: x'
    assert status.first_line(None) == '' and status.first_line('  ') == ''
    assert status.first_line('x' * 200, 20) == 'x' * 17 + '...'
    assert status.sink_group('s', {}) == 'connect-s'
    assert status.sink_group('s', {'consumer.override.group.id': 'g'}) == 'g'


# --- verdicts -----------------------------------------------------------------------------------------------------
def test_healthy_pipeline_with_every_source():
    pg = FakePg(4.25)
    http = fake_http({AM + '/api/v2/alerts': []})
    report = gather(kafka=FakeOffsets(), pg_connect=pg, get_json=http, prometheus_url=PROM, alertmanager_url=AM)
    assert report['status'] == 'healthy' and report['exit_status'] == 0
    assert report['problems'] == [] and report['errors'] == {}
    assert report['checked_at'] == '2026-11-28T12:00:00Z'
    (c,) = report['connectors']
    assert c == {'name': 'sluice-postgres-sink', 'type': 'sink', 'state': 'RUNNING', 'worker_id': 'connect-1:8083',
                 'error': None, 'tasks': [{'id': 0, 'state': 'RUNNING', 'worker_id': 'connect-1:8083', 'error': None}],
                 'group': 'connect-sluice-postgres-sink', 'dlq_topic': 'sluice.dlq'}
    assert report['lag'] == {'seconds': 4.25, 'source': 'postgresql', 'max_seconds': 300.0}
    assert pg.sql == ["SET TIME ZONE 'UTC'",
                      'SELECT EXTRACT(EPOCH FROM (now() - max("ts")::timestamptz)) FROM "cdc"."sluice_heartbeat"']
    assert pg.closed
    # T1: (12-10) + (5-5) = 2 over two partitions; T2: 7-7 = 0
    assert report['consumer_lag'] == [
        {'group': 'connect-sluice-postgres-sink', 'topic': T1, 'table': 'dbo.customers', 'lag': 2, 'partitions': 2},
        {'group': 'connect-sluice-postgres-sink', 'topic': T2, 'table': 'dbo.orders', 'lag': 0, 'partitions': 1}]
    assert report['dlq'] == [{'topic': 'sluice.dlq', 'exists': True, 'messages': 3}]
    assert report['alerts'] == [] and report['alerts_source'] == 'alertmanager'
    assert http.calls == [(AM + '/api/v2/alerts', {'active': 'true', 'silenced': 'false', 'inhibited': 'false'})]
    assert SECRET not in json.dumps(report)


def test_failed_task_degrades_and_its_trace_is_scrubbed():
    data = listing(task_states=('RUNNING', 'FAILED'),
                   trace='org.apache.kafka.connect.errors.ConnectException: login with %s refused\n\tat x' % SECRET)
    report = gather(connect=FakeConnect(data))
    assert report['status'] == 'degraded' and report['exit_status'] == 1
    assert report['problems'] == ['task sluice-postgres-sink/1 is FAILED: org.apache.kafka.connect.errors.'
                                  'ConnectException: login with ******** refused']
    assert SECRET not in json.dumps(report) and SECRET not in status.render_text(report)


def test_connector_states_not_running():
    other = {'paused-one': {'status': {'type': 'source', 'connector': {'state': 'PAUSED', 'worker_id': 'w'},
                                       'tasks': [{'id': 0, 'state': 'PAUSED', 'worker_id': 'w'}]},
                            'info': {'type': 'source', 'config': {}}},
             'empty': {'status': {'type': 'sink', 'connector': {'state': 'RUNNING', 'worker_id': 'w'}, 'tasks': []},
                       'info': {'type': 'sink', 'config': {}}},
             'broken': {'status': {'connector': {'state': 'FAILED', 'worker_id': 'w', 'trace': 'Boom\n at'},
                                   'tasks': []}, 'info': None}}
    report = gather(connect=FakeConnect(listing(extra=other)))
    assert report['problems'] == ['connector broken is FAILED: Boom', 'connector empty is RUNNING without tasks',
                                  'connector paused-one is PAUSED', 'task paused-one/0 is PAUSED']
    assert [c['name'] for c in report['connectors']] == ['broken', 'empty', 'paused-one', 'sluice-postgres-sink']
    assert report['connectors'][0]['type'] == 'unknown' and 'group' not in report['connectors'][0]
    only = gather(connect=FakeConnect(listing(extra=other)), connector_names=['sluice-postgres-sink'])
    assert [c['name'] for c in only['connectors']] == ['sluice-postgres-sink'] and only['status'] == 'healthy'


def test_connect_unreachable_is_an_error():
    report = gather(connect=FakeConnect(error=ConnectError('cannot reach Kafka Connect at http://c:8083')))
    assert report['status'] == 'error' and report['exit_status'] == 2
    assert report['errors'] == {'connectors': 'cannot reach Kafka Connect at http://c:8083'}
    assert report['connectors'] == []
    text = status.render_text(report)
    assert 'unknown (see errors)' in text and 'ERRORS (could not read)' in text


def test_lag_over_the_limit_and_missing_heartbeat():
    assert gather(pg_connect=FakePg(400.0))['problems'] == ['end-to-end lag 400.0 s is over 300 s']
    assert gather(pg_connect=FakePg(400.0), max_lag_seconds=None)['status'] == 'healthy'
    assert gather(pg_connect=FakePg(400.0), max_lag_seconds=600)['status'] == 'healthy'
    report = gather(pg_connect=FakePg(None))
    assert report['lag']['seconds'] is None and report['status'] == 'degraded'
    assert report['problems'] == ['no heartbeat has reached PostgreSQL yet (cdc.sluice_heartbeat)']


def test_postgres_errors_do_not_leak_and_make_an_error():
    report = gather(pg_connect=FakePg(fail_connect=True))
    assert report['status'] == 'error'
    assert report['errors']['lag'] == ('PostgreSQL: cannot connect: connection to server at "pg" failed: '
                                       'password authentication failed')
    report = gather(pg_connect=FakePg(fail_query=True), heartbeat_table='cdc.nope')
    assert report['errors']['lag'] == ('PostgreSQL: heartbeat query on cdc.nope failed: relation '
                                       '"cdc.sluice_heartbeat" does not exist')
    report = gather(pg_connect=FakePg(fail_query='undefined'))
    assert report['errors'] == {} and report['lag']['seconds'] is None
    assert report['problems'] == ['no heartbeat has reached PostgreSQL yet (cdc.sluice_heartbeat)']
    report = gather(pg_connect=FakePg(), heartbeat_table='a..b')
    assert 'is not [database.]schema.table' in report['errors']['lag']


def test_lag_from_prometheus_when_no_postgres():
    http = fake_http({PROM + '/api/v1/query': {'status': 'success', 'data': {'result': [
        {'metric': {}, 'value': [1764331200, '12.5']}]}}, PROM + '/api/v1/alerts': PROM_ALERTS})
    report = gather(get_json=http, prometheus_url=PROM)
    assert report['lag'] == {'seconds': 12.5, 'source': 'prometheus', 'max_seconds': 300.0}
    assert http.calls[0] == (PROM + '/api/v1/query', {'query': 'max(sluice_heartbeat_lag_seconds)'})
    # Prometheus gives the alerts too: only firing ones
    assert report['alerts_source'] == 'prometheus'
    assert report['alerts'] == [{'name': 'SluiceConnectorTaskFailed', 'severity': 'critical',
                                 'summary': 'a task failed', 'since': '2026-11-28T11:00:00Z',
                                 'labels': {'severity': 'critical', 'connector': 'sink'}}]
    assert report['problems'] == ['alert SluiceConnectorTaskFailed is firing: a task failed']
    assert report['status'] == 'degraded'


def test_prometheus_without_series_or_failing():
    empty = fake_http({PROM + '/api/v1/query': {'status': 'success', 'data': {'result': []}},
                       PROM + '/api/v1/alerts': {'status': 'error', 'error': 'boom'}})
    report = gather(get_json=empty, prometheus_url=PROM)
    assert report['problems'] == ['no heartbeat has reached PostgreSQL yet (sluice_heartbeat_lag_seconds)']
    assert report['errors'] == {'alerts': 'Prometheus: cannot read alerts: boom'} and report['status'] == 'error'
    bad = fake_http({PROM + '/api/v1/query': {'status': 'error', 'error': 'parse error'},
                     PROM + '/api/v1/alerts': status.StatusError('cannot read http://prom:9090/api/v1/alerts: refused')})
    report = gather(get_json=bad, prometheus_url=PROM)
    assert report['errors'] == {'lag': 'Prometheus: query max(sluice_heartbeat_lag_seconds) failed: parse error',
                                'alerts': 'cannot read http://prom:9090/api/v1/alerts: refused'}
    assert 'unknown (see errors)' in status.render_text(report)


def test_alertmanager_alerts():
    http = fake_http({AM + '/api/v2/alerts': AM_ALERTS})
    report = gather(get_json=http, alertmanager_url=AM)
    assert report['lag']['source'] is None
    assert [a['name'] for a in report['alerts']] == ['SluiceEndToEndLagHigh']
    assert report['problems'] == ['alert SluiceEndToEndLagHigh is firing: lag']


def test_consumer_lag_limits_and_offsets_without_commit():
    offsets = FakeOffsets(committed={'connect-sluice-postgres-sink': {(T1, 0): 1, (T2, 0): 0}},
                          marks={(T1, 0): (0, 101), (T2, 0): (3, 5)})
    report = gather(kafka=offsets, max_consumer_lag=50)
    # T2: committed 0 is below the earliest offset 3, so 5 - 3 = 2 records are unread
    assert [(r['topic'], r['lag']) for r in report['consumer_lag']] == [(T1, 100), (T2, 2)]
    assert report['problems'] == ['consumer group connect-sluice-postgres-sink is 100 records behind on %s' % T1]
    no_marks = FakeOffsets(committed={'connect-sluice-postgres-sink': {(T1, 0): 1}}, marks={})
    assert gather(kafka=no_marks)['consumer_lag'] == []


def test_dlq_limits_explicit_topics_and_missing_topic():
    report = gather(kafka=FakeOffsets(), max_dlq_messages=0)
    assert report['problems'] == ['dead-letter topic sluice.dlq holds 3 messages']
    report = gather(kafka=FakeOffsets(), dlq_topics=['nope', 'sluice.dlq'])
    assert report['dlq'] == [{'topic': 'nope', 'messages': None, 'exists': False},
                             {'topic': 'sluice.dlq', 'exists': True, 'messages': 3}]
    assert report['problems'] == ['dead-letter topic nope does not exist']
    assert 'missing' in status.render_text(report)


def test_kafka_errors_and_factories():
    report = gather(kafka=FakeOffsets(fail={'committed': 'Kafka: failed reading the offsets: timed out'}))
    assert report['errors'] == {'consumer_lag': 'Kafka: failed reading the offsets: timed out'}
    assert report['dlq'][0]['messages'] == 3 and report['status'] == 'error'

    def broken_factory():
        raise status.StatusError('the Python package confluent-kafka is needed')
    report = gather(kafka=broken_factory)
    assert report['errors'] == {'kafka': 'the Python package confluent-kafka is needed'}
    assert report['consumer_lag'] is None and report['dlq'] is None
    report = gather(kafka=lambda: FakeOffsets())
    assert report['status'] == 'healthy' and report['dlq'][0]['messages'] == 3

    def surprising():
        raise KeyError('x')
    assert gather(kafka=surprising)['errors'] == {'kafka': "KeyError: 'x'"}


# --- KafkaOffsets over a fake AdminClient ----------------------------------------------------------------------------
def done(value=None, error=None):
    f = concurrent.futures.Future()
    if error is not None:
        f.set_exception(error)
    else:
        f.set_result(value)
    return f


class FakeAdmin:
    def __init__(self, fail_offsets=False, fail_metadata=False):
        self.fail_offsets, self.fail_metadata = fail_offsets, fail_metadata

    def list_topics(self, topic=None, timeout=None):
        if self.fail_metadata:
            raise RuntimeError('broker down')
        topics = {'sluice.dlq': types.SimpleNamespace(error=None, partitions={1: None, 0: None}),
                  'gone': types.SimpleNamespace(error='UNKNOWN_TOPIC', partitions={})}
        return types.SimpleNamespace(topics={k: v for k, v in topics.items() if k == topic})

    def list_consumer_group_offsets(self, requests, request_timeout=None):
        (req,) = requests
        tps = [types.SimpleNamespace(topic=T1, partition=0, offset=5, error=None),
               types.SimpleNamespace(topic=T1, partition=1, offset=-1001, error=None),
               types.SimpleNamespace(topic=T2, partition=0, offset=3, error='x')]
        return {req.group_id: done(types.SimpleNamespace(topic_partitions=tps))}


def test_kafka_offsets_over_an_admin_client():
    pytest.importorskip('confluent_kafka')
    from confluent_kafka.admin import OffsetSpec
    latest_value = OffsetSpec.latest()

    class Admin(FakeAdmin):
        def list_offsets(self, request, request_timeout=None):
            out = {}
            for tp, spec in request.items():
                is_latest = type(spec) is type(latest_value) and repr(spec) == repr(latest_value)
                out[tp] = done(error=RuntimeError('leader not available')) if self.fail_offsets else \
                    done(types.SimpleNamespace(offset=9 if is_latest else 1))
            return out

    k = status.KafkaOffsets(Admin(), timeout=1)
    assert k.partitions('sluice.dlq') == [0, 1]
    assert k.partitions('gone') is None and k.partitions('absent') is None
    assert k.committed('g') == {(T1, 0): 5}
    assert k.watermarks([]) == {}
    assert k.watermarks([('sluice.dlq', 0), ('sluice.dlq', 1)]) == {('sluice.dlq', 0): (1, 9), ('sluice.dlq', 1): (1, 9)}
    assert status.dlq_section(k, ['sluice.dlq']) == [{'topic': 'sluice.dlq', 'exists': True, 'messages': 16}]
    with pytest.raises(status.StatusError, match='leader not available'):
        status.KafkaOffsets(Admin(fail_offsets=True), timeout=1).watermarks([('sluice.dlq', 0)])
    with pytest.raises(status.StatusError, match='cannot read metadata of topic x: broker down'):
        status.KafkaOffsets(Admin(fail_metadata=True), timeout=1).partitions('x')


def test_kafka_offsets_connect_builds_an_admin_client():
    pytest.importorskip('confluent_kafka')
    k = status.KafkaOffsets.connect(['127.0.0.1:1'], {'client.id': 'sluice-status'}, timeout=1)
    assert isinstance(k, status.KafkaOffsets) and k.timeout == 1
    with pytest.raises(status.StatusError, match='invalid Kafka client configuration'):
        status.KafkaOffsets.connect(['127.0.0.1:1'], {'no.such.setting': 'x'})


# --- rendering ----------------------------------------------------------------------------------------------------
def test_render_text_full_screen():
    data = listing(task_states=('RUNNING', 'FAILED'), trace='java.sql.SQLException: duplicate key\n\tat x')
    http = fake_http({AM + '/api/v2/alerts': AM_ALERTS})
    report = gather(connect=FakeConnect(data), kafka=FakeOffsets(), pg_connect=FakePg(4.25), get_json=http,
                    alertmanager_url=AM)
    text = status.render_text(report)
    assert text.splitlines()[0] == 'Sluice pipeline: DEGRADED (exit 1) at 2026-11-28T12:00:00Z'
    assert 'sluice-postgres-sink  sink  RUNNING  connect-1:8083  0 RUNNING, 1 FAILED' in text
    assert '  ! sluice-postgres-sink task 1 on connect-1:8083: java.sql.SQLException: duplicate key' in text
    assert 'END-TO-END LAG  4.2 s  (heartbeat row in PostgreSQL; limit 5m 00s)' in text
    assert 'dbo.customers  %s  connect-sluice-postgres-sink           2    2' % T1 in text
    assert 'sluice.dlq         3' in text
    assert 'SluiceEndToEndLagHigh  warning   2026-11-28T11:05:00Z  lag' in text
    assert '  - alert SluiceEndToEndLagHigh is firing: lag' in text
    assert text.endswith('\n') and SECRET not in text


def test_render_text_minimal_and_durations():
    report = gather(connect=FakeConnect({}))
    text = status.render_text(report)
    assert 'CONNECTORS\n  none' in text and 'not checked' in text and 'SINK CONSUMER LAG' not in text
    assert status._seconds(None) == '-' and status._seconds(3.14) == '3.1 s'
    assert status._seconds(754) == '12m 34s' and status._seconds(7260) == '2h 01m'
    empty = gather(connect=FakeConnect({}), kafka=FakeOffsets(committed={}), dlq_topics=None,
                   get_json=fake_http({AM + '/api/v2/alerts': []}), alertmanager_url=AM)
    text = status.render_text(empty)
    assert 'no committed offsets' in text and 'none configured' in text and 'FIRING ALERTS (Alertmanager)\n  none' in text
    assert json.loads(status.json_text(empty))['status'] == 'healthy'
    prom = gather(connect=FakeConnect({}), get_json=fake_http({
        PROM + '/api/v1/query': {'status': 'success', 'data': {'result': []}},
        PROM + '/api/v1/alerts': {'status': 'success', 'data': {'alerts': []}}}), prometheus_url=PROM,
        max_lag_seconds=None)
    assert 'sluice_heartbeat_lag_seconds (Prometheus))' in status.render_text(prom)


# --- HTTP ---------------------------------------------------------------------------------------------------------
def test_make_get_json(monkeypatch):
    import io
    import urllib.error

    from ansible.module_utils import urls

    seen = []

    def fake_open_url(url, **kw):
        seen.append((url, kw))
        if 'fail' in url:
            raise urllib.error.HTTPError(url, 400, 'Bad Request', {}, io.BytesIO(b'{"error": "parse error"}'))
        if 'down' in url:
            raise urllib.error.URLError('Connection refused')
        return io.BytesIO(b'{"status": "success"}')

    monkeypatch.setattr(urls, 'open_url', fake_open_url)
    get_json = status.make_get_json(timeout=3, validate_certs=False)
    assert get_json('http://p:9090/api/v1/query', {'query': 'up'}) == {'status': 'success'}
    assert seen[0][0] == 'http://p:9090/api/v1/query?query=up' and seen[0][1]['timeout'] == 3
    assert get_json('http://p:9090/x', None) == {'status': 'success'}
    with pytest.raises(status.StatusError, match=r'^cannot read http://p:9090/fail: Bad Request \(parse error\)$'):
        get_json('http://user:pw@p:9090/fail', None)
    with pytest.raises(status.StatusError, match='^cannot read http://p/down: Connection refused$'):
        get_json('http://p/down', None)
