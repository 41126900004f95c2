# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The supervisor's runner: every ``poll_interval`` seconds, read every connector's status and act on failures.

- A task FAILED by a transient cause: restart only that task, with exponential back-off per task.
- A sink task FAILED by a data error (or the same unrecognised failure again at the same offsets after a restart)
  with ``quarantine: auto``: quarantine the record (quarantine.py). With ``quarantine: off``: restart with
  back-off; the alert tells a person.
- A connector FAILED itself: restart the connector (without its tasks), with back-off.
Every action is a JSON log line and a metric; the last actions are kept in ``state_dir/actions.json`` for
``sluice-status``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from .. import connect_client as cc
from . import classify, config as cfg, quarantine as qmod
from .backoff import Backoff

ACTIONS_FILE = 'actions.json'
ACTIONS_KEPT = 50


# librdkafka before 2.6.1 sends a wrong SCRAM client-final nonce: Kafka 4 refuses the login as "invalid credentials"
# (confluentinc/librdkafka#4895; Debian bookworm's python3-confluent-kafka 1.7.0 bundles librdkafka 2.0.2).
SCRAM_MIN_LIBRDKAFKA = (2, 6, 1)


def _version_tuple(text):
    parts = []
    for part in str(text).split('-')[0].split('.'):
        digits = ''.join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def kafka_client_versions(module=None):
    """The confluent-kafka the process runs with: its version, its librdkafka's and where it was imported from
    (the role's wheel directory, or a distribution package); ``None`` values when it cannot be imported."""
    if module is None:
        try:
            import confluent_kafka as module  # pylint: disable=import-outside-toplevel
        except ImportError as e:
            return {'confluent_kafka': None, 'librdkafka': None, 'path': None, 'error': str(e)}
    return {'confluent_kafka': _version_text(module.version()), 'librdkafka': _version_text(module.libversion()),
            'path': os.path.dirname(getattr(module, '__file__', None) or '') or None}


def _version_text(value):
    """confluent-kafka 1.x returns ``(text, int)`` from ``version()``, 2.x the text alone; ``libversion()`` a tuple."""
    return str(value[0] if isinstance(value, (tuple, list)) else value)


def log_kafka_client(log, config, module=None):
    """Log (event ``kafka_client``) which confluent-kafka and librdkafka run and how the client logs in, and warn
    (``kafka_client_too_old``) when that librdkafka cannot log in with SCRAM. Returns the versions."""
    versions = kafka_client_versions(module)
    mechanism = config.get('kafka_sasl_mechanism') or (config.get('kafka_config') or {}).get('sasl.mechanism')
    protocol = config.get('kafka_security_protocol') or (config.get('kafka_config') or {}).get('security.protocol')
    log('kafka_client', confluent_kafka=versions['confluent_kafka'], librdkafka=versions['librdkafka'],
        path=versions['path'], security_protocol=protocol or 'PLAINTEXT', sasl_mechanism=mechanism,
        **({'error': versions['error']} if 'error' in versions else {}))
    if (versions['librdkafka'] and str(mechanism or '').upper().startswith('SCRAM')
            and str(protocol or '').upper().startswith('SASL')
            and _version_tuple(versions['librdkafka']) < SCRAM_MIN_LIBRDKAFKA):
        minimum = '.'.join(map(str, SCRAM_MIN_LIBRDKAFKA))
        log('kafka_client_too_old', librdkafka=versions['librdkafka'],
            message='librdkafka before %s cannot log in to Kafka 4 with SCRAM (confluentinc/librdkafka#4895): '
                    'run the confluent-kafka wheel the supervisor role installs' % minimum)
    return versions


def json_logger(stream=None):
    stream = stream or sys.stdout

    def log(event, **fields):
        line = {'ts': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'event': event}
        line.update(fields)
        stream.write(json.dumps(line, default=str, sort_keys=False) + '\n')
        stream.flush()
    return log


class Supervisor:
    def __init__(self, config, connect, records, metrics, leader, log, quarantine=None,
                 clock=time.monotonic, wall=time.time):
        self.config, self.connect, self.records = config, connect, records
        self.metrics, self.leader, self.log = metrics, leader, log
        self.clock, self.wall = clock, wall
        self.quarantine = quarantine or qmod.Quarantine(
            connect, records, config['dlq_topic'], log, search_timeout=config['quarantine_search_timeout'],
            step=config['probe_step_seconds'], window=config['quarantine_window'], state_dir=config['state_dir'])
        self.backoffs = {}
        self.repeats = {}      # (connector, task) -> (fingerprint, offsets at the last restart, count)
        self.actions, self.quarantined = self._load_actions()
        self.masker = cc.Masker()
        metrics.set('sluice_supervisor_up', 1)
        metrics.set('sluice_supervisor_active', 0)

    # -- bookkeeping --------------------------------------------------------------------------------

    def _actions_path(self):
        return os.path.join(self.config['state_dir'], ACTIONS_FILE) if self.config.get('state_dir') else None

    def _load_actions(self):
        path = self._actions_path()
        try:
            with open(path, encoding='utf-8') as f:
                saved = json.load(f)
            return list(saved.get('actions', [])), dict(saved.get('quarantined', {}))
        except (TypeError, OSError, ValueError, AttributeError):
            return [], {}

    def _record_action(self, action, connector, **fields):
        now = self.wall()
        entry = dict({'time': now, 'action': action, 'connector': connector}, **fields)
        self.actions = (self.actions + [entry])[-ACTIONS_KEPT:]
        self.metrics.set('sluice_supervisor_last_action_timestamp_seconds', now, connector=connector, action=action)
        path = self._actions_path()
        if action == 'record_quarantined' and fields.get('outcome') == 'quarantined':
            self.quarantined[connector] = self.quarantined.get(connector, 0) + 1
        if path and os.path.isdir(os.path.dirname(path)):
            with open(path + '.tmp', 'w', encoding='utf-8') as f:
                json.dump({'actions': self.actions, 'quarantined': self.quarantined}, f)
            os.replace(path + '.tmp', path)
        self.log(action, connector=connector, **fields)

    def snapshot(self):
        """What ``/actions`` serves: whether this supervisor acts, the last actions, records quarantined per
        connector (over the state directory's life) and the back-off of every task that was restarted."""
        now = self.clock()
        return {'active': bool(self.leader.active), 'actions': self.actions[-20:], 'quarantined': self.quarantined,
                'backoff': [dict(b.state(now), connector=k[0], task=k[1])
                            for k, b in sorted(self.backoffs.items(), key=str) if b.attempts]}

    def backoff(self, key):
        if key not in self.backoffs:
            c = self.config
            self.backoffs[key] = Backoff(c['backoff_initial'], c['backoff_max'], c['backoff_multiplier'],
                                         c['backoff_reset_after'])
        return self.backoffs[key]

    def _publish_backoff(self, connector, task, b, now):
        state = b.state(now)
        self.metrics.set('sluice_supervisor_backoff_attempts', state['attempts'], connector=connector, task=str(task))
        self.metrics.set('sluice_supervisor_backoff_seconds', state['delay_seconds'], connector=connector,
                         task=str(task))

    # -- one pass -----------------------------------------------------------------------------------

    def recover(self):
        """At start (when active): finish interrupted quarantines and remove leftover probe connectors."""
        for connector in self.quarantine.unfinished():
            self.log('quarantine_resumed', connector=connector)
            self._quarantine(connector, '', None)
        try:
            names = list(self.connect.list_connectors())
        except cc.ConnectError as e:
            self.log('poll_error', error=str(e))
            return
        for name in names:
            if qmod.is_probe(name):
                self.connect.delete(name)
                self.log('probe_removed', connector=name)

    def poll_once(self):
        active = bool(self.leader.active)
        self.metrics.set('sluice_supervisor_active', 1 if active else 0)
        if not active:
            return []
        try:
            listing = self.connect.list_connectors()
        except cc.ConnectError as e:
            self.metrics.inc('sluice_supervisor_poll_errors_total')
            self.log('poll_error', error=str(e))
            return []
        self.metrics.set('sluice_supervisor_last_poll_timestamp_seconds', self.wall())
        done = []
        for name in sorted(listing):
            if qmod.is_probe(name):
                continue
            entry = listing[name] or {}
            status = entry.get('status') or {}
            kind = (entry.get('info') or {}).get('type') or status.get('type')
            done += self._check(name, kind, status)
        return done

    def _check(self, name, kind, status):
        now = self.clock()
        done = []
        connector = status.get('connector') or {}
        if connector.get('state') == 'FAILED':
            b = self.backoff((name, 'connector'))
            b.observe_failed()
            if b.ready(now):
                cause = classify.classify(connector.get('trace'))
                self.connect.restart(name, include_tasks=False, only_failed=True)
                delay = b.record_restart(now)
                self.metrics.inc('sluice_supervisor_task_restarts_total', connector=name, task='connector',
                                 cause=cause.kind)
                self._record_action('connector_restarted', name, cause=cause.kind, reason=cause.reason,
                                    next_delay=delay)
                done.append(('restart', name, 'connector'))
            self._publish_backoff(name, 'connector', b, now)
        elif connector.get('state') == 'RUNNING':
            self.backoff((name, 'connector')).observe_healthy(now)
        for task in status.get('tasks') or []:
            tid = task.get('id')
            b = self.backoff((name, tid))
            state = task.get('state')
            if state == 'RUNNING':
                if b.observe_healthy(now):
                    self.repeats.pop((name, tid), None)
                    self.log('backoff_reset', connector=name, task=tid)
                self._publish_backoff(name, tid, b, now)
                continue
            if state != 'FAILED':
                continue
            b.observe_failed()
            trace = self.masker.scrub(task.get('trace') or '')
            cause = classify.classify(trace)
            policy = cfg.policy(self.config, name)
            if kind == 'sink' and policy == 'auto' and self._is_data_error(name, tid, cause, trace):
                if not b.ready(now):   # the last search found nothing: searches back off like restarts
                    self._publish_backoff(name, tid, b, now)
                    continue
                done.append(('quarantine', name, tid))
                result = self._quarantine(name, trace, cause)
                if not result or result['outcome'] not in ('quarantined', 'already_quarantined'):
                    b.record_restart(self.clock())
                self.repeats.pop((name, tid), None)
                return done   # the whole connector was stopped and resumed: look again next pass
            if not b.ready(now):
                self._publish_backoff(name, tid, b, now)
                continue
            if kind == 'sink' and cause.kind == classify.UNKNOWN:
                self._remember(name, tid, trace)
            self.connect.restart_task(name, tid)
            delay = b.record_restart(now)
            self.metrics.inc('sluice_supervisor_task_restarts_total', connector=name, task=str(tid), cause=cause.kind)
            self._record_action('task_restarted', name, task=tid, cause=cause.kind, reason=cause.reason,
                                error=classify.database_error(trace), next_delay=delay,
                                **({'alert': 'quarantine is off'} if cause.kind == classify.DATA else {}))
            self._publish_backoff(name, tid, b, now)
            done.append(('restart', name, tid))
        return done

    def _offsets(self, name):
        try:
            return cc.sink_offsets(self.connect.get_offsets(name))
        except cc.ConnectError:
            return None

    def _remember(self, name, tid, trace):
        fp = classify.fingerprint(trace)
        offsets = self._offsets(name)
        previous = self.repeats.get((name, tid))
        count = previous[2] + 1 if previous and previous[0] == fp and previous[1] == offsets else 1
        self.repeats[(name, tid)] = (fp, offsets, count)

    def _is_data_error(self, name, tid, cause, trace):
        if cause.kind == classify.DATA:
            return True
        if cause.kind != classify.UNKNOWN:
            return False
        previous = self.repeats.get((name, tid))
        # The same unrecognised failure again, at the same committed offsets, after a restart: the record is bad.
        return bool(previous and previous[0] == classify.fingerprint(trace) and previous[1] is not None
                    and previous[1] == self._offsets(name))

    def _quarantine(self, name, trace, cause):
        self._record_action('quarantine_started', name, reason=cause.reason if cause else 'resumed after a restart')
        try:
            result = self.quarantine.run(name, trace)
        except (cc.ConnectError, qmod.QuarantineError, Exception) as e:  # pylint: disable=broad-except
            self.metrics.inc('sluice_supervisor_quarantine_failures_total', connector=name)
            self._record_action('quarantine_failed', name, error=self.masker.scrub(str(e)))
            return None
        if result['outcome'] in ('quarantined', 'already_quarantined'):
            if result['outcome'] == 'quarantined':
                self.metrics.inc('sluice_supervisor_quarantined_records_total', connector=name,
                                 topic=result['topic'])
            self._record_action('record_quarantined', name, topic=result['topic'], partition=result['partition'],
                                offset=result['offset'], error=result['error'], dlq=list(result['dlq']),
                                outcome=result['outcome'], seconds=result['seconds'], probes=result['probes'])
        else:
            self.metrics.inc('sluice_supervisor_quarantine_failures_total', connector=name)
            self._record_action('quarantine_failed', name, outcome=result['outcome'], seconds=result['seconds'],
                                probes=result['probes'])
        return result

    def run(self, stop=None):
        """Poll until ``stop`` (a threading.Event) is set."""
        recovered = False
        while stop is None or not stop.is_set():
            started = self.clock()
            try:
                if self.leader.active and not recovered:
                    self.recover()
                    recovered = True
                self.poll_once()
            except Exception as e:  # pylint: disable=broad-except  (a pass never kills the service)
                self.metrics.inc('sluice_supervisor_poll_errors_total')
                self.log('error', error=self.masker.scrub('%s: %s' % (type(e).__name__, e)))
            wait = max(0.0, self.config['poll_interval'] - (self.clock() - started))
            if stop is not None:
                stop.wait(wait)
            else:
                time.sleep(wait)
