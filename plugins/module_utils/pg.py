# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The one PostgreSQL connection layer (psycopg 3) of sluice.cdc: the option schema, options -> psycopg keywords, connect.

Used by the ``pipeline_status`` module (options prefixed ``postgres_``), the ``reconcile`` module and CLI (through
``reconcile/connections.py``) and ``sluice-status``. Documented in ``doc_fragments/postgres.py`` (generated from
:func:`argument_spec`, so the two cannot drift apart) and ``docs/connections.md``. No DSN string is assembled: every
value goes to ``psycopg.connect`` as a keyword, so no value can add a connection parameter.
"""

from __future__ import annotations

SSLMODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')
DEFAULT_PORT = 5432
DEFAULT_SSLMODE = 'prefer'  # libpq's own default; 'verify-full' once every target has a certificate
DEFAULT_TIMEOUT = 30

# name: argument spec. The libpq name of each option is the same except database (dbname).
OPTIONS = dict(
    host=dict(type='str'),
    port=dict(type='int', default=DEFAULT_PORT),
    database=dict(type='str'),
    user=dict(type='str'),
    password=dict(type='str', no_log=True),
    sslmode=dict(type='str', default=DEFAULT_SSLMODE, choices=list(SSLMODES)),
    sslrootcert=dict(type='path'),
    sslcert=dict(type='path'),
    sslkey=dict(type='path', no_log=False),
    connect_timeout=dict(type='int', default=DEFAULT_TIMEOUT),
)
# Passed on only when set (libpq defaults otherwise).
OPTIONAL_KEYWORDS = ('user', 'password', 'sslrootcert', 'sslcert', 'sslkey')


class PostgresError(Exception):
    """Unusable PostgreSQL connection options, or psycopg missing; the message is meant for the user."""


def argument_spec(prefix='', **defaults):
    """The options as an Ansible argument spec, names prefixed with ``prefix``; ``defaults`` overrides defaults
    (``None`` removes one)."""
    spec = {}
    for name, option in OPTIONS.items():
        option = dict(option)
        if name in defaults:
            option.pop('default', None)
            if defaults[name] is not None:
                option['default'] = defaults[name]
        spec[prefix + name] = option
    return spec


def unprefixed(params, prefix=''):
    """The connection options of ``params`` (module params or a settings dict) without their prefix."""
    return {name: params.get(prefix + name) for name in OPTIONS}


def connect_kwargs(params, prefix='', application_name='sluice.cdc'):
    """Keyword arguments of ``psycopg.connect`` from the options (missing ones take their defaults)."""
    p = unprefixed(params, prefix)
    for key in ('host', 'database'):
        if not p[key]:
            raise PostgresError('PostgreSQL connection: %s%s is required' % (prefix, key))
    for key, value in p.items():
        if isinstance(value, str) and '\x00' in value:
            raise PostgresError('PostgreSQL connection: %s%s contains a NUL character' % (prefix, key))
    sslmode = p['sslmode'] or DEFAULT_SSLMODE
    if sslmode not in SSLMODES:
        raise PostgresError('PostgreSQL connection: %ssslmode must be one of %s, not %r'
                            % (prefix, ', '.join(SSLMODES), sslmode))
    try:
        port = int(p['port']) if p['port'] not in (None, '') else DEFAULT_PORT
        timeout = int(p['connect_timeout']) if p['connect_timeout'] not in (None, '') else DEFAULT_TIMEOUT
    except (TypeError, ValueError):
        raise PostgresError('PostgreSQL connection: %sport and %sconnect_timeout must be integers'
                            % (prefix, prefix)) from None
    if not 0 < port < 65536:
        raise PostgresError('PostgreSQL connection: %sport %d is out of range' % (prefix, port))
    kwargs = {'host': p['host'], 'port': port, 'dbname': p['database'], 'sslmode': sslmode,
              'connect_timeout': timeout, 'application_name': application_name}
    for key in OPTIONAL_KEYWORDS:
        if p[key] not in (None, ''):
            kwargs[key] = p[key]
    return kwargs


def describe(params, prefix=''):
    """``postgresql://user@host:port/database`` for messages (never the password)."""
    p = unprefixed(params, prefix)
    user = '%s@' % p['user'] if p['user'] else ''
    return 'postgresql://%s%s:%s/%s' % (user, p['host'], p['port'] or DEFAULT_PORT, p['database'])


def connect(params, prefix='', application_name='sluice.cdc', driver=None, **extra):
    """A psycopg connection; ``extra`` are further ``psycopg.connect`` keywords (``autocommit=True``)."""
    kwargs = connect_kwargs(params, prefix, application_name)
    if driver is None:
        try:
            import psycopg as driver  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise PostgresError('the Python package psycopg is needed to connect to PostgreSQL '
                                '(pip install "psycopg[binary]")') from None
    return driver.connect(**kwargs, **extra)
