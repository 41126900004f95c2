# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pipeline status on one screen, shared by the ``pipeline_status`` module and ``scripts/sluice-status``.

:func:`gather` reads, each from its own source and each optional except Connect:

- every connector and task state (Kafka Connect REST API, :class:`~.connect_client.ConnectClient`);
- the end-to-end lag: now minus the newest heartbeat timestamp replicated to PostgreSQL (``heartbeat_lag``), or
  ``max(sluice_heartbeat_lag_seconds)`` from Prometheus;
- the lag of each sink connector's consumer group per topic (= per table) and the message count of each
  dead-letter topic (Kafka admin API through confluent-kafka, :class:`KafkaOffsets`);
- firing alerts (Alertmanager API v2, or Prometheus' ``/api/v1/alerts``).

It returns a plain dict (the module's result, the CLI's ``--json``) with ``status`` ``healthy``, ``degraded`` or
``error`` and ``exit_status`` 0, 1 or 2; :func:`render_text` makes the fixed-width screen. I/O is injected
(connect client, Kafka offsets reader, PostgreSQL connection factory, HTTP JSON getter), so the logic is tested with
fakes. No password or secret config value is ever part of the result: connector configs are not returned, and task
traces are scrubbed of the connectors' secret values.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import urllib.parse

from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectError, Masker
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_conn import build_config

# pipeline_status's Kafka (kafka_*) and PostgreSQL (postgres_*) options: the shared layers' specs with these defaults.
KAFKA_DEFAULTS = {'bootstrap_servers': []}
POSTGRES_DEFAULTS = {'database': 'sluice', 'user': 'sluice_sink', 'connect_timeout': None}

HEALTHY, DEGRADED, ERROR = 'healthy', 'degraded', 'error'
EXIT_STATUS = {HEALTHY: 0, DEGRADED: 1, ERROR: 2}
DEFAULT_MAX_LAG = 300.0
HEARTBEAT_METRIC = 'sluice_heartbeat_lag_seconds'
UNDEFINED_TABLE = '42P01'  # PostgreSQL SQLSTATE
SINK_CLASS_HINT = 'sink'


class StatusError(Exception):
    """A source could not be read; the message is meant for the user (never holds a password)."""


# --- small helpers ----------------------------------------------------------------------------------------------
def table_of_topic(topic):
    """``<prefix>.<database>.<schema>.<table>`` -> ``<schema>.<table>``; other names unchanged."""
    parts = topic.split('.')
    return '.'.join(parts[-2:]) if len(parts) >= 4 else topic


def quote_ident(name):
    """A possibly schema-qualified PostgreSQL name, each part double-quoted."""
    parts = [p for p in str(name).split('.')]
    if not parts or any(not p for p in parts) or len(parts) > 3:
        raise StatusError('heartbeat table %r is not [database.]schema.table or table' % (name,))
    return '.'.join('"%s"' % p.replace('"', '""') for p in parts)


def first_line(text, limit=160):
    line = (text or '').strip().splitlines()[0] if (text or '').strip() else ''
    return line if len(line) <= limit else line[:limit - 3] + '...'


def trace_summary(trace, limit=300):
    """First line of a Java stack trace, plus its root cause (the last ``Caused by:``) when there is one."""
    text = (trace or '').strip()
    if not text:
        return ''
    head = first_line(text, limit)
    causes = [line.strip()[len('Caused by:'):].strip() for line in text.splitlines()
              if line.strip().startswith('Caused by:')]
    if causes and causes[-1] not in head:
        return head + ' (root cause: %s)' % first_line(causes[-1], limit)
    return head


def sink_group(name, config):
    """The consumer group of a sink connector (Connect's default, or the override in its config)."""
    return config.get('consumer.override.group.id') or 'connect-%s' % name


def is_sink(entry):
    status, info = entry.get('status') or {}, entry.get('info') or {}
    return (info.get('type') or status.get('type')) == SINK_CLASS_HINT


# --- connectors -------------------------------------------------------------------------------------------------
def connectors_section(listing, names=None, masker=None):
    """``GET /connectors?expand=status&expand=info`` -> list of connectors with their tasks, sorted by name.

    Each: name, type, state, worker_id, tasks (id, state, worker_id, error = the trace's first line and root
    cause, scrubbed),
    plus, for sinks, ``group`` and ``dlq_topic`` (from the config; the config itself is not returned)."""
    masker = masker or Masker()
    wanted = set(names or listing)
    for name in listing:
        masker.learn(((listing[name] or {}).get('info') or {}).get('config'))
    out = []
    for name in sorted(n for n in listing if n in wanted):
        entry = listing[name] or {}
        status, info = entry.get('status') or {}, entry.get('info') or {}
        config = info.get('config') or {}
        connector = status.get('connector') or {}
        item = {'name': name, 'type': info.get('type') or status.get('type') or 'unknown',
                'state': connector.get('state') or 'UNKNOWN', 'worker_id': connector.get('worker_id'),
                'error': masker.scrub(trace_summary(connector.get('trace'))) or None, 'tasks': []}
        for task in sorted(status.get('tasks') or [], key=lambda t: t.get('id', 0)):
            item['tasks'].append({'id': task.get('id'), 'state': task.get('state') or 'UNKNOWN',
                                  'worker_id': task.get('worker_id'),
                                  'error': masker.scrub(trace_summary(task.get('trace'))) or None})
        if is_sink(entry):
            item['group'] = sink_group(name, config)
            item['dlq_topic'] = config.get('errors.deadletterqueue.topic.name') or None
        out.append(item)
    return out


def connector_problems(connectors):
    problems = []
    for c in connectors:
        if c['state'] != 'RUNNING':
            problems.append('connector %s is %s%s' % (c['name'], c['state'], ': ' + c['error'] if c['error'] else ''))
        elif not c['tasks']:
            problems.append('connector %s is RUNNING without tasks' % c['name'])
        for t in c['tasks']:
            if t['state'] != 'RUNNING':
                problems.append('task %s/%s is %s%s' % (c['name'], t['id'], t['state'],
                                                        ': ' + t['error'] if t['error'] else ''))
    return problems


# --- Kafka: consumer lag and dead-letter counts -------------------------------------------------------------------
class KafkaOffsets:
    """Offsets through ``confluent_kafka.admin.AdminClient`` (``admin`` may be any object with the same methods)."""

    def __init__(self, admin, timeout=30):
        self.admin = admin
        self.timeout = timeout

    @classmethod
    def connect(cls, bootstrap_servers, client_config=None, timeout=30):
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError:
            raise StatusError('the Python package confluent-kafka is needed for consumer lag and dead-letter '
                              'counts (pip install confluent-kafka)') from None
        conf = build_config(bootstrap_servers, client_config)
        try:
            return cls(AdminClient(conf), timeout)
        except Exception as e:  # KafkaException, ValueError on a bad setting
            raise StatusError('invalid Kafka client configuration: %s' % e) from None

    def _result(self, future, doing):
        try:
            return future.result(timeout=self.timeout + 5)
        except Exception as e:  # KafkaException, TimeoutError
            raise StatusError('Kafka: failed %s: %s' % (doing, e or type(e).__name__)) from None

    def partitions(self, topic):
        """Partition ids of ``topic``, or ``None`` if it does not exist."""
        try:
            meta = self.admin.list_topics(topic=topic, timeout=self.timeout)
        except Exception as e:
            raise StatusError('Kafka: cannot read metadata of topic %s: %s' % (topic, e)) from None
        found = meta.topics.get(topic)
        if found is None or found.error is not None:
            return None
        return sorted(found.partitions)

    def committed(self, group):
        """``{(topic, partition): offset}`` committed by ``group`` (partitions without a commit left out)."""
        from confluent_kafka import ConsumerGroupTopicPartitions
        futures = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                         request_timeout=self.timeout)
        result = self._result(futures[group], 'reading the offsets of consumer group %s' % group)
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions
                if tp.error is None and tp.offset >= 0}

    def watermarks(self, partitions):
        """``{(topic, partition): (earliest, latest)}``."""
        if not partitions:
            return {}
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec
        out = {}
        for which, spec in (('earliest', OffsetSpec.earliest()), ('latest', OffsetSpec.latest())):
            request = {TopicPartition(t, p): spec for t, p in partitions}
            futures = self.admin.list_offsets(request, request_timeout=self.timeout)
            for tp, future in futures.items():
                offset = self._result(future, 'listing %s offsets of %s' % (which, tp.topic)).offset
                low, high = out.get((tp.topic, tp.partition), (None, None))
                out[(tp.topic, tp.partition)] = (offset, high) if which == 'earliest' else (low, offset)
        return out


def consumer_lag_section(offsets, groups):
    """Per group and topic: the summed lag of its partitions (latest minus committed; a partition without a
    commit counts from the earliest offset). Sorted by group, topic."""
    rows = []
    for group in sorted(set(groups)):
        committed = offsets.committed(group)
        marks = offsets.watermarks(sorted(committed))
        per_topic = {}
        for (topic, partition), offset in committed.items():
            low, high = marks.get((topic, partition), (None, None))
            if high is None:
                continue
            lag = max(0, high - max(offset, low or 0))
            row = per_topic.setdefault(topic, {'group': group, 'topic': topic, 'table': table_of_topic(topic),
                                               'lag': 0, 'partitions': 0})
            row['lag'] += lag
            row['partitions'] += 1
        rows.extend(per_topic[t] for t in sorted(per_topic))
    return rows


def dlq_section(offsets, topics):
    """Messages held by each dead-letter topic (sum over partitions of latest minus earliest)."""
    rows = []
    for topic in sorted(set(topics)):
        parts = offsets.partitions(topic)
        if parts is None:
            rows.append({'topic': topic, 'messages': None, 'exists': False})
            continue
        marks = offsets.watermarks([(topic, p) for p in parts])
        rows.append({'topic': topic, 'exists': True,
                     'messages': sum(max(0, (high or 0) - (low or 0)) for low, high in marks.values())})
    return rows


# --- end-to-end lag -----------------------------------------------------------------------------------------------
def heartbeat_lag(connect, table, column):
    """Seconds between now and the newest heartbeat timestamp in PostgreSQL (``None`` if the table is empty or
    does not exist yet).

    ``connect()`` returns a DB-API connection. The heartbeat is written in UTC (SYSUTCDATETIME on SQL Server) and
    lands as ``timestamp`` without time zone, so the session runs in UTC."""
    sql = 'SELECT EXTRACT(EPOCH FROM (now() - max(%s)::timestamptz)) FROM %s' % (quote_ident(column),
                                                                                  quote_ident(table))
    try:
        conn = connect()
    except Exception as e:
        raise StatusError('PostgreSQL: cannot connect: %s' % first_line(str(e), 300)) from None
    try:
        cur = conn.cursor()
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(sql)
        row = cur.fetchone()
    except Exception as e:
        if getattr(e, 'sqlstate', None) == UNDEFINED_TABLE:
            return None  # the sink creates the table with the first heartbeat it writes: none has arrived yet
        raise StatusError('PostgreSQL: heartbeat query on %s failed: %s' % (table, first_line(str(e), 300))) from None
    finally:
        try:
            conn.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass
    value = row[0] if row else None
    return None if value is None else round(float(value), 3)


def prometheus_scalar(get_json, base, expr):
    """The value of an instant query returning at most one series (``None`` when it returns none)."""
    body = get_json(base.rstrip('/') + '/api/v1/query', {'query': expr})
    if body.get('status') != 'success':
        raise StatusError('Prometheus: query %s failed: %s' % (expr, body.get('error')))
    result = body['data']['result']
    if not result:
        return None
    return round(float(result[0]['value'][1]), 3)


# --- alerts -------------------------------------------------------------------------------------------------------
def alerts_from_alertmanager(get_json, base):
    alerts = get_json(base.rstrip('/') + '/api/v2/alerts',
                      {'active': 'true', 'silenced': 'false', 'inhibited': 'false'})
    return sorted(({'name': a.get('labels', {}).get('alertname', '?'),
                    'severity': a.get('labels', {}).get('severity', ''),
                    'summary': (a.get('annotations') or {}).get('summary', ''),
                    'since': a.get('startsAt', ''),
                    'labels': {k: v for k, v in (a.get('labels') or {}).items() if k not in ('alertname',)}}
                   for a in alerts if (a.get('status') or {}).get('state', 'active') == 'active'),
                  key=lambda a: (a['name'], a['since']))


def alerts_from_prometheus(get_json, base):
    body = get_json(base.rstrip('/') + '/api/v1/alerts', None)
    if body.get('status') != 'success':
        raise StatusError('Prometheus: cannot read alerts: %s' % body.get('error'))
    return sorted(({'name': a.get('labels', {}).get('alertname', '?'),
                    'severity': a.get('labels', {}).get('severity', ''),
                    'summary': (a.get('annotations') or {}).get('summary', ''),
                    'since': a.get('activeAt', ''),
                    'labels': {k: v for k, v in (a.get('labels') or {}).items() if k not in ('alertname',)}}
                   for a in body['data']['alerts'] if a.get('state') == 'firing'),
                  key=lambda a: (a['name'], a['since']))


# --- gathering ----------------------------------------------------------------------------------------------------
def supervisor_section(get_json, urls, last=5):
    """The sluice-supervisors' ``/actions``: which one is active, records quarantined per connector, the last actions
    of the active one (newest last). Raises :class:`StatusError` when none answers."""
    instances, active = [], None
    for url in urls:
        base = url.rstrip('/')
        try:
            data = get_json(base + '/actions', None) or {}
        except StatusError as e:
            instances.append({'url': base, 'active': False, 'error': str(e)})
            continue
        instances.append({'url': base, 'active': bool(data.get('active')), 'error': None})
        if data.get('active') and active is None:
            active = data
    if not any(i['error'] is None for i in instances):
        raise StatusError('no sluice-supervisor answered: %s' % '; '.join(i['error'] for i in instances))
    active = active or {}
    actions = []
    for a in (active.get('actions') or [])[-last:]:
        detail = {k: v for k, v in a.items() if k not in ('time', 'action', 'connector')}
        actions.append({'time': a.get('time'), 'action': a.get('action'), 'connector': a.get('connector'),
                        'detail': ', '.join('%s=%s' % (k, v) for k, v in detail.items())[:160]})
    return {'instances': instances, 'active': sum(1 for i in instances if i['active']),
            'quarantined': dict(active.get('quarantined') or {}), 'backoff': list(active.get('backoff') or []),
            'actions': actions}


def _try(errors, section, func, *args):
    try:
        return func(*args)
    except (StatusError, ConnectError) as e:
        errors[section] = str(e)
    except Exception as e:  # an unexpected failure of one source must not hide the others
        errors[section] = '%s: %s' % (type(e).__name__, e)
    return None


def gather(connect, kafka=None, pg_connect=None, get_json=None, connector_names=None, dlq_topics=None,
           heartbeat_table='cdc.sluice_heartbeat', heartbeat_column='ts', prometheus_url=None,
           alertmanager_url=None, max_lag_seconds=DEFAULT_MAX_LAG, max_consumer_lag=None, max_dlq_messages=None,
           now=None, supervisor_urls=None):
    """Read every configured source and judge the pipeline. ``kafka`` is a :class:`KafkaOffsets` (or a callable
    returning one, called only when needed), ``pg_connect`` a DB-API connection factory, ``get_json(url, params)``
    an HTTP GET returning decoded JSON. Sources left ``None`` are not read and their sections are ``None``."""
    errors, problems = {}, []
    masker = Masker()
    listing = _try(errors, 'connectors', connect.list_connectors)
    connectors = connectors_section(listing, connector_names, masker) if listing is not None else []
    problems += connector_problems(connectors)

    lag = {'seconds': None, 'source': None, 'max_seconds': max_lag_seconds}
    if pg_connect is not None:
        lag['source'] = 'postgresql'
        lag['seconds'] = _try(errors, 'lag', heartbeat_lag, pg_connect, heartbeat_table, heartbeat_column)
    elif prometheus_url and get_json is not None:
        lag['source'] = 'prometheus'
        lag['seconds'] = _try(errors, 'lag', prometheus_scalar, get_json, prometheus_url,
                              'max(%s)' % HEARTBEAT_METRIC)
    if lag['source'] and 'lag' not in errors:
        if lag['seconds'] is None:
            problems.append('no heartbeat has reached PostgreSQL yet (%s)' % (
                heartbeat_table if lag['source'] == 'postgresql' else HEARTBEAT_METRIC))
        elif max_lag_seconds is not None and lag['seconds'] > max_lag_seconds:
            problems.append('end-to-end lag %.1f s is over %.0f s' % (lag['seconds'], max_lag_seconds))

    consumer_lag = dlq = None
    if kafka is not None:
        offsets = _try(errors, 'kafka', kafka) if callable(kafka) and not hasattr(kafka, 'committed') else kafka
        groups = [c['group'] for c in connectors if c.get('group')]
        topics = list(dlq_topics) if dlq_topics else [c['dlq_topic'] for c in connectors if c.get('dlq_topic')]
        if offsets is not None:
            consumer_lag = _try(errors, 'consumer_lag', consumer_lag_section, offsets, groups)
            dlq = _try(errors, 'dlq', dlq_section, offsets, topics)
        for row in consumer_lag or []:
            if max_consumer_lag is not None and row['lag'] > max_consumer_lag:
                problems.append('consumer group %s is %d records behind on %s' % (row['group'], row['lag'],
                                                                                  row['topic']))
        for row in dlq or []:
            if not row['exists']:
                problems.append('dead-letter topic %s does not exist' % row['topic'])
            elif max_dlq_messages is not None and row['messages'] > max_dlq_messages:
                problems.append('dead-letter topic %s holds %d messages' % (row['topic'], row['messages']))

    alerts, alerts_source = None, None
    if get_json is not None and (alertmanager_url or prometheus_url):
        alerts_source = 'alertmanager' if alertmanager_url else 'prometheus'
        alerts = (_try(errors, 'alerts', alerts_from_alertmanager, get_json, alertmanager_url) if alertmanager_url
                  else _try(errors, 'alerts', alerts_from_prometheus, get_json, prometheus_url))
        for a in alerts or []:
            problems.append('alert %s is firing%s' % (a['name'], ': ' + a['summary'] if a['summary'] else ''))

    supervisor = None
    if supervisor_urls and get_json is not None:
        supervisor = _try(errors, 'supervisor', supervisor_section, get_json, supervisor_urls)
        if supervisor is not None and supervisor['active'] != 1:
            problems.append('%d sluice-supervisors are active (expected exactly 1)' % supervisor['active'])

    status = ERROR if errors else DEGRADED if problems else HEALTHY
    stamp = now if now is not None else _dt.datetime.now(_dt.timezone.utc)
    report = {'status': status, 'exit_status': EXIT_STATUS[status],
              'checked_at': stamp.isoformat(timespec='seconds').replace('+00:00', 'Z'),
              'problems': problems, 'errors': errors, 'connectors': connectors, 'lag': lag,
              'consumer_lag': consumer_lag, 'dlq': dlq, 'alerts': alerts, 'alerts_source': alerts_source,
              'supervisor': supervisor}
    return masker.scrub_data(report)


# --- rendering ----------------------------------------------------------------------------------------------------
def _table(head, rows, right=()):
    rows = [tuple(head)] + [tuple('-' if c is None else str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ['  '.join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def _seconds(value):
    if value is None:
        return '-'
    if value < 120:
        return '%.1f s' % value
    if value < 7200:
        return '%dm %02ds' % divmod(int(round(value)), 60)
    return '%dh %02dm' % (int(value // 3600), int(value % 3600 // 60))


def render_text(report):
    """The one-screen view of a :func:`gather` report."""
    lines = ['Sluice pipeline: %s (exit %d) at %s' % (report['status'].upper(), report['exit_status'],
                                                     report['checked_at']), '']
    lines.append('CONNECTORS')
    if report['connectors']:
        rows = []
        for c in report['connectors']:
            tasks = ', '.join('%s %s' % (t['id'], t['state']) for t in c['tasks']) or 'no tasks'
            rows.append((c['name'], c['type'], c['state'], c['worker_id'], tasks))
        lines += ['  ' + line for line in _table(('name', 'type', 'state', 'worker', 'tasks'), rows)]
        for c in report['connectors']:
            if c['error']:
                lines.append('  ! %s: %s' % (c['name'], c['error']))
            for t in c['tasks']:
                if t['error']:
                    lines.append('  ! %s task %s on %s: %s' % (c['name'], t['id'], t['worker_id'], t['error']))
    else:
        lines.append('  ' + ('unknown (see errors)' if 'connectors' in report['errors'] else 'none'))
    lines.append('')
    lag = report['lag']
    if lag['source']:
        where = 'heartbeat row in PostgreSQL' if lag['source'] == 'postgresql' else HEARTBEAT_METRIC + ' (Prometheus)'
        limit = '' if lag['max_seconds'] is None else '; limit %s' % _seconds(lag['max_seconds'])
        lines.append('END-TO-END LAG  %s  (%s%s)' % (_seconds(lag['seconds']), where, limit))
    else:
        lines.append('END-TO-END LAG  not checked (give PostgreSQL or Prometheus)')
    lines.append('')
    if report['consumer_lag'] is not None:
        lines.append('SINK CONSUMER LAG')
        if report['consumer_lag']:
            lines += ['  ' + line for line in _table(
                ('table', 'topic', 'group', 'partitions', 'lag'),
                [(r['table'], r['topic'], r['group'], r['partitions'], r['lag']) for r in report['consumer_lag']],
                right=(3, 4))]
        else:
            lines.append('  no committed offsets')
        lines.append('')
    if report['dlq'] is not None:
        lines.append('DEAD-LETTER TOPICS')
        if report['dlq']:
            lines += ['  ' + line for line in _table(
                ('topic', 'messages'),
                [(r['topic'], r['messages'] if r['exists'] else 'missing') for r in report['dlq']], right=(1,))]
        else:
            lines.append('  none configured')
        lines.append('')
    if report.get('supervisor') is not None:
        sup = report['supervisor']
        lines.append('SUPERVISOR')
        lines += ['  %s %s' % (i['url'], 'unreachable: ' + i['error'] if i['error'] else
                               'active' if i['active'] else 'standby') for i in sup['instances']]
        quarantined = ', '.join('%s %d' % (c, n) for c, n in sorted(sup['quarantined'].items())) or 'none'
        lines.append('  quarantined records: %s (sluice-dlq list)' % quarantined)
        for b in sup['backoff']:
            lines.append('  back-off: %s task %s, %d restart(s), next wait %ss' % (
                b.get('connector'), b.get('task'), b.get('attempts', 0), b.get('delay_seconds')))
        if sup['actions']:
            lines += ['  ' + line for line in _table(
                ('time', 'action', 'connector', 'detail'),
                [(_dt.datetime.fromtimestamp(a['time'], _dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')
                  if isinstance(a['time'], (int, float)) else '-', a['action'], a['connector'], a['detail'])
                 for a in sup['actions']])]
        else:
            lines.append('  no action yet')
        lines.append('')
    if report['alerts_source']:
        lines.append('FIRING ALERTS (%s)' % report['alerts_source'].capitalize())
        if report['alerts']:
            lines += ['  ' + line for line in _table(
                ('alert', 'severity', 'since', 'summary'),
                [(a['name'], a['severity'], a['since'], a['summary']) for a in report['alerts']])]
        else:
            lines.append('  none' if 'alerts' not in report['errors'] else '  unknown (see errors)')
        lines.append('')
    if report['problems']:
        lines.append('PROBLEMS')
        lines += ['  - ' + p for p in report['problems']]
        lines.append('')
    if report['errors']:
        lines.append('ERRORS (could not read)')
        lines += ['  - %s: %s' % (k, v) for k, v in sorted(report['errors'].items())]
        lines.append('')
    return '\n'.join(lines).rstrip() + '\n'


def json_text(report):
    return json.dumps(report, indent=2, sort_keys=False) + '\n'


# --- HTTP ---------------------------------------------------------------------------------------------------------
def make_get_json(timeout=30, validate_certs=True, ca_path=None, url_username=None, url_password=None):
    """``get_json(url, params)`` over ``ansible.module_utils.urls.open_url``; errors become :class:`StatusError`
    naming the URL without credentials."""
    from ansible.module_utils.urls import open_url

    def get_json(url, params):
        full = url + ('?' + urllib.parse.urlencode(params) if params else '')
        shown = re.sub(r'//[^/@]*@', '//', url)
        try:
            response = open_url(full, method='GET', timeout=timeout, validate_certs=validate_certs, ca_path=ca_path,
                                url_username=url_username, url_password=url_password,
                                force_basic_auth=bool(url_username), headers={'Accept': 'application/json'})
            return json.loads(response.read().decode('utf-8'))
        except Exception as e:
            body = ''
            read = getattr(e, 'read', None)
            if read is not None:
                try:
                    body = json.loads(read().decode('utf-8')).get('error', '')
                except Exception:
                    body = ''
            raise StatusError('cannot read %s: %s%s' % (shown, getattr(e, 'reason', None) or e,
                                                         ' (%s)' % body if body else '')) from None
    return get_json
