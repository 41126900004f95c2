# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The supervisor's options: the one schema, defaults and validation (used by the service, ``--check-config``,
``sluice-dlq`` and the role's ``validate:``). The file is YAML (or JSON); secrets are never in it, only paths of
files that hold them (``connect_password_file``, ``kafka_sasl_password_file``, ``kafka_config_file``). The Kafka
security keys (``kafka_security_protocol`` ... ``kafka_ssl_check_hostname``) are the options of the one Kafka layer
(module_utils/kafka_conn.py), prefixed ``kafka_``."""

from __future__ import annotations

import json
import os

from ..kafka_conn import KafkaConfigError, SASL_MECHANISMS, SECURITY_PROTOCOLS
from ..kafka_conn import client_config as kafka_layer_config

QUARANTINE_POLICIES = ('auto', 'off')
LEADER_MODES = ('kafka', 'always')

# name: (type, default). Types: str, int, float, bool, dict, list.
OPTIONS = {
    'connect_url': (str, 'http://127.0.0.1:8083'),
    'connect_username': (str, None),
    'connect_password_file': (str, None),
    'connect_ca_path': (str, None),
    'connect_validate_certs': (bool, True),
    'connect_timeout': (int, 30),
    'kafka_bootstrap_servers': (str, None),
    'kafka_config': (dict, {}),
    'kafka_config_file': (str, None),
    'kafka_security_protocol': (str, None),
    'kafka_sasl_mechanism': (str, None),
    'kafka_sasl_username': (str, None),
    'kafka_sasl_password_file': (str, None),
    'kafka_ssl_ca_file': (str, None),
    'kafka_ssl_cert_file': (str, None),
    'kafka_ssl_key_file': (str, None),
    'kafka_ssl_check_hostname': (bool, True),
    'kafka_timeout': (int, 30),
    'dlq_topic': (str, 'sluice.dlq'),
    'leader_mode': (str, 'kafka'),
    'leader_topic': (str, 'sluice.supervisor'),
    'leader_group': (str, 'sluice-supervisor'),
    'poll_interval': (float, 10.0),
    'metrics_address': (str, '127.0.0.1'),
    'metrics_port': (int, 9406),
    'state_dir': (str, '/var/lib/sluice-supervisor'),
    'backoff_initial': (float, 10.0),
    'backoff_max': (float, 600.0),
    'backoff_multiplier': (float, 2.0),
    'backoff_reset_after': (float, 600.0),
    'quarantine_search_timeout': (float, 900.0),
    'probe_step_seconds': (float, 15.0),
    'quarantine_window': (int, 0),
    'default_quarantine': (str, 'off'),
    'connectors': (list, []),
}
CONNECTOR_KEYS = {'name', 'quarantine'}


class ConfigError(Exception):
    pass


def _load_text(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        import yaml
    except ImportError:
        return json.loads(text or '{}')
    return yaml.safe_load(text) or {}


def load(path):
    """Read and validate a config file; returns the full option dict (defaults filled in)."""
    try:
        data = _load_text(path)
    except (OSError, ValueError) as e:
        raise ConfigError('cannot read %s: %s' % (path, e)) from None
    except Exception as e:  # yaml.YAMLError
        raise ConfigError('%s is not valid YAML: %s' % (path, e)) from None
    return validate(data)


def validate(data):
    if not isinstance(data, dict):
        raise ConfigError('the config must be a mapping of options')
    unknown = sorted(set(data) - set(OPTIONS))
    if unknown:
        raise ConfigError('unknown option(s): %s' % ', '.join(unknown))
    out = {}
    for name, (kind, default) in OPTIONS.items():
        value = data.get(name, default)
        if value is None:
            out[name] = None
            continue
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError('%s must be of type %s, got %r' % (name, kind.__name__, value))
        out[name] = value
    if not out['kafka_bootstrap_servers']:
        raise ConfigError('kafka_bootstrap_servers is required')
    if not str(out['connect_url']).startswith(('http://', 'https://')):
        raise ConfigError('connect_url must be an http:// or https:// URL')
    for name in ('poll_interval', 'backoff_initial', 'backoff_max', 'probe_step_seconds',
                 'quarantine_search_timeout'):
        if out[name] <= 0:
            raise ConfigError('%s must be positive' % name)
    if out['backoff_multiplier'] < 1:
        raise ConfigError('backoff_multiplier must be at least 1')
    if out['backoff_max'] < out['backoff_initial']:
        raise ConfigError('backoff_max must not be below backoff_initial')
    if not 0 < out['metrics_port'] < 65536:
        raise ConfigError('metrics_port must be a TCP port')
    for name, allowed in (('kafka_security_protocol', SECURITY_PROTOCOLS), ('kafka_sasl_mechanism', SASL_MECHANISMS)):
        if out[name] is not None and out[name] not in allowed:
            raise ConfigError('%s must be one of %s' % (name, ', '.join(allowed)))
    # The Kafka security keys as the Kafka layer reads them (the password file is read only when a client is built):
    # SASL keys without a SASL protocol, or a key given both as an option and in kafka_config, fail here already.
    params = {name: value for name, value in out.items() if name.startswith('kafka_')}
    params['kafka_client_config'] = out['kafka_config']
    try:
        kafka_layer_config(params, 'kafka_')
    except KafkaConfigError as e:
        raise ConfigError(str(e)) from None
    if out['leader_mode'] not in LEADER_MODES:
        raise ConfigError('leader_mode must be one of %s' % ', '.join(LEADER_MODES))
    if out['default_quarantine'] not in QUARANTINE_POLICIES:
        raise ConfigError('default_quarantine must be one of %s' % ', '.join(QUARANTINE_POLICIES))
    if out['quarantine_window'] < 0:
        raise ConfigError('quarantine_window must be 0 (the sink batch) or positive')
    seen = set()
    connectors = []
    for entry in out['connectors']:
        if not isinstance(entry, dict) or not entry.get('name'):
            raise ConfigError('every entry of connectors needs a name, got %r' % (entry,))
        extra = sorted(set(entry) - CONNECTOR_KEYS)
        if extra:
            raise ConfigError('connector %s: unknown key(s) %s' % (entry['name'], ', '.join(extra)))
        policy = entry.get('quarantine', out['default_quarantine'])
        if policy is False:  # YAML 1.1 reads an unquoted off as false
            policy = 'off'
        if policy not in QUARANTINE_POLICIES:
            raise ConfigError('connector %s: quarantine must be auto or off, got %r' % (entry['name'], policy))
        if entry['name'] in seen:
            raise ConfigError('connector %s is listed twice' % entry['name'])
        seen.add(entry['name'])
        connectors.append({'name': str(entry['name']), 'quarantine': policy})
    out['connectors'] = connectors
    return out


def policy(config, connector):
    for entry in config['connectors']:
        if entry['name'] == connector:
            return entry['quarantine']
    return config['default_quarantine']


def read_secret(path):
    with open(path, encoding='utf-8') as f:
        return f.read().strip()


def kafka_client_config(config):
    """librdkafka settings: ``kafka_config`` plus the mapping in ``kafka_config_file`` (which may hold secrets), plus
    the security keys of the ``kafka_security_protocol`` ... options (a key given both ways is an error)."""
    conf = {str(k): v for k, v in (config.get('kafka_config') or {}).items()}
    if config.get('kafka_config_file'):
        try:
            extra = _load_text(config['kafka_config_file'])
        except (OSError, ValueError) as e:
            raise ConfigError('cannot read kafka_config_file: %s' % e) from None
        if not isinstance(extra, dict):
            raise ConfigError('kafka_config_file must hold a mapping')
        conf.update({str(k): v for k, v in extra.items()})
    params = {name: config.get(name) for name in config if name.startswith('kafka_')}
    params['kafka_client_config'] = conf
    if config.get('kafka_sasl_password_file'):
        try:
            params['kafka_sasl_password'] = read_secret(config['kafka_sasl_password_file'])
        except OSError as e:
            raise ConfigError('cannot read kafka_sasl_password_file: %s' % e) from None
    try:
        return kafka_layer_config(params, 'kafka_')
    except KafkaConfigError as e:
        raise ConfigError(str(e)) from None


def connect_client(config, factory=None):
    from ..connect_client import ConnectClient
    password = read_secret(config['connect_password_file']) if config.get('connect_password_file') else None
    return (factory or ConnectClient)(config['connect_url'], validate_certs=config['connect_validate_certs'],
                                      ca_path=config['connect_ca_path'], url_username=config['connect_username'],
                                      url_password=password, timeout=config['connect_timeout'])


def record_client(config, factory=None):
    from ..kafka_admin import RecordClient
    return (factory or RecordClient)(config['kafka_bootstrap_servers'], client_config=kafka_client_config(config),
                                     timeout=config['kafka_timeout'])


def state_file(config, name):
    return os.path.join(config['state_dir'], name)
