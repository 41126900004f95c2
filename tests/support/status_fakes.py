# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Fake sources for module_utils/status.py tests: Connect listing, Kafka offsets, PostgreSQL, HTTP JSON."""

from __future__ import annotations

import json

from ansible_collections.sluice.cdc.plugins.module_utils import status

SECRET = 'pg-hunter22'
SINK_CONFIG = {'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector', 'name': 'sluice-postgres-sink',
               'connection.password': SECRET, 'topics.regex': 'sluice\\.sluice_demo\\.dbo\\..*',
               'errors.deadletterqueue.topic.name': 'sluice.dlq'}
T1 = 'sluice.sluice_demo.dbo.customers'
T2 = 'sluice.sluice_demo.dbo.orders'


def listing(sink_state='RUNNING', task_states=('RUNNING',), trace=None, extra=None):
    tasks = [{'id': i, 'state': s, 'worker_id': 'connect-1:8083'} for i, s in enumerate(task_states)]
    if trace:
        tasks[-1]['trace'] = trace
    out = {'sluice-postgres-sink': {
        'status': {'name': 'sluice-postgres-sink', 'type': 'sink',
                   'connector': {'state': sink_state, 'worker_id': 'connect-1:8083'}, 'tasks': tasks},
        'info': {'name': 'sluice-postgres-sink', 'type': 'sink', 'config': dict(SINK_CONFIG), 'tasks': []}}}
    out.update(extra or {})
    return out


class FakeConnect:
    def __init__(self, data=None, error=None):
        self.data = listing() if data is None else data
        self.error = error

    def list_connectors(self):
        if self.error:
            raise self.error
        return json.loads(json.dumps(self.data))


class FakeOffsets:
    """What KafkaOffsets offers, from dicts."""

    def __init__(self, committed=None, marks=None, topics=None, fail=None):
        self._committed = committed if committed is not None else {
            'connect-sluice-postgres-sink': {(T1, 0): 10, (T1, 1): 5, (T2, 0): 7}}
        self._marks = marks if marks is not None else {(T1, 0): (0, 12), (T1, 1): (0, 5), (T2, 0): (3, 7),
                                                       ('sluice.dlq', 0): (2, 4), ('sluice.dlq', 1): (0, 1)}
        self._topics = topics if topics is not None else {'sluice.dlq': [0, 1]}
        self.fail = fail or {}
        self.calls = []

    def committed(self, group):
        self.calls.append(('committed', group))
        if 'committed' in self.fail:
            raise status.StatusError(self.fail['committed'])
        return dict(self._committed.get(group, {}))

    def watermarks(self, partitions):
        self.calls.append(('watermarks', tuple(partitions)))
        return {tp: self._marks[tp] for tp in partitions if tp in self._marks}

    def partitions(self, topic):
        self.calls.append(('partitions', topic))
        return self._topics.get(topic)


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql):
        self.conn.sql.append(sql)
        if self.conn.fail_query and 'EXTRACT' in sql:
            error = RuntimeError('relation "cdc.sluice_heartbeat" does not exist\nLINE 1: ...')
            error.sqlstate = '42P01' if self.conn.fail_query == 'undefined' else None
            raise error

    def fetchone(self):
        return (self.conn.value,)


class FakePg:
    def __init__(self, value=4.25, fail_connect=False, fail_query=False):
        self.value, self.fail_connect, self.fail_query = value, fail_connect, fail_query
        self.sql, self.closed = [], False

    def __call__(self):
        if self.fail_connect:
            raise RuntimeError('connection to server at "pg" failed: password authentication failed')
        return self

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def fake_http(responses):
    calls = []

    def get_json(url, params):
        calls.append((url, params))
        value = responses[url]
        if isinstance(value, Exception):
            raise value
        return value
    get_json.calls = calls
    return get_json
