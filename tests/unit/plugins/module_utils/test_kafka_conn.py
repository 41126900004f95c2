# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for plugins/module_utils/kafka_conn.py: options -> exact confluent-kafka dicts, clashes, CLI flags."""

from __future__ import annotations

import argparse

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn as k


def params(**values):
    out = {name: spec.get('default') for name, spec in k.argument_spec().items()}
    out.update(bootstrap_servers=['k1:9093'])
    out.update(values)
    return out


def test_nothing_but_client_config_passes_it_through():
    legacy = {'security.protocol': 'SASL_SSL', 'sasl.password': 'x', 'ssl.endpoint.identification.algorithm': 'none'}
    assert k.client_config(params(client_config=legacy)) == legacy
    assert k.client_config(params()) == {}


def test_sasl_ssl_scram():
    assert k.client_config(params(security_protocol='SASL_SSL', sasl_mechanism='SCRAM-SHA-512', sasl_username='u',
                                  sasl_password='pw', ssl_ca_file='/ca.pem', client_config={'client.id': 'x'})) == {
        'client.id': 'x', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'u',
        'sasl.password': 'pw', 'ssl.ca.location': '/ca.pem', 'ssl.endpoint.identification.algorithm': 'https'}


def test_mutual_tls_without_hostname_check():
    assert k.client_config(params(security_protocol='SSL', ssl_ca_file='/ca.pem', ssl_cert_file='/c.pem',
                                  ssl_key_file='/k.pem', ssl_check_hostname=False)) == {
        'security.protocol': 'SSL', 'ssl.ca.location': '/ca.pem', 'ssl.certificate.location': '/c.pem',
        'ssl.key.location': '/k.pem', 'ssl.endpoint.identification.algorithm': 'none'}


def test_plaintext_writes_no_hostname_check():
    assert k.client_config(params(security_protocol='PLAINTEXT')) == {'security.protocol': 'PLAINTEXT'}


def test_sasl_options_need_a_sasl_protocol():
    with pytest.raises(k.KafkaConfigError, match='need security protocol SASL_SSL or SASL_PLAINTEXT, not SSL'):
        k.client_config(params(security_protocol='SSL', sasl_username='u'))
    # the protocol may come from client_config (the older way)
    assert k.client_config(params(sasl_username='u', client_config={'security.protocol': 'sasl_plaintext'})) == {
        'security.protocol': 'sasl_plaintext', 'sasl.username': 'u'}


def test_a_key_given_both_ways_is_an_error():
    with pytest.raises(k.KafkaConfigError) as exc:
        k.client_config(params(security_protocol='SASL_SSL', sasl_password='new',
                               client_config={'sasl.password': 'old', 'security.protocol': 'SSL'}))
    assert str(exc.value) == ('client_config sets sasl.password, security.protocol, which sasl_password, '
                              'security_protocol sets: give each setting once')
    assert 'old' not in str(exc.value) and 'new' not in str(exc.value)
    with pytest.raises(k.KafkaConfigError, match='^kafka_client_config sets ssl.endpoint.identification.algorithm'):
        k.client_config({'kafka_ssl_check_hostname': False,
                         'kafka_client_config': {'ssl.endpoint.identification.algorithm': 'https'}}, 'kafka_')


def test_spec_and_prefix():
    spec = k.argument_spec('kafka_', bootstrap_servers=[])
    assert spec['kafka_bootstrap_servers'] == {'type': 'list', 'elements': 'str', 'default': []}
    assert spec['kafka_sasl_password'] == {'type': 'str', 'no_log': True}
    assert spec['kafka_client_config'] == {'type': 'dict', 'default': {}, 'no_log': True}
    assert spec['kafka_security_protocol']['choices'] == ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']
    assert spec['kafka_sasl_mechanism']['choices'] == ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']
    assert k.argument_spec()['bootstrap_servers']['required'] is True


def test_build_config_and_servers():
    assert k.servers(' a:1, b:2 ,') == ['a:1', 'b:2'] and k.servers(['a:1,b:2', ' c:3 ', '']) == ['a:1', 'b:2', 'c:3']
    assert k.build_config('a:1,b:2', {'x': 1, 'bootstrap.servers': 'ignored'}, {'x': 0, 'y': 2}) == {
        'x': 1, 'y': 2, 'bootstrap.servers': 'a:1,b:2'}


def test_cli_arguments(tmp_path):
    parser = argparse.ArgumentParser()
    k.add_cli_arguments(parser)
    args = parser.parse_args([])
    assert k.cli_params(args, {}) == {
        'kafka_security_protocol': None, 'kafka_sasl_mechanism': None, 'kafka_sasl_username': None,
        'kafka_ssl_ca_file': None, 'kafka_ssl_cert_file': None, 'kafka_ssl_key_file': None,
        'kafka_ssl_check_hostname': True, 'kafka_sasl_password': None}
    assert k.cli_params(args, {'SLUICE_KAFKA_PASSWORD': 'env'})['kafka_sasl_password'] == 'env'
    with pytest.raises(SystemExit):
        parser.parse_args(['--kafka-security-protocol', 'TLS'])
