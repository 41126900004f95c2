"""The `default` scenario (the whole pipeline): services published on the host's loopback."""
import pathlib
import time

import psycopg
import pytest
import requests

from conftest import ROOT

KAFKA = "127.0.0.1:19192"
CONNECT = "http://127.0.0.1:18083"
SINK = "sluice-postgres-sink"
SOURCE = "sluice-sqlserver-source"
SECRETS = pathlib.Path(ROOT, ".cache", "secrets")


def sink_password():
    return (SECRETS / "postgres_sink_password").read_text().strip()


@pytest.fixture(scope="session")
def pg():
    with psycopg.connect(host="127.0.0.1", port=15432, dbname="sluice", user="sluice_sink",
                         password=sink_password(), autocommit=True) as conn:
        yield conn


def connect_status(name):
    return requests.get(f"{CONNECT}/connectors/{name}/status", timeout=10).json()


def wait_for(predicate, timeout=90, interval=0.5, what="condition"):
    """Poll until predicate() returns a truthy value; return it, or fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def rows(pg, sql, *params):
    with pg.cursor() as cur:
        try:
            cur.execute(sql, params)
        except psycopg.errors.UndefinedTable:
            return []
        return cur.fetchall()
