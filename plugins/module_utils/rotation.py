# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Capture-instance rotation after a schema change (pure state machine, no I/O).

SQL Server does not change a capture instance when its table changes; the change is picked up by a second capture
instance. Debezium's SQL Server connector reads a table's older change table until its position (commit LSN)
reaches the start LSN of the newer one, then switches to the newer one; only then can the old one be dropped.

States, in order::

    preflight -> apply_ddl -> create_new_instance -> wait_connector_switched -> drop_old_instance -> done

The state is never stored: :func:`current_state` derives it from what exists (the table's capture instances and
which is newer, whether the DDL is applied, the connector's committed LSN), so an interrupted rotation resumes
where it stopped when the playbook runs again.
"""

from __future__ import annotations

import re

STATES = ('preflight', 'apply_ddl', 'create_new_instance', 'wait_connector_switched', 'drop_old_instance', 'done')


class RotationError(Exception):
    """The rotation cannot start or continue; the message is meant for the operator."""


_DBZ_LSN = re.compile(r'^([0-9a-fA-F]{8}):([0-9a-fA-F]{8}):([0-9a-fA-F]{4})$')
_HEX_LSN = re.compile(r'^(?:0x)?([0-9a-fA-F]{20})$')


def lsn_value(lsn):
    """Comparable integer of an LSN given as SQL Server hex (``0x0000002A000001F00003``) or as Debezium writes it
    in offsets (``0000002a:000001f0:0003``). None stays None; anything else is a RotationError."""
    if lsn is None:
        return None
    text = str(lsn).strip()
    match = _DBZ_LSN.match(text)
    if match:
        return int(''.join(match.groups()), 16)
    match = _HEX_LSN.match(text)
    if match:
        return int(match.group(1), 16)
    raise RotationError('unrecognised LSN %r' % (lsn,))


def connector_lsn(offsets, database=None):
    """Highest ``commit_lsn``/``change_lsn`` in the source connector's offsets (Connect ``GET
    /connectors/<name>/offsets`` body or its ``offsets`` list), optionally only for ``database``. None when absent."""
    if isinstance(offsets, dict):
        offsets = offsets.get('offsets') or []
    best = None
    for entry in offsets or []:
        partition = entry.get('partition') or {}
        if database and partition.get('database') not in (None, database):
            continue
        offset = entry.get('offset') or {}
        for key in ('commit_lsn', 'change_lsn'):
            value = lsn_value(offset.get(key))
            if value is not None and (best is None or value > best[0]):
                best = (value, offset.get(key))
    return best[1] if best else None


def switched(connector_position, new_start_lsn):
    """True when the connector's committed position is at or past the new capture instance's start LSN."""
    pos, start = lsn_value(connector_position), lsn_value(new_start_lsn)
    return pos is not None and start is not None and pos >= start


def current_state(facts):
    """The state the rotation is in. ``facts``:

    - ``table``: ``schema.table``; ``new_instance``: name of the capture instance to rotate to;
    - ``instances``: the table's capture instances (``capture_instance``, ``start_lsn``), oldest first;
    - ``ddl_applied``: whether the schema change is in place; ``connector_lsn``: the connector's committed LSN or None.

    Returns a dict: ``state``, ``old_instance``, ``new_instance``, ``new_start_lsn``, ``msg``.
    Raises RotationError when the rotation must not start or cannot continue.
    """
    table, new = facts['table'], facts['new_instance']
    instances = list(facts.get('instances') or [])
    names = [i['capture_instance'] for i in instances]
    out = {'table': table, 'new_instance': new, 'old_instance': None, 'new_start_lsn': None}
    if not instances:
        raise RotationError('table %s has no capture instance: enable CDC on it (sqlserver_source role) before a '
                            'schema-change rotation' % table)
    lowered = [n.lower() for n in names]
    if new.lower() not in lowered:
        if len(instances) >= 2:
            raise RotationError('table %s already has two capture instances (%s): a previous rotation is unfinished. '
                                'Run it to the end with schema_change_new_instance set to the newer one, or drop one '
                                'instance, before starting another' % (table, ', '.join(names)))
        out['old_instance'] = names[0]
        if not facts.get('ddl_applied'):
            return dict(out, state='apply_ddl', msg='apply the schema change (DDL) to %s' % table)
        return dict(out, state='create_new_instance', msg='create capture instance %s on %s' % (new, table))
    index = lowered.index(new.lower())
    new_info = instances[index]
    out['new_start_lsn'] = new_info.get('start_lsn')
    if len(instances) == 1:
        return dict(out, state='done', msg='%s is captured by %s only' % (table, names[0]))
    if index != len(instances) - 1:
        raise RotationError('capture instance %s of %s is the older of the two (%s); the rotation goes to the newer one'
                            % (new, table, ', '.join(names)))
    out['old_instance'] = names[0]
    if switched(facts.get('connector_lsn'), new_info.get('start_lsn')):
        return dict(out, state='drop_old_instance', msg='connector at %s has passed start LSN %s of %s: drop %s'
                    % (facts.get('connector_lsn'), new_info.get('start_lsn'), new, names[0]))
    return dict(out, state='wait_connector_switched',
                msg='waiting for the connector (at %s) to reach start LSN %s of %s'
                % (facts.get('connector_lsn') or 'unknown', new_info.get('start_lsn') or 'unknown', new))


def remaining_steps(state):
    """Steps still to run from ``state`` (preflight always runs first: it only checks)."""
    if state not in STATES:
        raise RotationError('unknown rotation state %r' % (state,))
    rest = list(STATES[STATES.index(state):])
    return rest if rest[0] == 'preflight' else ['preflight'] + rest


STEP_TEXT = {
    'preflight': 'check the table has one capture instance (or is mid-rotation) and nothing blocks the rotation',
    'apply_ddl': 'apply the schema change to {table}: schema_change_ddl in one transaction with the marker '
                 '(extended property sluice_schema_change = {new!r}), or your migration tool and then '
                 'schema_change_ddl_applied=true',
    'create_new_instance': 'EXEC sys.sp_cdc_enable_table @source_schema = {schema!r}, @source_name = {name!r}, '
                           '@role_name = {role}, @capture_instance = {new!r}, @supports_net_changes = 0',
    'wait_connector_switched': "wait until the connector's committed LSN >= start LSN of {new} (heartbeats move it)",
    'drop_old_instance': 'EXEC sys.sp_cdc_disable_table @source_schema = {schema!r}, @source_name = {name!r}, '
                         '@capture_instance = {old!r}',
    'done': '{table} is captured by {new} only',
}


def describe(result, role_name=None):
    """One line per remaining step, for the dry run."""
    schema, _, name = result['table'].partition('.')
    values = {'table': result['table'], 'schema': schema, 'name': name, 'new': result['new_instance'],
              'old': result['old_instance'] or '(old instance)', 'role': repr(role_name) if role_name else 'NULL'}
    lines = []
    for step in remaining_steps(result['state']):
        marker = '->' if step == result['state'] else '  '
        lines.append('%s %s: %s' % (marker, step, STEP_TEXT[step].format(**values)))
    return lines
