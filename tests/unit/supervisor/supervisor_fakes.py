"""Fakes at the connection-layer boundary (ConnectClient, RecordClient) that record every call in order."""
from ansible_collections.sluice.cdc.plugins.module_utils import connect_client as cc


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeRecords:
    """Topics as {topic: {partition: [record dict, ...]}} with offsets = list index."""

    def __init__(self, topics=None):
        self.topics = topics or {}
        self.calls = []

    def add(self, topic, partition, key, value, headers=None):
        part = self.topics.setdefault(topic, {}).setdefault(partition, [])
        rec = {'topic': topic, 'partition': partition, 'offset': len(part), 'key': key, 'value': value,
               'headers': list(headers or []), 'timestamp': 1700000000000 + len(part)}
        part.append(rec)
        return rec

    def partitions(self, topic):
        return sorted(self.topics.get(topic, {}))

    def watermarks(self, topic, partitions=None):
        parts = self.topics.get(topic, {})
        return {p: (0, len(parts[p])) for p in (partitions if partitions is not None else sorted(parts))}

    def scan(self, topic, partition, start, end=None):
        recs = self.topics.get(topic, {}).get(partition, [])
        return [dict(r) for r in recs[start:end if end is not None else len(recs)]]

    def read(self, topic, partition, offset):
        self.calls.append(('read', topic, partition, offset))
        recs = self.scan(topic, partition, offset, offset + 1)
        return recs[0] if recs else None

    def produce(self, topic, key, value, headers=None, partition=None):
        if partition is None:
            partition = 0
        self.calls.append(('produce', topic, partition))
        rec = self.add(topic, partition, key, value, headers)
        return partition, rec['offset']


class FakeConnect:
    """A sink connector whose probe fails at ``bad`` offsets: {(topic, partition): offset}."""

    def __init__(self, records, sink='sink', config=None, offsets=None, bad=None, probe_speed=1000):
        self.records = records
        self.calls = []
        self.sink = sink
        self.configs = {sink: dict(config or {'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
                                               'topics': 't', 'tasks.max': '2'})}
        self.state = {sink: 'RUNNING'}
        self.offsets = {sink: dict(offsets or {})}
        self.bad = dict(bad or {})
        self.probe_speed = probe_speed
        self.tasks = {sink: [{'id': 0, 'state': 'RUNNING'}]}
        self.fail_probe = False

    # -- REST calls ---------------------------------------------------------------------------
    def get_config(self, name):
        self.calls.append(('GET config', name))
        cfg = self.configs.get(name)
        return dict(cfg, name=name) if cfg is not None else None

    def get_status(self, name):
        if name not in self.configs:
            return None
        state = self.state[name]
        tasks = [] if state == 'STOPPED' else self.tasks.get(name, [{'id': 0, 'state': 'RUNNING'}])
        return {'name': name, 'connector': {'state': state}, 'tasks': tasks, 'type': 'sink'}

    def create(self, name, config, initial_state=None):
        self.calls.append(('POST connectors', name, initial_state, dict(config)))
        self.configs[name] = dict(config)
        self.state[name] = initial_state or 'RUNNING'
        self.offsets[name] = {}

    def delete(self, name):
        self.calls.append(('DELETE', name))
        self.configs.pop(name, None)
        self.state.pop(name, None)

    def stop(self, name):
        self.calls.append(('PUT stop', name))
        if self.state[name] == 'RUNNING' and name != self.sink:
            self._run_probe(name)
        self.state[name] = 'STOPPED'

    def resume(self, name):
        self.calls.append(('PUT resume', name))
        self.state[name] = 'RUNNING'
        if name != self.sink:
            self.tasks[name] = [{'id': 0, 'state': 'RUNNING'}]
            self._run_probe(name, check_only=True)

    def _run_probe(self, name, check_only=False):
        """The probe consumes its topic from its offsets: fails on a bad record, else advances."""
        topic = self.configs[name]['topics']
        for (t, p), off in sorted(self.offsets[name].items()):
            end = len(self.records.topics.get(t, {}).get(p, []))
            for o in range(off, min(end, off + self.probe_speed)):
                if self.bad.get((t, p)) == o:
                    self.offsets[name][(t, p)] = o
                    self.tasks[name] = [{'id': 0, 'state': 'FAILED', 'trace':
                                         'org.apache.kafka.connect.errors.ConnectException: JDBC sink connector '
                                         'failure\nCaused by: org.postgresql.util.PSQLException: ERROR: value too '
                                         'long for type character varying(20)'}]
                    break
            else:
                if not check_only:
                    self.offsets[name][(t, p)] = min(end, off + self.probe_speed)
        assert topic

    def get_offsets(self, name):
        self.calls.append(('GET offsets', name))
        return cc.sink_offset_entries(self.offsets[name])

    def patch_offsets(self, name, entries):
        assert self.state[name] == 'STOPPED', 'offsets are altered only on a STOPPED connector'
        self.calls.append(('PATCH offsets', name, cc.sink_offsets(entries)))
        self.offsets[name].update(cc.sink_offsets(entries))

    def restart_task(self, name, task):
        self.calls.append(('POST task restart', name, task))
        self.tasks[name] = [dict(t, state='RUNNING') if t['id'] == task else t for t in self.tasks[name]]

    def restart(self, name, include_tasks=True, only_failed=True):
        self.calls.append(('POST restart', name, include_tasks, only_failed))

    def list_connectors(self):
        return {n: {'status': self.get_status(n), 'info': {'type': 'sink'}} for n in self.configs}
