# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for reconcile/connections.py: settings, psycopg keywords, ODBC connection strings and escaping."""

from __future__ import annotations

import sys
import types

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import connections as c
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile.dialects import PostgresDialect, SqlServerDialect

PG = {"engine": "postgresql", "host": "pg1", "database": "shop", "user": "sluice", "password": "pw"}
MS = {"engine": "sqlserver", "host": "mssql1", "database": "shop", "user": "sa", "password": "pw"}


def attrs(conn_str):
    """Parse an ODBC connection string the way the driver manager does (braced values with }} = }, or plain)."""
    out, i = {}, 0
    while i < len(conn_str):
        eq = conn_str.index("=", i)
        key = conn_str[i:eq]
        if conn_str[eq + 1] != "{":
            end = conn_str.index(";", eq)
            out[key] = conn_str[eq + 1:end]
            i = end + 1
            continue
        j, value = eq + 2, []
        while True:
            if conn_str[j] == "}":
                if conn_str[j + 1:j + 2] == "}":
                    value.append("}")
                    j += 2
                    continue
                break
            value.append(conn_str[j])
            j += 1
        out[key] = "".join(value)
        i = j + 1
        assert conn_str[i] == ";"
        i += 1
    return out


def test_postgres_kwargs():
    assert c.postgres_kwargs(dict(PG, sslmode="require", sslrootcert="/etc/ssl/ca.pem")) == {
        "host": "pg1", "port": 5432, "dbname": "shop", "user": "sluice", "password": "pw", "sslmode": "require",
        "sslrootcert": "/etc/ssl/ca.pem", "connect_timeout": 30, "application_name": "sluice-reconcile"}
    kw = c.postgres_kwargs({"engine": "postgresql", "host": "h", "database": "d", "port": "6543"})
    assert kw["port"] == 6543 and "user" not in kw and "password" not in kw and kw["sslmode"] == "prefer"


def test_sqlserver_connection_string_microsoft_driver():
    s = c.sqlserver_connection_string(MS)
    assert s == ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=mssql1,1433;Encrypt=yes;TrustServerCertificate=no;"
                 "DATABASE=shop;UID=sa;PWD={pw};APP=sluice-reconcile;")
    s = c.sqlserver_connection_string(dict(MS, encrypt=False, trust_server_certificate="yes", port=14330))
    assert attrs(s)["Encrypt"] == "no" and attrs(s)["TrustServerCertificate"] == "yes"
    assert attrs(s)["SERVER"] == "mssql1,14330"
    assert attrs(c.sqlserver_connection_string(dict(MS, encrypt="strict")))["Encrypt"] == "strict"
    trusted = attrs(c.sqlserver_connection_string(dict(MS, user=None, password=None)))
    assert trusted["Trusted_Connection"] == "yes" and "PWD" not in trusted
    tls = attrs(c.sqlserver_connection_string(dict(MS, hostname_in_certificate="db.example",
                                                   server_certificate="/etc/ssl/mssql.pem")))
    assert tls["HostNameInCertificate"] == "db.example" and tls["ServerCertificate"] == "/etc/ssl/mssql.pem"


def test_sqlserver_hostile_values_cannot_inject_attributes():
    evil_pw = "p}w;Encrypt=no;{x}"
    s = c.sqlserver_connection_string(dict(MS, password=evil_pw, database="db};TrustServerCertificate={yes"))
    parsed = attrs(s)
    assert parsed["PWD"] == evil_pw
    assert parsed["DATABASE"] == "db};TrustServerCertificate={yes"
    assert parsed["Encrypt"] == "yes" and parsed["TrustServerCertificate"] == "no"
    assert list(parsed) == ["DRIVER", "SERVER", "Encrypt", "TrustServerCertificate", "DATABASE", "UID", "PWD", "APP"]
    with pytest.raises(c.ConfigError, match="NUL"):
        c.sqlserver_connection_string(dict(MS, password="a\x00b"))


def test_sqlserver_freetds():
    parsed = attrs(c.sqlserver_connection_string(dict(MS, odbc_driver="FreeTDS")))
    assert parsed == {"DRIVER": "FreeTDS", "SERVER": "mssql1", "PORT": "1433", "TDS_Version": "7.4",
                      "ClientCharset": "UTF-8", "DATABASE": "shop", "UID": "sa", "PWD": "pw", "Encryption": "require",
                      "APP": "sluice-reconcile"}
    assert attrs(c.sqlserver_connection_string(dict(MS, odbc_driver="FreeTDS", encrypt="no")))["Encryption"] == "off"
    with pytest.raises(c.ConfigError, match="hostname_in_certificate needs the Microsoft ODBC Driver 18"):
        c.sqlserver_connection_string(dict(MS, odbc_driver="FreeTDS", hostname_in_certificate="x"))


@pytest.mark.parametrize("settings, message", [
    ({"engine": "oracle", "host": "h", "database": "d"}, "engine must be"),
    ({"engine": "postgresql", "database": "d"}, "host is required"),
    ({"engine": "postgresql", "host": "h"}, "database is required"),
    (dict(PG, bogus=1), "unknown connection setting"),
    (dict(PG, port="x"), "must be integers"),
    (dict(PG, port=70000), "out of range"),
    (dict(PG, sslmode="sometimes"), "sslmode must be"),
    (dict(MS, encrypt="maybe"), "encrypt must be true, false or strict"),
    (dict(MS, trust_server_certificate="perhaps"), "trust_server_certificate must be"),
    (dict(PG, host="a\x00b"), "NUL"),
    ("postgresql://x", "must be a mapping"),
])
def test_normalize_errors(settings, message):
    with pytest.raises(c.ConfigError, match=message):
        c.normalize(settings)


def test_parse_url():
    assert c.parse_url("postgresql://sluice@pg1:5433/shop") == {
        "engine": "postgresql", "host": "pg1", "port": 5433, "database": "shop", "user": "sluice"}
    assert c.parse_url("sqlserver://sa@mssql1/shop?encrypt=no&trust_server_certificate=yes&odbc_driver=FreeTDS") == {
        "engine": "sqlserver", "host": "mssql1", "database": "shop", "user": "sa", "encrypt": "no",
        "trust_server_certificate": "yes", "odbc_driver": "FreeTDS"}
    assert c.parse_url("postgres://u%40x@h/d%2Fb?sslmode=require")["user"] == "u@x"
    assert c.parse_url("postgres://u%40x@h/d%2Fb")["database"] == "d/b"
    assert c.parse_url("mssql://h/db?odbc_driver=ODBC+Driver+17+for+SQL+Server")["odbc_driver"] == \
        "ODBC Driver 17 for SQL Server"


@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/d", "unsupported URL scheme"),
    ("postgresql://u:secret@h/d", "password in the URL"),
    ("postgresql://u@h:99999/d", "invalid port"),
    ("postgresql://u@h/d?password=x", "unsupported URL parameter"),
    ("postgresql://u@h/", "database is required"),
])
def test_parse_url_errors(url, message):
    with pytest.raises(c.ConfigError, match=message):
        c.parse_url(url)


def test_describe_never_shows_password():
    assert c.describe(PG) == "postgresql://sluice@pg1:5432/shop"
    assert c.describe(dict(MS, user=None)) == "sqlserver://mssql1:1433/shop"


def test_endpoint_postgres_connects_with_keywords(monkeypatch):
    seen = {}
    fake = types.ModuleType("psycopg")
    fake.connect = lambda **kw: seen.update(kw) or "conn"
    monkeypatch.setitem(sys.modules, "psycopg", fake)
    ep = c.endpoint(PG)
    assert isinstance(ep.dialect, PostgresDialect)
    assert ep.connect() == "conn" and seen["dbname"] == "shop" and seen["password"] == "pw"


def test_endpoint_sqlserver_connects_with_connection_string(monkeypatch):
    seen = {}
    fake = types.ModuleType("pyodbc")

    def connect(conn_str, **kw):
        seen["conn_str"], seen["kw"] = conn_str, kw
        return "conn"

    fake.connect = connect
    monkeypatch.setitem(sys.modules, "pyodbc", fake)
    ep = c.endpoint(dict(MS, connect_timeout=5))
    assert isinstance(ep.dialect, SqlServerDialect)
    assert ep.connect() == "conn"
    assert seen["conn_str"] == c.sqlserver_connection_string(MS)
    assert seen["conn_str"].startswith("DRIVER={ODBC Driver 18 for SQL Server};SERVER=mssql1,1433;")
    assert seen["kw"] == {"timeout": 5, "autocommit": True}


def test_the_connection_options_are_the_layers_keys():
    """Every key of the module's source/target suboptions is a connection setting, and the TLS keys are there."""
    from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import runner
    sub = runner.argument_spec()["source"]["options"]
    assert set(sub) == set(c.KEYS)
    assert sub["sslkey"] == {"type": "path", "no_log": False} and sub["password"]["no_log"] is True
    assert {"sslrootcert", "sslcert", "hostname_in_certificate", "server_certificate"} <= set(sub)


def test_tls_keys_from_urls():
    ms = c.parse_url("sqlserver://sa@h:1433/db?encrypt=strict&hostname_in_certificate=db.example"
                     "&server_certificate=/etc/ssl/db.pem")
    assert attrs(c.sqlserver_connection_string(dict(ms, password="pw"))) == {
        "DRIVER": "ODBC Driver 18 for SQL Server", "SERVER": "h,1433", "Encrypt": "strict",
        "TrustServerCertificate": "no", "HostNameInCertificate": "db.example", "ServerCertificate": "/etc/ssl/db.pem",
        "DATABASE": "db", "UID": "sa", "PWD": "pw", "APP": "sluice-reconcile"}
    pg = c.parse_url("postgresql://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem")
    assert c.postgres_kwargs(pg) == {
        "host": "h", "port": 5432, "dbname": "db", "user": "u", "sslmode": "verify-full", "sslrootcert": "/ca.pem",
        "sslcert": "/c.pem", "sslkey": "/k.pem", "connect_timeout": 30, "application_name": "sluice-reconcile"}
