# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for plugins/module_utils/pg.py: options -> exact psycopg keywords, prefixes, errors, connect."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import pg

BASE = {'host': 'pg1', 'database': 'sluice'}


def test_defaults_only():
    assert pg.connect_kwargs(BASE) == {'host': 'pg1', 'port': 5432, 'dbname': 'sluice', 'sslmode': 'prefer',
                                       'connect_timeout': 30, 'application_name': 'sluice.cdc'}


def test_every_option():
    params = dict(BASE, port='6432', user='sink', password='p w;x=1', sslmode='verify-full',
                  sslrootcert='/etc/ssl/ca.pem', sslcert='/etc/ssl/c.pem', sslkey='/etc/ssl/c.key', connect_timeout=4)
    assert pg.connect_kwargs(params, application_name='sluice-reconcile') == {
        'host': 'pg1', 'port': 6432, 'dbname': 'sluice', 'user': 'sink', 'password': 'p w;x=1',
        'sslmode': 'verify-full', 'sslrootcert': '/etc/ssl/ca.pem', 'sslcert': '/etc/ssl/c.pem',
        'sslkey': '/etc/ssl/c.key', 'connect_timeout': 4, 'application_name': 'sluice-reconcile'}


def test_prefixed_params_and_spec():
    spec = pg.argument_spec('postgres_', database='sluice', connect_timeout=None)
    assert list(spec) == ['postgres_' + name for name in pg.OPTIONS]
    assert spec['postgres_database'] == {'type': 'str', 'default': 'sluice'}
    assert spec['postgres_connect_timeout'] == {'type': 'int'}
    assert spec['postgres_password'] == {'type': 'str', 'no_log': True}
    assert spec['postgres_sslmode'] == {'type': 'str', 'default': 'prefer', 'choices': list(pg.SSLMODES)}
    params = {'postgres_host': 'h', 'postgres_database': 'd', 'postgres_sslmode': 'require', 'host': 'ignored'}
    kwargs = pg.connect_kwargs(params, 'postgres_')
    assert kwargs['host'] == 'h' and kwargs['sslmode'] == 'require'
    assert pg.argument_spec() == pg.OPTIONS and pg.argument_spec() is not pg.OPTIONS


@pytest.mark.parametrize('params, message', [
    ({'database': 'd'}, 'PostgreSQL connection: host is required'),
    ({'host': 'h'}, 'PostgreSQL connection: database is required'),
    (dict(BASE, sslmode='sometimes'), 'sslmode must be one of disable, allow, prefer, require, verify-ca, '
                                      'verify-full'),
    (dict(BASE, port='x'), 'must be integers'),
    (dict(BASE, port=0), 'out of range'),
    (dict(BASE, password='a\x00b'), 'password contains a NUL'),
])
def test_errors(params, message):
    with pytest.raises(pg.PostgresError, match=message):
        pg.connect_kwargs(params)


def test_describe_hides_the_password():
    assert pg.describe(dict(BASE, user='u', password='secret')) == 'postgresql://u@pg1:5432/sluice'
    assert pg.describe({'postgres_host': 'h', 'postgres_database': 'd', 'postgres_port': 1}, 'postgres_') == \
        'postgresql://h:1/d'


def test_connect_passes_keywords_and_extras(monkeypatch):
    class Driver:
        @staticmethod
        def connect(**kwargs):
            return kwargs
    assert pg.connect(BASE, driver=Driver, autocommit=True)['autocommit'] is True
    monkeypatch.setitem(sys.modules, 'psycopg', Driver)
    assert pg.connect(BASE)['dbname'] == 'sluice'
    monkeypatch.setitem(sys.modules, 'psycopg', None)
    with pytest.raises(pg.PostgresError, match='psycopg is needed'):
        pg.connect(BASE)
