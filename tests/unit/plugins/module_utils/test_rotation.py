# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the capture-instance rotation state machine (module_utils/rotation.py): every state, every
refusal, resuming after an interruption at each point, LSN handling and the dry-run text."""

from __future__ import annotations

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import rotation
from ansible_collections.sluice.cdc.plugins.module_utils.rotation import RotationError, current_state

OLD = {'capture_instance': 'dbo_orders', 'start_lsn': '0x0000002A000001F00003'}
NEW = {'capture_instance': 'dbo_orders_v2', 'start_lsn': '0x0000003000000A100001'}


def facts(instances, ddl=False, lsn=None, new='dbo_orders_v2'):
    return {'table': 'dbo.orders', 'new_instance': new, 'instances': instances, 'ddl_applied': ddl,
            'connector_lsn': lsn}


def test_states_order():
    assert rotation.STATES == ('preflight', 'apply_ddl', 'create_new_instance', 'wait_connector_switched',
                               'drop_old_instance', 'done')


def test_apply_ddl_first():
    s = current_state(facts([OLD]))
    assert (s['state'], s['old_instance'], s['new_start_lsn']) == ('apply_ddl', 'dbo_orders', None)


def test_create_new_instance_after_ddl():
    assert current_state(facts([OLD], ddl=True))['state'] == 'create_new_instance'


@pytest.mark.parametrize('lsn', [None, '0000002f:ffffffff:ffff', '0x0000003000000A100000'])
def test_wait_until_the_connector_reaches_the_new_start_lsn(lsn):
    s = current_state(facts([OLD, NEW], ddl=True, lsn=lsn))
    assert s['state'] == 'wait_connector_switched' and s['new_start_lsn'] == NEW['start_lsn']


@pytest.mark.parametrize('lsn', ['00000030:00000a10:0001', '00000031:00000000:0000', '0x0000003000000A100002'])
def test_drop_old_instance_once_switched(lsn):
    s = current_state(facts([OLD, NEW], lsn=lsn))
    assert (s['state'], s['old_instance']) == ('drop_old_instance', 'dbo_orders')


def test_done_when_only_the_new_instance_is_left():
    assert current_state(facts([NEW]))['state'] == 'done'


def test_refuses_to_start_with_two_instances():
    other = {'capture_instance': 'dbo_orders_x', 'start_lsn': '0x01'}
    with pytest.raises(RotationError) as exc:
        current_state(facts([OLD, other]))
    assert str(exc.value).startswith('table dbo.orders already has two capture instances (dbo_orders, dbo_orders_x): '
                                     'a previous rotation is unfinished')


def test_refuses_a_table_without_cdc():
    with pytest.raises(RotationError, match='has no capture instance'):
        current_state(facts([]))


def test_refuses_when_the_named_instance_is_the_older_one():
    with pytest.raises(RotationError, match='is the older of the two'):
        current_state(facts([OLD, NEW], new='dbo_orders'))


def test_resume_after_interruption_at_every_point():
    """Each run re-reads the world; interrupting anywhere and running again continues from the same place."""
    world = {'instances': [OLD], 'ddl': False, 'lsn': '0000002a:00000300:0001'}
    seen = []
    for _ in range(10):
        s = current_state(facts(world['instances'], ddl=world['ddl'], lsn=world['lsn']))
        seen.append(s['state'])
        # an interruption before the action is applied: the next run reports the same state
        assert current_state(facts(world['instances'], ddl=world['ddl'], lsn=world['lsn']))['state'] == s['state']
        if s['state'] == 'apply_ddl':
            world['ddl'] = True
        elif s['state'] == 'create_new_instance':
            world['instances'] = [OLD, NEW]
        elif s['state'] == 'wait_connector_switched':
            world['lsn'] = '00000030:00000a10:0005'  # heartbeats moved the connector past the new start LSN
        elif s['state'] == 'drop_old_instance':
            world['instances'] = [NEW]
        else:
            break
    assert seen == ['apply_ddl', 'create_new_instance', 'wait_connector_switched', 'drop_old_instance', 'done']
    # a rerun after completion stays done
    assert current_state(facts([NEW], ddl=False))['state'] == 'done'


def test_remaining_steps():
    assert rotation.remaining_steps('preflight') == list(rotation.STATES)
    assert rotation.remaining_steps('wait_connector_switched') == [
        'preflight', 'wait_connector_switched', 'drop_old_instance', 'done']
    with pytest.raises(RotationError, match='unknown rotation state'):
        rotation.remaining_steps('nope')


def test_describe_dry_run_prints_every_step():
    lines = rotation.describe(current_state(facts([OLD])), role_name='cdc_reader')
    assert lines == [
        '   preflight: check the table has one capture instance (or is mid-rotation) and nothing blocks the rotation',
        "-> apply_ddl: apply the schema change to dbo.orders: schema_change_ddl in one transaction with the marker "
        "(extended property sluice_schema_change = 'dbo_orders_v2'), or your migration tool and then "
        "schema_change_ddl_applied=true",
        "   create_new_instance: EXEC sys.sp_cdc_enable_table @source_schema = 'dbo', @source_name = 'orders', "
        "@role_name = 'cdc_reader', @capture_instance = 'dbo_orders_v2', @supports_net_changes = 0",
        "   wait_connector_switched: wait until the connector's committed LSN >= start LSN of dbo_orders_v2 "
        "(heartbeats move it)",
        "   drop_old_instance: EXEC sys.sp_cdc_disable_table @source_schema = 'dbo', @source_name = 'orders', "
        "@capture_instance = 'dbo_orders'",
        '   done: dbo.orders is captured by dbo_orders_v2 only']
    assert '@role_name = NULL' in rotation.describe(current_state(facts([OLD], ddl=True)))[1]
    assert rotation.describe(current_state(facts([NEW]))) == [
        '   preflight: check the table has one capture instance (or is mid-rotation) and nothing blocks the rotation',
        '-> done: dbo.orders is captured by dbo_orders_v2 only']


@pytest.mark.parametrize('text, value', [('0000002a:000001f0:0003', 0x0000002A000001F00003),
                                         ('0x0000002A000001F00003', 0x0000002A000001F00003),
                                         ('0000002A000001F00003', 0x0000002A000001F00003), (None, None)])
def test_lsn_value(text, value):
    assert rotation.lsn_value(text) == value


def test_lsn_value_rejects_garbage():
    with pytest.raises(RotationError, match="unrecognised LSN 'NULL'"):
        rotation.lsn_value('NULL')


def test_connector_lsn_from_connect_offsets():
    body = {'offsets': [
        {'partition': {'server': 'sluice', 'database': 'other'}, 'offset': {'commit_lsn': 'ffffffff:00000000:0000'}},
        {'partition': {'server': 'sluice', 'database': 'sluice_demo'},
         'offset': {'commit_lsn': '00000030:00000a10:0001', 'change_lsn': '00000030:00000a08:0002',
                    'event_serial_no': 1}}]}
    assert rotation.connector_lsn(body, 'sluice_demo') == '00000030:00000a10:0001'
    assert rotation.connector_lsn(body['offsets']) == 'ffffffff:00000000:0000'
    assert rotation.connector_lsn({'offsets': []}) is None
    assert rotation.connector_lsn(None) is None
    assert rotation.connector_lsn([{'partition': {}, 'offset': {'change_lsn': '00000001:00000002:0003'}}]) == '00000001:00000002:0003'


def test_switched():
    assert rotation.switched('00000030:00000a10:0001', NEW['start_lsn'])
    assert not rotation.switched(None, NEW['start_lsn'])
    assert not rotation.switched('00000030:00000a10:0001', None)
