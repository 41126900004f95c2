"""Config validation (the service's --check-config) and the Prometheus exposition."""
import importlib.machinery
import importlib.util
import pathlib
import urllib.request

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import config as cfg, metrics

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_defaults_and_policies():
    c = cfg.validate({'kafka_bootstrap_servers': 'k:9092',
                      'connectors': [{'name': 'sink', 'quarantine': 'auto'}, {'name': 'src', 'quarantine': False}]})
    assert c['poll_interval'] == 10.0 and c['leader_mode'] == 'kafka' and c['dlq_topic'] == 'sluice.dlq'
    assert cfg.policy(c, 'sink') == 'auto' and cfg.policy(c, 'src') == 'off' and cfg.policy(c, 'other') == 'off'
    assert cfg.validate({'kafka_bootstrap_servers': 'k', 'backoff_initial': 5})['backoff_initial'] == 5.0


@pytest.mark.parametrize('data, message', [
    ({}, 'kafka_bootstrap_servers is required'),
    ([], 'mapping'),
    ({'kafka_bootstrap_servers': 'k', 'bogus': 1}, 'unknown option'),
    ({'kafka_bootstrap_servers': 'k', 'poll_interval': 'x'}, 'poll_interval must be of type float'),
    ({'kafka_bootstrap_servers': 'k', 'metrics_port': True}, 'metrics_port must be of type int'),
    ({'kafka_bootstrap_servers': 'k', 'connect_url': 'ftp://x'}, 'connect_url'),
    ({'kafka_bootstrap_servers': 'k', 'poll_interval': 0}, 'positive'),
    ({'kafka_bootstrap_servers': 'k', 'backoff_multiplier': 0.5}, 'at least 1'),
    ({'kafka_bootstrap_servers': 'k', 'backoff_max': 1}, 'backoff_max'),
    ({'kafka_bootstrap_servers': 'k', 'metrics_port': 70000}, 'TCP port'),
    ({'kafka_bootstrap_servers': 'k', 'leader_mode': 'x'}, 'leader_mode'),
    ({'kafka_bootstrap_servers': 'k', 'default_quarantine': 'x'}, 'default_quarantine'),
    ({'kafka_bootstrap_servers': 'k', 'quarantine_window': -1}, 'quarantine_window'),
    ({'kafka_bootstrap_servers': 'k', 'connectors': ['x']}, 'needs a name'),
    ({'kafka_bootstrap_servers': 'k', 'connectors': [{'name': 'a', 'x': 1}]}, 'unknown key'),
    ({'kafka_bootstrap_servers': 'k', 'connectors': [{'name': 'a', 'quarantine': 'maybe'}]}, 'auto or off'),
    ({'kafka_bootstrap_servers': 'k', 'connectors': [{'name': 'a'}, {'name': 'a'}]}, 'twice'),
])
def test_invalid(data, message):
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.validate(data)


def test_files_and_secrets(tmp_path):
    secret = tmp_path / 'kafka.yml'
    secret.write_text('sasl.password: s3cret\n')
    pw = tmp_path / 'pw'
    pw.write_text('hunter22\n')
    conf = tmp_path / 'c.yml'
    conf.write_text('kafka_bootstrap_servers: k:9092\nkafka_config: {security.protocol: SASL_SSL}\n'
                    'kafka_config_file: %s\nconnect_username: u\nconnect_password_file: %s\n' % (secret, pw))
    c = cfg.load(str(conf))
    assert cfg.kafka_client_config(c) == {'security.protocol': 'SASL_SSL', 'sasl.password': 's3cret'}
    client = cfg.connect_client(c)
    assert client.url_username == 'u' and client.url_password == 'hunter22'
    with pytest.raises(cfg.ConfigError, match='cannot read'):
        cfg.load(str(tmp_path / 'missing.yml'))
    (tmp_path / 'bad.yml').write_text('a: [')
    with pytest.raises(cfg.ConfigError, match='YAML'):
        cfg.load(str(tmp_path / 'bad.yml'))
    secret.write_text('- a\n')
    with pytest.raises(cfg.ConfigError, match='mapping'):
        cfg.kafka_client_config(c)


def test_check_config_cli(tmp_path, capsys):
    loader = importlib.machinery.SourceFileLoader('sluice_supervisor_cli', str(ROOT / 'scripts' / 'sluice-supervisor'))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    cli = importlib.util.module_from_spec(spec)
    loader.exec_module(cli)
    conf = tmp_path / 'c.yml'
    conf.write_text('kafka_bootstrap_servers: k:9092\n')
    assert cli.main(['--config', str(conf), '--check-config']) == 0
    conf.write_text('kafka_bootstrap_servers: k:9092\npoll_interval: -1\n')
    assert cli.main(['--config', str(conf), '--check-config']) == 2
    assert 'poll_interval must be positive' in capsys.readouterr().err


def test_exposition_and_http():
    m = metrics.Metrics()
    m.set('sluice_supervisor_up', 1)
    m.inc('sluice_supervisor_task_restarts_total', connector='s', task='0', cause='transient')
    m.inc('sluice_supervisor_task_restarts_total', connector='s', task='0', cause='transient')
    m.set('sluice_supervisor_backoff_seconds', 2.5, connector='s"x', task='0')
    text = m.render()
    assert 'sluice_supervisor_up 1\n' in text
    assert 'sluice_supervisor_task_restarts_total{cause="transient",connector="s",task="0"} 2\n' in text
    assert 'sluice_supervisor_backoff_seconds{connector="s\\"x",task="0"} 2.5\n' in text
    assert '# TYPE sluice_supervisor_task_restarts_total counter' in text
    m.remove('sluice_supervisor_up')
    assert m.get('sluice_supervisor_up') == 0.0
    server = metrics.serve(m, '127.0.0.1', 0)
    try:
        port = server.server_address[1]
        body = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5).read().decode()
        assert 'sluice_supervisor_task_restarts_total' in body
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen('http://127.0.0.1:%d/nope' % port, timeout=5)
    finally:
        server.shutdown()


def test_kafka_security_keys(tmp_path):
    pw = tmp_path / 'kafka_password'
    pw.write_text('sup-secret\n')
    c = cfg.validate({'kafka_bootstrap_servers': 'k:9093', 'kafka_security_protocol': 'SASL_SSL',
                      'kafka_sasl_mechanism': 'SCRAM-SHA-512', 'kafka_sasl_username': 'supervisor',
                      'kafka_sasl_password_file': str(pw), 'kafka_ssl_ca_file': '/etc/sluice/ca.pem',
                      'kafka_config': {'client.id': 'sup'}})
    assert c['kafka_ssl_check_hostname'] is True
    assert cfg.kafka_client_config(c) == {
        'client.id': 'sup', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512',
        'sasl.username': 'supervisor', 'sasl.password': 'sup-secret', 'ssl.ca.location': '/etc/sluice/ca.pem',
        'ssl.endpoint.identification.algorithm': 'https'}
    clash = dict(c, kafka_config={'sasl.username': 'other'})
    with pytest.raises(cfg.ConfigError, match='kafka_client_config sets sasl.username, which kafka_sasl_username'):
        cfg.kafka_client_config(clash)
    with pytest.raises(cfg.ConfigError, match='cannot read kafka_sasl_password_file'):
        cfg.kafka_client_config(dict(c, kafka_sasl_password_file=str(tmp_path / 'missing')))


@pytest.mark.parametrize('key, value, message', [
    ('kafka_security_protocol', 'TLS', 'kafka_security_protocol must be one of PLAINTEXT, SSL'),
    ('kafka_sasl_mechanism', 'GSSAPI', 'kafka_sasl_mechanism must be one of SCRAM-SHA-512'),
    ('kafka_ssl_check_hostname', 'no', 'kafka_ssl_check_hostname must be of type bool'),
])
def test_kafka_security_key_errors(key, value, message):
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.validate({'kafka_bootstrap_servers': 'k', key: value})
