# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The PostgreSQL connection layer (module_utils/pg.py, through reconcile/connections.py) against a real server:
the default sslmode prefer connects to a server without TLS, require is refused by it, the application name is
the reconciler's."""

from __future__ import annotations

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import pg
from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import connections

psycopg = pytest.importorskip("psycopg")


def settings(pg_cluster, **extra):
    return dict({"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "database": "src",
                 "user": "postgres"}, **extra)


def test_default_sslmode_connects_without_tls(pg_cluster):
    with connections.endpoint(settings(pg_cluster)).connect() as conn:
        row = conn.execute("SELECT current_database(), current_setting('application_name'), "
                           "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())").fetchone()
    assert row == ("src", "sluice-reconcile", False)


def test_sslmode_require_is_refused_by_a_server_without_tls(pg_cluster):
    with pytest.raises(psycopg.OperationalError, match="(?i)ssl"):
        connections.endpoint(settings(pg_cluster, sslmode="require", connect_timeout=5)).connect()


def test_layer_connect_with_prefixed_options(pg_cluster):
    params = {"postgres_host": "127.0.0.1", "postgres_port": pg_cluster["port"], "postgres_database": "dst",
              "postgres_user": "postgres", "postgres_sslmode": "disable"}
    with pg.connect(params, "postgres_", application_name="sluice-status", autocommit=True) as conn:
        assert conn.execute("SELECT current_database(), current_setting('application_name')").fetchone() == (
            "dst", "sluice-status")
