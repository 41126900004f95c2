# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The one Kafka client connection layer (confluent-kafka / librdkafka) of sluice.cdc.

One option schema (:func:`argument_spec`: bootstrap servers, security protocol, SASL, TLS, plus the free-form
``client_config``) and one function from those options to the librdkafka config dict (:func:`client_config`), used by
the ``kafka_topic`` module, ``pipeline_status`` (options prefixed ``kafka_``), the supervisor's config file (keys
prefixed ``kafka_``), ``sluice-status`` and every client wrapper (:func:`build_config`: ``TopicAdmin``,
``RecordClient``, ``status.KafkaOffsets``). Documented in ``doc_fragments/kafka.py`` (generated from the spec).

A security setting is given either as an option or inside ``client_config``, never both: a ``client_config`` key
that an option also sets is an error, not a silent override.
"""

from __future__ import annotations

SECURITY_PROTOCOLS = ('PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL')
SASL_MECHANISMS = ('SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN')
TLS_PROTOCOLS = ('SSL', 'SASL_SSL')
SASL_PROTOCOLS = ('SASL_PLAINTEXT', 'SASL_SSL')

OPTIONS = dict(
    bootstrap_servers=dict(type='list', elements='str', required=True),
    security_protocol=dict(type='str', choices=list(SECURITY_PROTOCOLS)),
    sasl_mechanism=dict(type='str', choices=list(SASL_MECHANISMS)),
    sasl_username=dict(type='str'),
    sasl_password=dict(type='str', no_log=True),
    ssl_ca_file=dict(type='path'),
    ssl_cert_file=dict(type='path'),
    ssl_key_file=dict(type='path', no_log=False),
    ssl_check_hostname=dict(type='bool', default=True),
    client_config=dict(type='dict', default={}, no_log=True),
)
# option -> librdkafka key (ssl_check_hostname: ssl.endpoint.identification.algorithm https|none).
LIBRDKAFKA_KEYS = {
    'security_protocol': 'security.protocol',
    'sasl_mechanism': 'sasl.mechanism',
    'sasl_username': 'sasl.username',
    'sasl_password': 'sasl.password',
    'ssl_ca_file': 'ssl.ca.location',
    'ssl_cert_file': 'ssl.certificate.location',
    'ssl_key_file': 'ssl.key.location',
    'ssl_check_hostname': 'ssl.endpoint.identification.algorithm',
}


class KafkaConfigError(ValueError):
    """Unusable Kafka connection options; the message is meant for the user (it never holds a secret value)."""


def argument_spec(prefix='', **defaults):
    """The options as an Ansible argument spec, names prefixed with ``prefix``; ``defaults`` overrides defaults
    (``None`` removes one; ``bootstrap_servers=[]`` also makes it optional)."""
    spec = {}
    for name, option in OPTIONS.items():
        option = dict(option)
        if name in defaults:
            option.pop('default', None)
            option.pop('required', None)
            if defaults[name] is not None:
                option['default'] = defaults[name]
        spec[prefix + name] = option
    return spec


def servers(value):
    """Bootstrap servers from a list or a comma-separated string -> list without blanks."""
    items = value.split(',') if isinstance(value, str) else list(value or [])
    return [s.strip() for item in items for s in str(item).split(',') if s.strip()]


def client_config(params, prefix=''):
    """librdkafka settings from the options (without ``bootstrap.servers``): ``client_config`` plus the security
    keys the options set. Only the options given are written (``ssl.endpoint.identification.algorithm`` with
    ``security_protocol`` SSL/SASL_SSL, or when ``ssl_check_hostname`` is false), so a ``client_config`` that carries
    the security keys itself (the older way) keeps working."""
    extra = {str(k): v for k, v in (params.get(prefix + 'client_config') or {}).items()}
    given = {name: params.get(prefix + name) for name in LIBRDKAFKA_KEYS if name != 'ssl_check_hostname'}
    given = {name: value for name, value in given.items() if value not in (None, '')}
    protocol = str(given.get('security_protocol') or extra.get('security.protocol') or 'PLAINTEXT').upper()
    conf = {LIBRDKAFKA_KEYS[name]: value for name, value in given.items()}
    check = params.get(prefix + 'ssl_check_hostname')
    if given.get('security_protocol') in TLS_PROTOCOLS or check is False:
        conf['ssl.endpoint.identification.algorithm'] = 'none' if check is False else 'https'
    if (given.get('sasl_username') or given.get('sasl_mechanism')) and protocol not in SASL_PROTOCOLS:
        raise KafkaConfigError('%ssasl_username and %ssasl_mechanism need security protocol SASL_SSL or '
                               'SASL_PLAINTEXT, not %s' % (prefix, prefix, protocol))
    by_key = {key: name for name, key in LIBRDKAFKA_KEYS.items()}
    clashes = sorted(key for key in conf if key in extra)
    if clashes:
        raise KafkaConfigError('%sclient_config sets %s, which %s sets: give each setting once'
                               % (prefix, ', '.join(clashes), ', '.join(prefix + by_key[k] for k in clashes)))
    extra.update(conf)
    return extra


def build_config(bootstrap_servers, client_conf=None, defaults=None):
    """The full client config: ``defaults``, then ``client_conf`` (from :func:`client_config`), then
    ``bootstrap.servers`` (a list or a comma-separated string)."""
    conf = dict(defaults or {})
    conf.update(client_conf or {})
    conf['bootstrap.servers'] = ','.join(servers(bootstrap_servers))
    return conf



# -- command lines (sluice-status) ----------------------------------------------------------------------------------
# The security options as flags --kafka-<option> (the password as --kafka-sasl-password-file), from OPTIONS.
CLI_OPTIONS = tuple(name for name in LIBRDKAFKA_KEYS)


def add_cli_arguments(parser):
    """Add ``--kafka-security-protocol`` ... ``--[no-]kafka-ssl-check-hostname`` to an argparse parser."""
    import argparse  # pylint: disable=import-outside-toplevel
    for name in CLI_OPTIONS:
        spec = OPTIONS[name]
        flag = '--kafka-' + name.replace('_', '-')
        if name == 'sasl_password':
            parser.add_argument(flag + '-file', dest='kafka_sasl_password_file', metavar='FILE',
                                help='file holding the SASL password (else $SLUICE_KAFKA_PASSWORD)')
        elif spec['type'] == 'bool':
            parser.add_argument(flag, dest='kafka_' + name, action=argparse.BooleanOptionalAction,
                                default=spec['default'], help='librdkafka %s https|none (default: check)'
                                % LIBRDKAFKA_KEYS[name])
        else:
            parser.add_argument(flag, dest='kafka_' + name, choices=spec.get('choices'),
                                metavar='FILE' if spec['type'] == 'path' else None,
                                help='librdkafka %s' % LIBRDKAFKA_KEYS[name])


def cli_params(args, environ):
    """The ``kafka_``-prefixed options from parsed arguments (the password from its file or the environment)."""
    params = {'kafka_' + name: getattr(args, 'kafka_' + name, None) for name in CLI_OPTIONS if name != 'sasl_password'}
    if getattr(args, 'kafka_sasl_password_file', None):
        with open(args.kafka_sasl_password_file, encoding='utf-8') as f:
            params['kafka_sasl_password'] = f.read().rstrip('\r\n')
    else:
        params['kafka_sasl_password'] = environ.get('SLUICE_KAFKA_PASSWORD')
    return params
