"""Classification of failed-task traces as the Debezium JDBC sink 3.6 / PgJDBC / Kafka print them."""
import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import classify

SINK_HEAD = ("org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable "
             "exception.\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:636)\n"
             "Caused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure\n"
             "\tat io.debezium.connector.jdbc.JdbcSinkConnectorTask.put(JdbcSinkConnectorTask.java:121)\n")

DATA_TRACES = {
    '22P02': SINK_HEAD + "Caused by: org.hibernate.exception.DataException: could not execute statement "
                         "[ERROR: invalid input syntax for type integer: \"abc\"\n  Position: 87] "
                         "[INSERT INTO cdc.orders (id,customer_id) VALUES (?,?) ON CONFLICT (id) DO UPDATE SET "
                         "customer_id=EXCLUDED.customer_id]\nCaused by: org.postgresql.util.PSQLException: ERROR: "
                         "invalid input syntax for type integer: \"abc\"\n  Position: 87",
    '22001': SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: ERROR: value too long for type character "
                         "varying(20)\n\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse",
    '23502': SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: ERROR: null value in column \"email\" of "
                         "relation \"customers\" violates not-null constraint\n  Detail: Failing row contains (7, null).",
    '23505': SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique "
                         "constraint \"customers_email_key\"\n  Detail: Key (email)=(a@b.c) already exists.",
    '42703': SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: ERROR: column \"nickname\" of relation "
                         "\"customers\" does not exist",
    '22003': SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: ERROR: numeric field overflow\n  Detail: "
                         "A field with precision 12, scale 2 must round to an absolute value less than 10^10. "
                         "SQLState: 22003",
}

TRANSIENT_TRACES = [
    SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: Connection to pg:5432 refused. Check that the hostname "
                "and port are correct and that the postmaster is accepting TCP/IP connections.\nCaused by: "
                "java.net.ConnectException: Connection refused",
    SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: FATAL: terminating connection due to administrator "
                "command\n\tat io.debezium.connector.jdbc.JdbcChangeEventSink.readTable",
    SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.\n"
                "Caused by: java.net.SocketException: Connection reset",
    SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: FATAL: the database system is shutting down",
    "org.apache.kafka.common.errors.TimeoutException: Timeout of 60000ms expired before the position for partition "
    "t-0 could be determined",
    "org.apache.kafka.common.errors.CoordinatorNotAvailableException: The coordinator is not available.",
    # seen live: the task restarted while PostgreSQL was still down
    "org.apache.kafka.connect.errors.ConnectException: Failed to start task\nCaused by: org.hibernate.HibernateException: "
    "Unable to determine Dialect without JDBC metadata (please set 'jakarta.persistence.jdbc.url' for common cases or "
    "'hibernate.dialect' when a custom Dialect implementation must be provided)",
    SINK_HEAD + "Caused by: org.postgresql.util.PSQLException: FATAL: sorry, too many clients already SQLState: 53300",
]


@pytest.mark.parametrize('state', sorted(DATA_TRACES))
def test_data_errors(state):
    cause = classify.classify(DATA_TRACES[state])
    assert cause.kind == classify.DATA
    assert cause.sqlstate == state


@pytest.mark.parametrize('trace', TRANSIENT_TRACES)
def test_transient_causes(trace):
    assert classify.classify(trace).kind == classify.TRANSIENT


def test_unknown_and_empty():
    assert classify.classify("java.lang.NullPointerException\n\tat x.y").kind == classify.UNKNOWN
    assert classify.classify(None).kind == classify.UNKNOWN


def test_explicit_sqlstate_wins_and_classes():
    assert classify.classify("whatever SQLState: 57P01").kind == classify.TRANSIENT
    assert classify.classify("SQL State = 23505").kind == classify.DATA
    assert classify.sqlstate_kind('08006') == classify.TRANSIENT
    assert classify.sqlstate_kind('XX000') is None
    assert classify.sqlstate_kind(None) is None


def test_database_error_and_tables():
    assert classify.database_error(DATA_TRACES['22001']) == 'ERROR: value too long for type character varying(20)'
    assert classify.database_error("a\nCaused by: java.io.IOException: boom") == 'Caused by: java.io.IOException: boom'
    assert classify.database_error("first line\nsecond") == 'first line'
    assert classify.tables_named(DATA_TRACES['22P02']) == ['orders']
    assert classify.fingerprint('ERROR: x at 12') == classify.fingerprint('ERROR: x at 13')
