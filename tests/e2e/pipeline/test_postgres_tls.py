"""PostgreSQL target over TLS (role postgresql_target, postgresql_target_tls_enabled: true by default): the server
has a certificate from the scenario's internal CA, the sink's pg_hba entries are hostssl, and the JDBC sink connects
with sslmode=verify-full."""
import time

import psycopg
import pytest

from conftest import CA_FILE, connect_api
from helpers import CONNECT, SINK, pg, sink_password  # noqa: F401 (fixture)

TARGET = {"host": "127.0.0.1", "port": 15432, "dbname": "sluice", "user": "sluice_sink", "connect_timeout": 5}


def test_a_plaintext_connection_is_refused():
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(**TARGET, password=sink_password(), sslmode="disable")


def test_the_server_certificate_is_verified_against_the_ca(pg):
    row = pg.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row[0] is True and row[1] in ("TLSv1.2", "TLSv1.3")
    # The same certificate under a name it was not issued for fails verify-full: the check is real.
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(**(TARGET | {"host": "not-the-target", "hostaddr": "127.0.0.1"}), password=sink_password(),
                        sslmode="verify-full", sslrootcert=str(CA_FILE))


def test_the_sink_connects_with_verify_full_over_tls(pg):
    url = connect_api().get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()["connection.url"]
    assert "sslmode=verify-full" in url and "sslrootcert=/etc/ssl/sluice/ca.crt" in url
    assert "&options=-c%20plan_cache_mode%3Dforce_custom_plan" in url  # every other e2e row is written through it
    deadline = time.monotonic() + 90
    sessions = []
    while time.monotonic() < deadline and not sessions:
        sessions = pg.execute(
            "SELECT a.client_addr::text, s.ssl, s.version FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
            " WHERE a.usename = 'sluice_sink' AND a.application_name = 'PostgreSQL JDBC Driver'").fetchall()
        time.sleep(0 if sessions else 3)
    assert sessions, "the JDBC sink holds no connection to the target"
    assert all(ssl and version in ("TLSv1.2", "TLSv1.3") for _, ssl, version in sessions), sessions
