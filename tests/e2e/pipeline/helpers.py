"""The `default` scenario (the whole pipeline): services published on the host's loopback."""
import time

import psycopg
import pytest

from conftest import connect_api, docker_exec, pg_session, secret

KAFKA = "127.0.0.1:19192"
CONNECT = "https://127.0.0.1:18083"
SINK = "sluice-postgres-sink"
SOURCE = "sluice-sqlserver-source"


def sink_password():
    return secret("postgres_sink_password")


@pytest.fixture(scope="session")
def pg():
    with pg_session(15432) as conn:
        yield conn


@pytest.fixture
def supervisor_stopped():
    """For a test of what a person (or a module) does about a failed task: the supervisor would otherwise act on
    the same failure within its poll interval, and the test would race it."""
    assert docker_exec("sluice-connect", "systemctl", "stop", "sluice-supervisor").returncode == 0
    try:
        yield
    finally:
        assert docker_exec("sluice-connect", "systemctl", "start", "sluice-supervisor").returncode == 0


def connect_status(name):
    return connect_api().get(f"{CONNECT}/connectors/{name}/status", timeout=10).json()


def failed_task(status):
    """The first FAILED task in a connector status, else None: a bad record fails the task that owns its
    partition, whichever of the sink's tasks that is."""
    return next((t for t in status.get("tasks", []) if t["state"] == "FAILED"), None)


def all_running(status):
    return bool(status.get("tasks")) and all(t["state"] == "RUNNING" for t in status["tasks"])


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
        return cur.fetchall() if cur.description else []


# --- comparing PostgreSQL with the generator's intended source state --------------------------------------------
import datetime as _dt  # noqa: E402

from tests.support.cdcgen.schema import float32, nanos_of  # noqa: E402

TEMPORAL = {"time", "datetime", "datetime2", "datetimeoffset"}


def pg_expected(column, value):
    """The value PostgreSQL should hold for `value` of a SQL Server column, as psycopg returns it (see
    docs/type-mapping.md): temporal values rounded half-up to microseconds, uniqueidentifier as upper-case text,
    real as single precision; everything else exact."""
    if value is None:
        return None
    if column.type in TEMPORAL:
        bump = _dt.timedelta(microseconds=1 if nanos_of(value) >= 500 else 0)
        if column.type == "time":
            plain = _dt.datetime.combine(_dt.date(2000, 1, 1), value.replace(tzinfo=None)) + bump
            return plain.time().replace(microsecond=plain.microsecond)
        plain = _dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                             value.microsecond, value.tzinfo)
        return plain + bump
    if column.type == "uniqueidentifier":
        return str(value).upper()
    if column.type == "real":
        return float32(value)
    return value


def pg_actual(column, value):
    if value is not None and column.type == "real":
        return float32(value)  # PostgreSQL prints float4 shortest-form; compare at single precision
    if value is not None and column.type == "time":
        return _dt.time(value.hour, value.minute, value.second, value.microsecond)
    return value


def table_rows(pg, table):
    """{key tuple: row dict} of a sample table in PostgreSQL (empty when the sink has not created it yet)."""
    names = table.column_names
    result = rows(pg, f"SELECT {', '.join(names)} FROM cdc.{table.name}")
    out = {}
    for values in result:
        row = {c.name: pg_actual(c, v) for c, v in zip(table.columns, values)}
        out[tuple(row[k] for k in table.primary_key)] = row
    return out


def expected_rows(table, state_rows):
    out = {}
    for row in state_rows.values():
        exp = {c.name: pg_expected(c, row[c.name]) for c in table.columns}
        out[tuple(exp[k] for k in table.primary_key)] = exp
    return out


def differences(table, expected, actual, limit=5):
    """Human-readable differences between expected and actual {key: row} maps (empty list when equal)."""
    found = []
    for key in sorted(expected.keys() | actual.keys(), key=repr):
        exp, act = expected.get(key), actual.get(key)
        if exp != act:
            if exp is None or act is None:
                found.append(f"{table.name}{key}: expected {exp!r}, PostgreSQL has {act!r}")
            else:
                cols = {c: (exp[c], act[c]) for c in exp if exp[c] != act[c]}
                found.append(f"{table.name}{key}: {cols}")
        if len(found) >= limit:
            break
    return found


def wait_until_replicated(pg, gen, tables, timeout=120, keys=None):
    """Wait until PostgreSQL holds exactly the generator's sink state for `tables` (restricted to `keys` of each
    table when given); fail with the first differences otherwise."""
    state = gen.sink_state()
    last = {}

    def converged():
        for name in tables:
            table = gen.tables[name]
            expected = expected_rows(table, state[name])
            actual = table_rows(pg, table)
            if keys is not None:
                expected = {k: v for k, v in expected.items() if k in keys[name]}
                actual = {k: v for k, v in actual.items() if k in keys[name]}
            last[name] = differences(table, expected, actual)
            if last[name]:
                return False
        return True

    try:
        wait_for(converged, timeout=timeout, interval=1, what=f"PostgreSQL to match the source for {tables}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {[d for name in last for d in last[name]]}") from None
