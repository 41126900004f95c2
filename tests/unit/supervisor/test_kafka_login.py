"""The supervisor's Kafka login: the security keys checked by --check-config already, and the start-up log line that
names the confluent-kafka / librdkafka the service runs with (and warns when that librdkafka fails SCRAM logins)."""
import importlib.machinery
import importlib.util
import io
import json
import pathlib
import sys

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import config as cfg, loop

ROOT = pathlib.Path(__file__).resolve().parents[3]
SASL = {'kafka_bootstrap_servers': 'kafka-1:9093', 'kafka_security_protocol': 'SASL_SSL',
        'kafka_sasl_mechanism': 'SCRAM-SHA-512', 'kafka_sasl_username': 'supervisor',
        'kafka_sasl_password_file': '/etc/sluice-supervisor/kafka_password', 'kafka_ssl_ca_file': '/etc/ssl/sluice/ca.crt'}


class FakeConfluentKafka:
    __file__ = '/opt/sluice-supervisor/lib/confluent-kafka-2.16.1/confluent_kafka/__init__.py'

    def __init__(self, version='2.16.1', lib='2.16.0'):
        self._version, self._lib = version, lib

    def version(self):  # 1.x: (text, int); 2.x: the text alone
        return (self._version, 0x010700) if self._version.startswith('1.') else self._version

    def libversion(self):
        return (self._lib, 0x021000ff)


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_check_config_refuses_sasl_keys_without_a_sasl_protocol_and_keys_given_twice():
    assert cfg.validate(SASL)['kafka_sasl_username'] == 'supervisor'
    with pytest.raises(cfg.ConfigError, match='need security protocol SASL_SSL or SASL_PLAINTEXT, not PLAINTEXT'):
        cfg.validate(dict(SASL, kafka_security_protocol='PLAINTEXT'))
    with pytest.raises(cfg.ConfigError, match='sets security.protocol, which kafka_security_protocol sets'):
        cfg.validate(dict(SASL, kafka_config={'security.protocol': 'SASL_SSL'}))
    # The older way, every security key inside kafka_config, still validates.
    assert cfg.validate({'kafka_bootstrap_servers': 'k', 'kafka_config': {'security.protocol': 'SASL_SSL'}})


def test_the_password_is_read_from_its_file_only_when_a_client_is_built(tmp_path):
    c = cfg.validate(dict(SASL, kafka_sasl_password_file=str(tmp_path / 'kafka_password')))  # no file yet: valid
    (tmp_path / 'kafka_password').write_text('s3cret\n')
    assert cfg.kafka_client_config(c) == {
        'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'supervisor',
        'sasl.password': 's3cret', 'ssl.ca.location': '/etc/ssl/sluice/ca.crt',
        'ssl.endpoint.identification.algorithm': 'https'}


def test_start_up_line_names_the_client_library_and_the_login():
    out = io.StringIO()
    versions = loop.log_kafka_client(loop.json_logger(out), cfg.validate(SASL), module=FakeConfluentKafka())
    assert versions['confluent_kafka'] == '2.16.1' and versions['librdkafka'] == '2.16.0'
    (line,) = lines(out)
    assert line['event'] == 'kafka_client'
    assert {k: line[k] for k in ('confluent_kafka', 'librdkafka', 'path', 'security_protocol', 'sasl_mechanism')} == {
        'confluent_kafka': '2.16.1', 'librdkafka': '2.16.0', 'security_protocol': 'SASL_SSL',
        'sasl_mechanism': 'SCRAM-SHA-512', 'path': '/opt/sluice-supervisor/lib/confluent-kafka-2.16.1/confluent_kafka'}


@pytest.mark.parametrize('lib, protocol, warned', [
    ('2.0.2', 'SASL_SSL', True),          # Debian bookworm's python3-confluent-kafka 1.7.0
    ('2.6.0', 'SASL_PLAINTEXT', True),
    ('2.6.1', 'SASL_SSL', False),
    ('2.16.0', 'SASL_SSL', False),
    ('2.0.2', 'PLAINTEXT', False),        # no SCRAM login, no warning
])
def test_a_librdkafka_that_fails_scram_logins_is_named(lib, protocol, warned):
    out = io.StringIO()
    config = dict(SASL, kafka_security_protocol=protocol)
    if protocol == 'PLAINTEXT':
        config = {'kafka_bootstrap_servers': 'k', 'kafka_security_protocol': 'PLAINTEXT'}
    loop.log_kafka_client(loop.json_logger(out), cfg.validate(config), module=FakeConfluentKafka('1.7.0', lib))
    events = [line['event'] for line in lines(out)]
    assert events == (['kafka_client', 'kafka_client_too_old'] if warned else ['kafka_client'])
    if warned:
        assert 'confluentinc/librdkafka#4895' in lines(out)[1]['message']


def test_the_security_keys_of_kafka_config_count_too():
    out = io.StringIO()
    config = cfg.validate({'kafka_bootstrap_servers': 'k',
                           'kafka_config': {'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-256'}})
    loop.log_kafka_client(loop.json_logger(out), config, module=FakeConfluentKafka('1.7.0', '2.0.2-RC1'))
    first, warning = lines(out)
    assert first['security_protocol'] == 'SASL_SSL' and first['sasl_mechanism'] == 'SCRAM-SHA-256'
    assert warning['event'] == 'kafka_client_too_old' and warning['librdkafka'] == '2.0.2-RC1'


def test_without_confluent_kafka_the_line_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, 'confluent_kafka', None)  # import raises ImportError
    out = io.StringIO()
    loop.log_kafka_client(loop.json_logger(out), cfg.validate({'kafka_bootstrap_servers': 'k'}))
    (line,) = lines(out)
    assert line['confluent_kafka'] is None and line['librdkafka'] is None and 'confluent_kafka' in line['error']
    assert line['security_protocol'] == 'PLAINTEXT'


def test_the_real_library_is_reported():
    versions = loop.kafka_client_versions()
    import confluent_kafka
    assert versions == {'confluent_kafka': confluent_kafka.__version__, 'librdkafka': confluent_kafka.libversion()[0],
                        'path': str(pathlib.Path(confluent_kafka.__file__).parent)}
    assert versions['confluent_kafka'].count('.') == 2 and versions['librdkafka'].count('.') == 2


def test_the_service_logs_the_versions_before_it_builds_any_client(tmp_path, monkeypatch, capsys):
    loader = importlib.machinery.SourceFileLoader('sluice_supervisor_cli_login',
                                                  str(ROOT / 'scripts' / 'sluice-supervisor'))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    cli = importlib.util.module_from_spec(spec)
    loader.exec_module(cli)

    def build(config, log):
        raise RuntimeError('stop here')
    monkeypatch.setattr(cli, 'build', build)
    conf = tmp_path / 'c.yml'
    conf.write_text('kafka_bootstrap_servers: k:9092\nkafka_security_protocol: PLAINTEXT\n')
    with pytest.raises(RuntimeError, match='stop here'):
        cli.main(['--config', str(conf)])
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line['event'] == 'kafka_client' and line['librdkafka'] and line['security_protocol'] == 'PLAINTEXT'
