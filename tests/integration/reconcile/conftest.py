# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A throwaway PostgreSQL 15 cluster for the reconciler's integration tests, with databases ``src`` and ``dst``.

initdb into a temporary directory owned by the ``postgres`` OS user (the server refuses to run as root),
listening on a free 127.0.0.1 port and a socket in that directory, trust authentication; stopped and removed
at the end of the session. PG_BIN overrides the binaries' directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile

import pytest

psycopg = pytest.importorskip("psycopg")

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def _as_postgres(*cmd):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_cluster():
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
    tmp = tempfile.mkdtemp(prefix="sluice-reconcile-pg-")
    data = os.path.join(tmp, "data")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    port = _free_port()
    _as_postgres(os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8")
    _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", os.path.join(tmp, "log"), "-w", "start",
                 "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off")
    try:
        dsn = f"host=127.0.0.1 port={port} user=postgres"
        with psycopg.connect(dsn + " dbname=postgres", autocommit=True) as conn:
            for db in ("src", "dst"):
                conn.execute(f"CREATE DATABASE {db} TEMPLATE template0 ENCODING 'UTF8'")
        yield {"port": port, "dsn": dsn}
    finally:
        _as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def dsns(pg_cluster):
    return {db: f"{pg_cluster['dsn']} dbname={db}" for db in ("src", "dst")}


@pytest.fixture
def db(dsns):
    """Run SQL in src/dst (autocommit): db('src', sql, params)."""
    conns = {name: psycopg.connect(dsn, autocommit=True) for name, dsn in dsns.items()}

    def run(name, sql, params=None):
        return conns[name].execute(sql, params)

    yield run
    for conn in conns.values():
        conn.close()
