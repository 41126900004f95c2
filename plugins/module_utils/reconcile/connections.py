# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Connection settings -> ``engine.Endpoint``; shared by the CLI (scripts/sluice-reconcile) and the module.

Settings (a dict)::

    engine: postgresql | sqlserver          (required)
    host, port, database, user, password    (port defaults: 5432, 1433)
    sslmode                                 PostgreSQL libpq sslmode (default: libpq's, i.e. prefer)
    encrypt, trust_server_certificate       SQL Server: Encrypt yes|no|strict (default yes), bool (default false)
    odbc_driver                             SQL Server ODBC driver name (default "ODBC Driver 18 for SQL Server")
    connect_timeout                         seconds (default 30)

PostgreSQL connects with ``psycopg.connect(**keywords)`` (no DSN string is assembled). SQL Server needs an ODBC
connection string: every value is wrapped in braces with ``}`` doubled (the ODBC rule), so no value can end the
attribute or add one. URLs ``postgresql://user@host:port/db`` and ``sqlserver://user@host:port/db`` are parsed by
:func:`parse_url` (no password in URLs: it comes from a file or the environment).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .dialects import PostgresDialect, SqlServerDialect
from .engine import Endpoint

ENGINES = ("postgresql", "sqlserver")
KEYS = ("engine", "host", "port", "database", "user", "password", "sslmode", "encrypt", "trust_server_certificate",
        "odbc_driver", "connect_timeout")
DEFAULT_PORTS = {"postgresql": 5432, "sqlserver": 1433}
DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_URL_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlserver": "sqlserver", "mssql": "sqlserver"}
_TRUE = ("yes", "true", "1", "on", "mandatory")
_FALSE = ("no", "false", "0", "off", "optional")


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
    if value is None or value == "":
        return "yes"
    if str(value).lower() == "strict":
        return "strict"
    return "yes" if _bool(value, "encrypt") else "no"


def postgres_kwargs(settings: dict) -> dict:
    """Keyword arguments of ``psycopg.connect``."""
    cfg = normalize(dict(settings, engine="postgresql"))
    kwargs = {"host": cfg["host"], "port": cfg["port"], "dbname": cfg["database"],
              "connect_timeout": cfg["connect_timeout"], "application_name": "sluice-reconcile"}
    for key in ("user", "password", "sslmode"):
        if cfg[key] not in (None, ""):
            kwargs[key] = cfg[key]
    return kwargs


def odbc_value(value) -> str:
    """An ODBC connection-string attribute value: in braces, with every ``}`` doubled."""
    text = str(value)
    if "\x00" in text:
        raise ConfigError("ODBC values cannot contain NUL")
    return "{" + text.replace("}", "}}") + "}"


def sqlserver_connection_string(settings: dict) -> str:
    """ODBC connection string; FreeTDS drivers take ``Server`` and ``Port`` apart, Microsoft's ``host,port``."""
    cfg = normalize(dict(settings, engine="sqlserver"))
    freetds = "freetds" in cfg["odbc_driver"].lower() or "tdsodbc" in cfg["odbc_driver"].lower()
    attrs = [("DRIVER", cfg["odbc_driver"])]
    if freetds:
        attrs += [("SERVER", cfg["host"]), ("PORT", cfg["port"]), ("TDS_Version", "7.4")]
    else:
        attrs += [("SERVER", f"{cfg['host']},{cfg['port']}")]
    attrs += [("DATABASE", cfg["database"])]
    if cfg["user"]:
        attrs += [("UID", cfg["user"]), ("PWD", cfg["password"] or "")]
    elif not freetds:
        attrs += [("Trusted_Connection", "yes")]
    if freetds:
        attrs += [("Encryption", "off" if cfg["encrypt"] == "no" else "require")]
    else:
        attrs += [("Encrypt", cfg["encrypt"]),
                  ("TrustServerCertificate", "yes" if cfg["trust_server_certificate"] else "no"),
                  ("APP", "sluice-reconcile")]
    return ";".join(f"{key}={odbc_value(value)}" for key, value in attrs)


def endpoint(settings: dict) -> Endpoint:
    """An ``Endpoint`` (dialect + connect function) from connection settings; imports the driver lazily."""
    cfg = normalize(settings)
    if cfg["engine"] == "postgresql":
        kwargs = postgres_kwargs(cfg)

        def connect_pg():
            import psycopg  # noqa: PLC0415 - optional dependency, only for PostgreSQL endpoints
            return psycopg.connect(**kwargs)

        return Endpoint(PostgresDialect(), connect_pg)
    conn_str, timeout = sqlserver_connection_string(cfg), cfg["connect_timeout"]

    def connect_mssql():
        import pyodbc  # noqa: PLC0415 - optional dependency, only for SQL Server endpoints
        return pyodbc.connect(conn_str, timeout=timeout, autocommit=True)

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
        if key not in ("sslmode", "encrypt", "trust_server_certificate", "odbc_driver", "connect_timeout"):
            raise ConfigError(f"unsupported URL parameter {key!r}")
        settings[key] = unquote(value.replace("+", " "))
    normalize(settings)
    return {k: v for k, v in settings.items() if v is not None}
