# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Records in the dead-letter topic: the headers a quarantined copy carries, reading the DLQ, and the logic of
``sluice-dlq list | show | replay``.

A quarantined record is the original key, value and headers plus ``sluice.quarantine.*`` headers naming where it
came from. Connect's own DLQ entries (converter errors) carry ``__connect.errors.*`` headers and are listed too.
A replay writes the original key, value and headers back to the origin topic, then a marker record (no key, no
value, header ``sluice.replayed.of``) into the DLQ, so that ``list`` shows it as replayed and a second replay is
refused.
"""

from __future__ import annotations

import json
import time

PREFIX = 'sluice.quarantine.'
H_TOPIC, H_PARTITION, H_OFFSET = PREFIX + 'topic', PREFIX + 'partition', PREFIX + 'offset'
H_CONNECTOR, H_ERROR, H_SQLSTATE, H_TIME = (PREFIX + 'connector', PREFIX + 'error', PREFIX + 'sqlstate',
                                             PREFIX + 'time')
H_REPLAYED_OF, H_REPLAYED_TIME = 'sluice.replayed.of', 'sluice.replayed.time'
CONNECT_PREFIX = '__connect.errors.'


def _text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return str(value)


def header(record, name):
    """The last value of header ``name`` as text, or ``None``."""
    found = None
    for key, value in record.get('headers') or []:
        if key == name:
            found = _text(value)
    return found


def quarantine_headers(record, connector, error, sqlstate=None, now=None):
    """The original headers of ``record`` followed by the ``sluice.quarantine.*`` headers."""
    added = [(H_TOPIC, record['topic']), (H_PARTITION, str(record['partition'])), (H_OFFSET, str(record['offset'])),
             (H_CONNECTOR, connector), (H_ERROR, (error or '')[:1000]), (H_SQLSTATE, sqlstate or ''),
             (H_TIME, '%.3f' % (time.time() if now is None else now))]
    return list(record.get('headers') or []) + [(k, v.encode('utf-8')) for k, v in added]


def original_headers(record):
    return [(k, v) for k, v in record.get('headers') or [] if not k.startswith(PREFIX)]


def origin(record):
    """``(topic, partition, offset)`` a DLQ record came from, or ``None``."""
    topic = header(record, H_TOPIC)
    if topic is not None:
        return topic, int(header(record, H_PARTITION)), int(header(record, H_OFFSET))
    topic = header(record, CONNECT_PREFIX + 'topic')
    if topic is not None:
        try:
            return (topic, int(header(record, CONNECT_PREFIX + 'partition')),
                    int(header(record, CONNECT_PREFIX + 'offset')))
        except (TypeError, ValueError):
            return topic, None, None
    return None


def record_id(record):
    return '%d:%d' % (record['partition'], record['offset'])


def read_all(records, topic):
    """Every record of the DLQ topic, partition by partition."""
    out = []
    for partition in records.partitions(topic):
        low, _high = records.watermarks(topic, [partition])[partition]
        out.extend(records.scan(topic, partition, low))
    return out


def find_quarantined(dlq_records, topic, partition, offset):
    """The DLQ record that is already the quarantined copy of ``topic[partition]@offset``, or ``None``."""
    for rec in dlq_records:
        if header(rec, H_TOPIC) == topic and header(rec, H_PARTITION) == str(partition) \
                and header(rec, H_OFFSET) == str(offset):
            return rec
    return None


def entries(dlq_records):
    """One row per DLQ record (markers excluded), with ``replayed`` from the markers."""
    replayed = {}
    for rec in dlq_records:
        of = header(rec, H_REPLAYED_OF)
        if of:
            replayed[of] = header(rec, H_REPLAYED_TIME)
    rows = []
    for rec in dlq_records:
        if header(rec, H_REPLAYED_OF):
            continue
        where = origin(rec)
        quarantined = header(rec, H_TOPIC) is not None
        rows.append({
            'id': record_id(rec), 'record': rec,
            'kind': 'quarantine' if quarantined else ('connect' if where else 'other'),
            'topic': where[0] if where else None,
            'partition': where[1] if where else None,
            'offset': where[2] if where else None,
            'connector': header(rec, H_CONNECTOR) or header(rec, CONNECT_PREFIX + 'connector.name'),
            'error': header(rec, H_ERROR) or header(rec, CONNECT_PREFIX + 'exception.message'),
            'time': float(header(rec, H_TIME)) if quarantined and header(rec, H_TIME) else rec['timestamp'] / 1000.0,
            'replayed': record_id(rec) in replayed,
            'replayed_time': replayed.get(record_id(rec)),
        })
    rows.sort(key=lambda r: (r['time'] or 0, r['id']))
    return rows


def select(rows, ident):
    """The row named ``P:O`` or ``O`` (an offset unique across partitions)."""
    ident = str(ident)
    if ':' in ident:
        hits = [r for r in rows if r['id'] == ident]
    else:
        hits = [r for r in rows if r['id'].split(':')[1] == ident]
    if not hits:
        raise LookupError('no DLQ record %s' % ident)
    if len(hits) > 1:
        raise LookupError('offset %s is in several DLQ partitions: name it as PARTITION:OFFSET (%s)'
                          % (ident, ', '.join(r['id'] for r in hits)))
    return hits[0]


def _when(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds)) if seconds else '-'


def table(rows):
    """The ``list`` output."""
    head = ('ID', 'ORIGIN', 'CONNECTOR', 'TIME', 'STATE', 'ERROR')
    lines = [head]
    for r in rows:
        where = '%s[%s]@%s' % (r['topic'], r['partition'], r['offset']) if r['topic'] else '-'
        state = 'replayed' if r['replayed'] else ('quarantined' if r['kind'] == 'quarantine' else r['kind'])
        lines.append((r['id'], where, r['connector'] or '-', _when(r['time']), state,
                      (r['error'] or '-').replace('\n', ' ')[:80]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head) - 1)]
    return '\n'.join('  '.join(str(c).ljust(w) for c, w in zip(line[:-1], widths)) + '  ' + str(line[-1])
                     for line in lines)


def pretty(value):
    if value is None:
        return '(null)'
    text = _text(value)
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=False, ensure_ascii=False)
    except ValueError:
        return text


def show(row):
    rec = row['record']
    out = ['DLQ record %s (%s)' % (row['id'], 'replayed' if row['replayed'] else row['kind'])]
    out.append('headers:')
    for key, value in rec.get('headers') or []:
        out.append('  %s: %s' % (key, _text(value)))
    out.append('key:')
    out.append(pretty(rec.get('key')))
    out.append('value:')
    out.append(pretty(rec.get('value')))
    return '\n'.join(out)


def newer_events(records, row):
    """Offsets of records after the quarantined one in its origin partition that have the same key."""
    rec = row['record']
    if rec.get('key') is None or row['offset'] is None:
        return []
    return [r['offset'] for r in records.scan(row['topic'], row['partition'], row['offset'] + 1)
            if r['key'] == rec['key']]


def plan_replay(records, rows, force=False):
    """``[(row, verdict, reason)]``: verdict ``replay`` or ``refuse``."""
    plan = []
    for row in rows:
        if row['replayed']:
            plan.append((row, 'refuse', 'already replayed (%s)' % row['replayed_time']))
        elif row['topic'] is None or row['partition'] is None:
            plan.append((row, 'refuse', 'has no origin topic'))
        elif row['kind'] != 'quarantine' and row['record'].get('value') is None:
            plan.append((row, 'refuse', 'has no value'))
        else:
            newer = newer_events(records, row)
            if newer and not force:
                plan.append((row, 'refuse', 'its key has %d newer event(s) in %s[%d] (first at offset %d): '
                                            'replaying would move the row back in time (--force to override)'
                             % (len(newer), row['topic'], row['partition'], newer[0])))
            else:
                plan.append((row, 'replay', 'newer events overridden by --force' if newer else 'no newer event'))
    return plan


def replay(records, dlq_topic, plan, dry_run=False, now=None):
    """Carry out a replay plan; returns ``[(row, verdict, reason)]`` with ``replayed``/``would replay``."""
    done = []
    for row, verdict, reason in plan:
        if verdict != 'replay':
            done.append((row, verdict, reason))
            continue
        if dry_run:
            done.append((row, 'would replay', reason))
            continue
        rec = row['record']
        partition, offset = records.produce(row['topic'], rec.get('key'), rec.get('value'),
                                            original_headers(rec), partition=row['partition'])
        records.produce(dlq_topic, None, None,
                        [(H_REPLAYED_OF, row['id'].encode()),
                         (H_REPLAYED_TIME, _when(time.time() if now is None else now).encode()),
                         ('sluice.replayed.to', ('%s:%d:%d' % (row['topic'], partition, offset)).encode())],
                        partition=rec['partition'])
        done.append((row, 'replayed', 'to %s[%d]@%d' % (row['topic'], partition, offset)))
    return done
