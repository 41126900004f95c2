# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Quarantine: find the exact record PostgreSQL rejects, copy it unchanged to the DLQ, move the sink past it.

The JDBC sink 3.6 fails a whole batch and rewinds to its start, so its committed offsets are where the failed batch
begins and the bad record is at or after them. The search uses the sink's own write path: for one candidate
partition at a time, a temporary *probe* connector (same config, one task, ``batch.size=1``, one record per poll,
only that partition's topic) starts at the sink's committed offset of that partition and at the end of every other
partition of the topic. It either FAILS (its committed offset of the partition is then the rejected record) or gets
past the sink's batch (the partition is clean). The probe writes the same rows in the same per-key order as the sink
would; the sink writes them again later (upserts are idempotent).

Crash safety: before the DLQ copy is written, the DLQ is searched for a record with the same origin headers; a
quarantine interrupted between the copy and the offset move is finished by the next run without a second copy.
"""

from __future__ import annotations

import json
import os
import time

from .. import connect_client as cc
from . import classify, dlq

PROBE_SUFFIX = '-sluice-probe'
DEFAULT_WINDOW = 500   # consumer max.poll.records: the longest failed batch of one partition
# Keys of the sink's config that the probe must not take: its own DLQ (the sink writes converter errors there
# later), a shared consumer group, topic selection.
PROBE_DROPPED = ('topics.regex', 'consumer.override.group.id', 'errors.deadletterqueue.topic.name',
                 'errors.deadletterqueue.topic.replication.factor', 'errors.deadletterqueue.context.headers.enable')


class QuarantineError(Exception):
    pass


def probe_name(connector):
    return connector + PROBE_SUFFIX


def is_probe(name):
    return str(name).endswith(PROBE_SUFFIX)


def probe_config(config, topic):
    out = {k: v for k, v in config.items() if k not in PROBE_DROPPED and k != 'name'}
    out.update({'tasks.max': '1', 'batch.size': '1', 'consumer.override.max.poll.records': '1', 'topics': topic,
                # fail at once on the rejected record instead of retrying the flush (the sink's outage tolerance)
                'flush.max.retries': '0', 'connection.restart.on.errors': 'false'})
    return out


def sink_topics(config, offsets):
    if config.get('topics'):
        return [t.strip() for t in str(config['topics']).split(',') if t.strip()]
    return sorted({t for t, _p in offsets})


def window_of(config, window):
    if window:
        return window
    try:
        return int(config.get('consumer.override.max.poll.records') or DEFAULT_WINDOW)
    except ValueError:
        return DEFAULT_WINDOW


def order_candidates(candidates, trace):
    """Partitions of the tables named in the failure's SQL first, then the others, each by topic and partition."""
    named = classify.tables_named(trace)

    def rank(c):
        table = c['topic'].rsplit('.', 1)[-1].lower()
        return (named.index(table) if table in named else len(named), c['topic'], c['partition'])
    return sorted(candidates, key=rank)


class Quarantine:
    """One quarantine run for one sink connector. ``connect`` is a ConnectClient, ``records`` a RecordClient."""

    def __init__(self, connect, records, dlq_topic, log, search_timeout=900.0, step=15.0, window=0,
                 state_dir=None, clock=time.monotonic, sleep=time.sleep, wait_timeout=120.0):
        self.connect, self.records, self.dlq_topic, self.log = connect, records, dlq_topic, log
        self.search_timeout, self.step, self.window = search_timeout, step, window
        self.state_dir, self.clock, self.sleep, self.wait_timeout = state_dir, clock, sleep, wait_timeout

    # -- state (crash safety) ---------------------------------------------------------------------

    def _state_path(self, connector):
        return os.path.join(self.state_dir, 'quarantine-%s.json' % connector.replace('/', '_'))

    def mark_started(self, connector):
        if self.state_dir:
            path = self._state_path(connector)
            with open(path + '.tmp', 'w', encoding='utf-8') as f:
                json.dump({'connector': connector, 'started': time.time()}, f)
            os.replace(path + '.tmp', path)

    def mark_done(self, connector):
        if self.state_dir:
            try:
                os.remove(self._state_path(connector))
            except FileNotFoundError:
                pass

    def unfinished(self):
        """Connectors whose quarantine was interrupted (the supervisor died during it)."""
        if not self.state_dir or not os.path.isdir(self.state_dir):
            return []
        out = []
        for name in sorted(os.listdir(self.state_dir)):
            if name.startswith('quarantine-') and name.endswith('.json'):
                try:
                    with open(os.path.join(self.state_dir, name), encoding='utf-8') as f:
                        out.append(json.load(f)['connector'])
                except (OSError, ValueError, KeyError):
                    continue
        return out

    # -- Connect helpers ----------------------------------------------------------------------------

    def _wait_stopped(self, name):
        """Poll until the connector is STOPPED with no task (failed tasks before the stop do not count)."""
        deadline = self.clock() + self.wait_timeout
        while True:
            status = self.connect.get_status(name) or {}
            if (status.get('connector') or {}).get('state') == 'STOPPED' and not status.get('tasks'):
                return status
            if self.clock() >= deadline:
                raise QuarantineError('timed out after %ss waiting for %s to stop; last status: %s'
                                      % (self.wait_timeout, name, cc.status_summary(status)))
            self.sleep(1.0)

    def _stop(self, name):
        self.connect.stop(name)
        self._wait_stopped(name)

    def delete_probe(self, connector):
        name = probe_name(connector)
        if self.connect.get_config(name) is None:
            return False
        self.connect.delete(name)
        cc.wait_for_absence(self.connect, name, self.wait_timeout)
        return True

    # -- the search ---------------------------------------------------------------------------------

    def candidates(self, config, offsets, trace):
        window = window_of(config, self.window)
        found = []
        for topic in sink_topics(config, offsets):
            for partition, (low, high) in sorted(self.records.watermarks(topic).items()):
                start = max(offsets.get((topic, partition), low), low)
                if high > start:
                    found.append({'topic': topic, 'partition': partition, 'start': start,
                                  'end': min(high, start + window)})
        return order_candidates(found, trace)

    def probe(self, connector, config, cand, deadline):
        """``('bad', offset, trace)``, ``('clean', offset, None)`` or ``('timeout', offset, None)``."""
        name = probe_name(connector)
        topic, partition = cand['topic'], cand['partition']
        self.delete_probe(connector)
        self.connect.create(name, probe_config(config, topic), initial_state='STOPPED')
        self._wait_stopped(name)
        marks = self.records.watermarks(topic)
        start = {(topic, p): (cand['start'] if p == partition else high) for p, (_low, high) in marks.items()}
        self.connect.patch_offsets(name, cc.sink_offset_entries(start))
        position = cand['start']
        try:
            while True:
                self.connect.resume(name)
                step_end = min(deadline, self.clock() + self.step)
                failed_trace = None
                while self.clock() < step_end:
                    self.sleep(1.0)
                    status = self.connect.get_status(name) or {}
                    failed = [t for t in status.get('tasks') or [] if t.get('state') == 'FAILED']
                    if failed:
                        failed_trace = failed[0].get('trace') or ''
                        break
                self._stop(name)
                offsets = cc.sink_offsets(self.connect.get_offsets(name))
                position = offsets.get((topic, partition), position)
                if failed_trace is not None:
                    return 'bad', position, failed_trace
                if position >= cand['end']:
                    return 'clean', position, None
                self.log('probe_progress', connector=connector, topic=topic, partition=partition,
                         offset=position, target=cand['end'])
                if self.clock() >= deadline:
                    return 'timeout', position, None
        finally:
            self.delete_probe(connector)

    def run(self, connector, trace):
        """Quarantine the record that fails ``connector``. Returns a result dict with ``outcome``: ``quarantined``,
        ``already_quarantined`` (the copy existed: only the offset was moved), ``not_found`` or ``timeout``; the
        sink is resumed in every case."""
        started = self.clock()
        deadline = started + self.search_timeout
        self.mark_started(connector)
        config = self.connect.get_config(connector)
        if config is None:
            self.mark_done(connector)
            raise QuarantineError('connector %s does not exist' % connector)
        self.delete_probe(connector)
        self._stop(connector)
        result = {'connector': connector, 'outcome': 'not_found', 'probes': 0}
        try:
            offsets = cc.sink_offsets(self.connect.get_offsets(connector))
            cands = self.candidates(config, offsets, trace)
            self.log('quarantine_search', connector=connector, candidates=len(cands),
                     partitions=['%s[%d]@%d..%d' % (c['topic'], c['partition'], c['start'], c['end'])
                                 for c in cands])
            for cand in cands:
                result['probes'] += 1
                verdict, position, probe_trace = self.probe(connector, config, cand, deadline)
                self.log('probe_result', connector=connector, topic=cand['topic'], partition=cand['partition'],
                         verdict=verdict, offset=position)
                if verdict == 'bad' and classify.classify(probe_trace).kind == classify.TRANSIENT:
                    # PostgreSQL or Kafka went away during the search: not the record's fault. Stop here; the sink
                    # fails again and the supervisor restarts or searches again.
                    result['outcome'] = 'transient'
                    result['error'] = classify.database_error(probe_trace)
                    break
                if verdict == 'bad':
                    result.update(self._quarantine(connector, cand['topic'], cand['partition'], position,
                                                   probe_trace or trace))
                    break
                if verdict == 'timeout':
                    result['outcome'] = 'timeout'
                    break
        except Exception:
            # An error (not the process dying): resume the sink; if it fails again the next pass starts over.
            self.connect.resume(connector)
            self.mark_done(connector)
            raise
        # When the process dies in between (SIGKILL, SystemExit) the state file stays: the next supervisor finishes
        # the quarantine (recover()), finding the DLQ copy instead of writing a second one.
        self.connect.resume(connector)
        self.mark_done(connector)
        result['seconds'] = round(self.clock() - started, 1)
        return result

    def _quarantine(self, connector, topic, partition, offset, trace):
        record = self.records.read(topic, partition, offset)
        if record is None:
            raise QuarantineError('%s[%d]@%d cannot be read' % (topic, partition, offset))
        error = classify.database_error(trace)
        cause = classify.classify(trace)
        existing = dlq.find_quarantined(dlq.read_all(self.records, self.dlq_topic), topic, partition, offset)
        if existing is None:
            at = self.records.produce(self.dlq_topic, record['key'], record['value'],
                                      dlq.quarantine_headers(record, connector, error, cause.sqlstate))
            outcome = 'quarantined'
        else:
            at = (existing['partition'], existing['offset'])
            outcome = 'already_quarantined'
        self.connect.patch_offsets(connector, cc.sink_offset_entries({(topic, partition): offset + 1}))
        self.log('quarantined', connector=connector, topic=topic, partition=partition, offset=offset,
                 dlq='%s[%d]@%d' % (self.dlq_topic, at[0], at[1]), error=error, outcome=outcome)
        return {'outcome': outcome, 'topic': topic, 'partition': partition, 'offset': offset, 'error': error,
                'sqlstate': cause.sqlstate, 'dlq': at}
