# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Connection settings -> ``engine.Endpoint``; shared by the CLI (scripts/sluice-reconcile) and the module.

Settings (a dict)::

    engine: postgresql | sqlserver          (required)
    host, port, database, user, password    (port defaults: 5432, 1433)
    sslmode, sslrootcert, sslcert, sslkey   PostgreSQL libpq TLS settings (sslmode default prefer)
    encrypt, trust_server_certificate       SQL Server: Encrypt yes|no|strict (default yes), bool (default false)
    hostname_in_certificate, server_certificate   SQL Server (ODBC Driver 18) certificate checks
    odbc_driver                             SQL Server ODBC driver name (default "ODBC Driver 18 for SQL Server")
    connect_timeout                         seconds (default 30)

The connections themselves are the shared layers': PostgreSQL through ``module_utils/pg.py`` (``psycopg.connect``
keywords, no DSN string), SQL Server through ``module_utils/mssql.py`` (its ODBC connection string, values braced
with ``}`` doubled where needed, so no value can end the attribute or add one). URLs ``postgresql://user@host:port/db`` and ``sqlserver://user@host:port/db`` are parsed by
:func:`parse_url` (no password in URLs: it comes from a file or the environment).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ansible_collections.sluice.cdc.plugins.module_utils import mssql, pg
from .dialects import PostgresDialect, SqlServerDialect
from .engine import Endpoint

ENGINES = ("postgresql", "sqlserver")
PG_TLS_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey")
MSSQL_TLS_KEYS = ("encrypt", "trust_server_certificate", "hostname_in_certificate", "server_certificate", "odbc_driver")
KEYS = ("engine", "host", "port", "database", "user", "password") + PG_TLS_KEYS + MSSQL_TLS_KEYS + ("connect_timeout",)
DEFAULT_PORTS = {"postgresql": 5432, "sqlserver": 1433}
DEFAULT_ODBC_DRIVER = mssql.DEFAULT_DRIVER
SSLMODES = pg.SSLMODES
_URL_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlserver": "sqlserver", "mssql": "sqlserver"}
_TRUE, _FALSE = mssql._TRUE, mssql._FALSE  # pylint: disable=protected-access


class ConfigError(ValueError):
    """Invalid connection settings."""


def normalize(settings: dict) -> dict:
    """Validated settings with defaults filled in; unknown keys and missing required ones are errors."""
    if not isinstance(settings, dict):
        raise ConfigError("connection settings must be a mapping")
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown connection setting(s): {', '.join(map(str, unknown))}")
    cfg = {k: settings.get(k) for k in KEYS}
    if cfg["engine"] not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {cfg['engine']!r}")
    for key in ("host", "database"):
        if not cfg[key]:
            raise ConfigError(f"{cfg['engine']} connection: {key} is required")
    for key in KEYS:
        if isinstance(cfg[key], str) and "\x00" in cfg[key]:
            raise ConfigError(f"{key} contains a NUL character")
    try:
        cfg["port"] = int(cfg["port"]) if cfg["port"] not in (None, "") else DEFAULT_PORTS[cfg["engine"]]
        cfg["connect_timeout"] = int(cfg["connect_timeout"]) if cfg["connect_timeout"] not in (None, "") else 30
    except (TypeError, ValueError):
        raise ConfigError("port and connect_timeout must be integers") from None
    if not 0 < cfg["port"] < 65536:
        raise ConfigError(f"port {cfg['port']} is out of range")
    if cfg["engine"] == "postgresql":
        if cfg["sslmode"] not in (None, "") and cfg["sslmode"] not in SSLMODES:
            raise ConfigError(f"sslmode must be one of {', '.join(SSLMODES)}")
    else:
        cfg["encrypt"] = _encrypt(cfg["encrypt"])
        cfg["trust_server_certificate"] = _bool(cfg["trust_server_certificate"], "trust_server_certificate")
        cfg["odbc_driver"] = cfg["odbc_driver"] or DEFAULT_ODBC_DRIVER
    return cfg


def _bool(value, name) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value).lower() in _TRUE:
        return True
    if str(value).lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean, not {value!r}")


def _encrypt(value) -> str:
    try:
        return mssql.encrypt_mode(value)
    except mssql.MssqlError as exc:
        raise ConfigError(str(exc)) from None


def postgres_kwargs(settings: dict) -> dict:
    """Keyword arguments of ``psycopg.connect`` (module_utils/pg.py)."""
    try:
        return pg.connect_kwargs(normalize(dict(settings, engine="postgresql")), application_name="sluice-reconcile")
    except pg.PostgresError as exc:
        raise ConfigError(str(exc)) from None


def sqlserver_connection_string(settings: dict) -> str:
    """The ODBC connection string of module_utils/mssql.py (host/user/password/... are its aliases)."""
    cfg = normalize(dict(settings, engine="sqlserver"))
    try:
        return mssql.connection_string(cfg, application_name="sluice-reconcile")
    except mssql.MssqlError as exc:
        raise ConfigError(str(exc)) from None


def endpoint(settings: dict) -> Endpoint:
    """An ``Endpoint`` (dialect + connect function) from connection settings; imports the driver lazily."""
    cfg = normalize(settings)
    if cfg["engine"] == "postgresql":
        postgres_kwargs(cfg)  # invalid settings fail here, before any connection

        def connect_pg():
            return pg.connect(cfg, application_name="sluice-reconcile")

        return Endpoint(PostgresDialect(), connect_pg)
    sqlserver_connection_string(cfg)

    def connect_mssql():
        import pyodbc  # noqa: PLC0415 - optional dependency, only for SQL Server endpoints
        return mssql.open_connection(cfg, odbc=pyodbc, application_name="sluice-reconcile")

    return Endpoint(SqlServerDialect(), connect_mssql)


def describe(settings: dict) -> str:
    """``engine://user@host:port/database`` for messages (never the password)."""
    cfg = normalize(settings)
    user = f"{cfg['user']}@" if cfg["user"] else ""
    return f"{cfg['engine']}://{user}{cfg['host']}:{cfg['port']}/{cfg['database']}"


def parse_url(url: str) -> dict:
    """``postgresql://user@host:port/db?sslmode=require`` or ``sqlserver://user@host:port/db?encrypt=no&...``
    -> settings. A password in the URL is refused (it would be visible in the process list)."""
    parts = urlsplit(url)
    engine = _URL_SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise ConfigError(f"unsupported URL scheme {parts.scheme!r}: use postgresql:// or sqlserver://")
    if parts.password is not None:
        raise ConfigError("a password in the URL is not accepted: use a password file or the environment")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"invalid port in {url!r}") from None
    settings = {"engine": engine, "host": unquote(parts.hostname or ""), "port": port,
                "database": unquote(parts.path.lstrip("/")),
                "user": unquote(parts.username) if parts.username else None}
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        key = unquote(key)
        if key not in PG_TLS_KEYS + MSSQL_TLS_KEYS + ("connect_timeout",):
            raise ConfigError(f"unsupported URL parameter {key!r}")
        settings[key] = unquote(value.replace("+", " "))
    normalize(settings)
    return {k: v for k, v in settings.items() if v is not None}
