# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Classify a failed task from the ``trace`` of its status: ``transient``, ``data`` or ``unknown``.

Data errors are PostgreSQL rejecting a row: SQLSTATE classes 22 (data exception), 23 (integrity constraint) and 42
(syntax error or access rule: a column or type that does not fit). Transient causes are the connection going away
(classes 08, 53, 57P0x, refused/reset connections, timeouts, Kafka brokers or coordinators unavailable). The
PostgreSQL JDBC driver does not print the SQLSTATE in its message; Hibernate (which the Debezium JDBC sink writes
through) names the class in its exception type, and PostgreSQL's messages are fixed per SQLSTATE, so both are
recognised here as well as an explicit ``SQLState: 22P02``.
"""

from __future__ import annotations

import re
from collections import namedtuple

TRANSIENT = 'transient'
DATA = 'data'
UNKNOWN = 'unknown'

Cause = namedtuple('Cause', 'kind reason sqlstate')

DATA_CLASSES = ('22', '23', '42')
TRANSIENT_CLASSES = ('08', '53', '57P0')

SQLSTATE = re.compile(r'(?i)\bSQL ?State[:= ]+\(?([0-9A-Z]{5})\b')

# (pattern, reason, sqlstate or None); the first match wins, data errors before transient causes.
DATA_PATTERNS = [
    (r'invalid input syntax for type', 'invalid input syntax', '22P02'),
    (r'value too long for type', 'value too long', '22001'),
    (r'out of range|numeric field overflow', 'value out of range', '22003'),
    (r'invalid byte sequence for encoding', 'invalid byte sequence', '22021'),
    (r'date/time field value out of range', 'date/time out of range', '22008'),
    (r'null value in column .* violates not-null constraint', 'not-null violation', '23502'),
    (r'violates foreign key constraint', 'foreign key violation', '23503'),
    (r'duplicate key value violates unique constraint', 'unique violation', '23505'),
    (r'violates check constraint', 'check violation', '23514'),
    (r'column "[^"]*" (of relation "[^"]*" )?does not exist', 'undefined column', '42703'),
    (r'column "[^"]*" is of type .* but expression is of type', 'datatype mismatch', '42804'),
    (r'org\.hibernate\.exception\.DataException', 'data exception', '22000'),
    (r'org\.hibernate\.exception\.ConstraintViolationException', 'constraint violation', '23000'),
    (r'org\.hibernate\.exception\.SQLGrammarException', 'SQL grammar error', '42000'),
]
TRANSIENT_PATTERNS = [
    (r'terminating connection due to administrator command', 'server terminated the connection', '57P01'),
    (r'the database system is (shutting down|starting up|in recovery mode)', 'server not available', '57P03'),
    (r'Connection refused', 'connection refused', '08001'),
    (r'Connection reset', 'connection reset', '08006'),
    (r'Connection to \S+ refused', 'connection refused', '08001'),
    (r'An I/O error occurred while sending to the backend', 'I/O error', '08006'),
    (r'This connection has been closed', 'connection closed', '08003'),
    (r'server closed the connection unexpectedly', 'connection closed', '08006'),
    (r'too many connections|remaining connection slots are reserved', 'too many connections', '53300'),
    (r'org\.hibernate\.exception\.JDBCConnectionException', 'JDBC connection error', '08000'),
    (r'Unable to acquire JDBC Connection', 'no JDBC connection', '08000'),
    # Hibernate at task start while PostgreSQL cannot be reached: it found no database to read the dialect from.
    (r'Unable to determine Dialect without JDBC metadata', 'no database connection at start', '08001'),
    (r'(BrokerNotAvailable|LeaderNotAvailable|NotLeaderOrFollower|CoordinatorNotAvailable|NotCoordinator)'
     r'(Exception)?', 'Kafka broker or coordinator unavailable', None),
    (r'org\.apache\.kafka\.common\.errors\.(TimeoutException|DisconnectException|NetworkException)',
     'Kafka timeout', None),
    (r'(SocketTimeoutException|java\.util\.concurrent\.TimeoutException|Read timed out|connect timed out)',
     'timeout', None),
]
_DATA = [(re.compile(p), r, s) for p, r, s in DATA_PATTERNS]
_TRANSIENT = [(re.compile(p, re.IGNORECASE), r, s) for p, r, s in TRANSIENT_PATTERNS]


def sqlstate_kind(state):
    if not state:
        return None
    if state.startswith(DATA_CLASSES):
        return DATA
    if state.startswith(TRANSIENT_CLASSES):
        return TRANSIENT
    return None


def classify(trace):
    """The :class:`Cause` of a failure trace."""
    text = str(trace or '')
    explicit = [m.group(1).upper() for m in SQLSTATE.finditer(text)]
    for state in explicit:
        kind = sqlstate_kind(state)
        if kind:
            return Cause(kind, 'SQLSTATE %s' % state, state)
    for pattern, reason, state in _DATA:
        if pattern.search(text):
            return Cause(DATA, reason, state)
    for pattern, reason, state in _TRANSIENT:
        if pattern.search(text):
            return Cause(TRANSIENT, reason, state)
    return Cause(UNKNOWN, 'unrecognised failure', None)


_PG_ERROR = re.compile(r'(ERROR: [^\n\]]+)')


def database_error(trace):
    """The PostgreSQL error line of a trace (``ERROR: value too long for type character varying(20)``), or the last
    ``Caused by`` line, or the first line; at most 500 characters."""
    text = str(trace or '')
    found = _PG_ERROR.findall(text)
    if found:
        return found[-1].strip()[:500]
    causes = [line.strip() for line in text.splitlines() if line.strip().startswith('Caused by:')]
    if causes:
        return causes[-1][:500]
    return (text.strip().splitlines() or [''])[0][:500]


_TABLE = re.compile(r'(?i)\b(?:insert\s+into|(?<!do )update|delete\s+from)\s+(?!set\b)("?[\w.]+"?(?:\."?\w+"?)?)')


def tables_named(trace):
    """Target table names (without schema, lower case) in the SQL a trace quotes, in order of appearance."""
    out = []
    for m in _TABLE.finditer(str(trace or '')):
        name = m.group(1).replace('"', '').split('.')[-1].lower()
        if name not in out:
            out.append(name)
    return out


def fingerprint(trace):
    """A short stable form of a failure, to tell whether the same failure repeats: the database error without
    numbers that change from try to try."""
    return re.sub(r'\d+', 'N', database_error(trace))
