"""sluice-dlq logic: list, show, replay (newer-event refusal, --force, markers, --dry-run) and the CLI."""
import importlib.machinery
import importlib.util
import io
import json
import pathlib

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import dlq

from supervisor_fakes import FakeRecords

ROOT = pathlib.Path(__file__).resolve().parents[3]


def load_cli(name):
    loader = importlib.machinery.SourceFileLoader(name.replace('-', '_'), str(ROOT / 'scripts' / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def world():
    records = FakeRecords()
    records.topics['dlq'] = {0: [], 1: []}
    for i in range(4):
        records.add('t', 0, b'{"id":%d}' % (i % 2), b'{"payload":{"after":{"id":%d}}}' % i, [('orig', b'1')])
    bad = records.scan('t', 0, 3, 4)[0]           # key 1, nothing newer
    old = records.scan('t', 0, 0, 1)[0]           # key 0, newer event at offset 2
    for rec, err in ((bad, 'ERROR: value too long'), (old, 'ERROR: invalid input syntax')):
        records.produce('dlq', rec['key'], rec['value'], dlq.quarantine_headers(rec, 'sink', err, '22001', now=100.0))
    records.add('dlq', 1, None, b'not json', [('__connect.errors.topic', b't'), ('__connect.errors.partition', b'0'),
                                             ('__connect.errors.offset', b'1'),
                                             ('__connect.errors.exception.message', b'Converting failed')])
    return records


def test_entries_table_and_show():
    rows = dlq.entries(dlq.read_all(world(), 'dlq'))
    assert [(r['id'], r['kind'], r['offset']) for r in rows] == [('0:0', 'quarantine', 3), ('0:1', 'quarantine', 0),
                                                                  ('1:0', 'connect', 1)]
    text = dlq.table(rows)
    assert 't[0]@3' in text and 'quarantined' in text and 'ERROR: value too long' in text
    shown = dlq.show(dlq.select(rows, '0:0'))
    assert 'sluice.quarantine.offset: 3' in shown and '"after": {' in shown and 'orig: 1' in shown
    assert '(null)' in dlq.show(dlq.select(rows, '1:0'))
    with pytest.raises(LookupError, match='several'):
        dlq.select(rows, '0')
    with pytest.raises(LookupError, match='no DLQ record'):
        dlq.select(rows, '7:7')
    assert dlq.select(rows, '1')['id'] == '0:1'


def test_replay_refuses_newer_events_and_marks_replayed():
    records = world()
    rows = dlq.entries(dlq.read_all(records, 'dlq'))
    chosen = [dlq.select(rows, '0:0'), dlq.select(rows, '0:1')]
    plan = dlq.plan_replay(records, chosen)
    assert [v for _r, v, _why in plan] == ['replay', 'refuse']
    assert 'newer event' in plan[1][2] and 'offset 2' in plan[1][2]
    dry = dlq.replay(records, 'dlq', plan, dry_run=True)
    assert [v for _r, v, _ in dry] == ['would replay', 'refuse'] and len(records.topics['t'][0]) == 4
    done = dlq.replay(records, 'dlq', plan, now=200.0)
    assert done[0][1] == 'replayed'
    back = records.topics['t'][0][-1]
    assert back['key'] == b'{"id":1}' and back['headers'] == [('orig', b'1')], 'original headers only'
    rows = dlq.entries(dlq.read_all(records, 'dlq'))
    assert dlq.select(rows, '0:0')['replayed'] and len(rows) == 3, 'the marker is not listed'
    again = dlq.plan_replay(records, [dlq.select(rows, '0:0')])
    assert again[0][1] == 'refuse' and 'already replayed' in again[0][2]
    forced = dlq.plan_replay(records, [dlq.select(rows, '0:1')], force=True)
    assert forced[0][1] == 'replay' and '--force' in forced[0][2]


def test_cli_list_show_replay(capsys):
    cli = load_cli('sluice-dlq')
    records = world()
    out = io.StringIO()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'list'], records=records, out=out) == 0
    assert '0:0' in out.getvalue()
    out = io.StringIO()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'list', '--json'], records=records, out=out) == 0
    assert json.loads(out.getvalue())[0]['offset'] == 3
    out = io.StringIO()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'show', '0:0'], records=records, out=out) == 0
    out = io.StringIO()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'replay', '--all', '--dry-run'],
                    records=records, out=out) == 1
    assert 'would replay' in out.getvalue() and 'refuse' in out.getvalue()
    out = io.StringIO()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'replay', '0:0'], records=records, out=out) == 0
    assert 'replayed' in out.getvalue()
    assert cli.main(['--bootstrap', 'k:9092', '--dlq-topic', 'dlq', 'show', '9:9'], records=records, out=out) == 2
    assert 'no DLQ record' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(['--bootstrap', 'k:9092', 'replay'], records=records, out=out)


def test_cli_reads_the_supervisor_config(tmp_path):
    cli = load_cli('sluice-dlq')
    conf = tmp_path / 'c.yml'
    conf.write_text('kafka_bootstrap_servers: k:9092\ndlq_topic: dlq\n')
    out = io.StringIO()
    assert cli.main(['--config', str(conf), 'list'], records=world(), out=out) == 0
    conf.write_text('nonsense: 1\n')
    assert cli.main(['--config', str(conf), 'list'], records=world(), out=out) == 2


def test_cli_kafka_security_flags_override_the_config(tmp_path):
    cli = load_cli('sluice-dlq')
    conf = tmp_path / 'c.yml'
    conf.write_text('kafka_bootstrap_servers: k:9092\nkafka_security_protocol: SASL_SSL\nkafka_sasl_username: a\n')
    pw = tmp_path / 'pw'
    pw.write_text('dlq-secret\n')
    args = cli.parse_args(['--config', str(conf), '--kafka-sasl-username', 'b', '--kafka-sasl-password-file', str(pw),
                           '--kafka-sasl-mechanism', 'SCRAM-SHA-256', '--no-kafka-ssl-check-hostname', 'list'])
    data = cli.settings(args)
    assert (data['kafka_sasl_username'], data['kafka_sasl_password_file']) == ('b', str(pw))
    from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import config as cfg
    assert cfg.kafka_client_config(data) == {
        'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.username': 'b',
        'sasl.password': 'dlq-secret', 'ssl.endpoint.identification.algorithm': 'none'}
