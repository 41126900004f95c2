# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for kafka_admin.ScramAdmin: plain credential dicts to and from confluent-kafka's SCRAM types, against
an in-memory fake AdminClient that answers like a broker (RESOURCE_NOT_FOUND for a user without credentials)."""

from __future__ import annotations

import concurrent.futures

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                   UserScramCredentialsDescription, UserScramCredentialUpsertion)

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_admin
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError, ScramAdmin

SECRET = 'pa55-w0rd'


def done(result=None, error=None):
    future = concurrent.futures.Future()
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(result)
    return future


class FakeScramClient:
    """Credentials as {user: {ScramMechanism: (iterations, password bytes)}}."""

    def __init__(self, creds=None, error=None):
        self.creds = {u: dict(m) for u, m in (creds or {}).items()}
        self.error = error
        self.requests = []

    def poll(self, _timeout):
        return 0

    def describe_user_scram_credentials(self, users, request_timeout):
        assert request_timeout == 5 and isinstance(users, list)
        self.requests.append(('describe', users))
        out = {}
        for user in users:
            if self.error:
                out[user] = done(error=self.error)
            elif not self.creds.get(user):
                out[user] = done(error=KafkaError(KafkaError.RESOURCE_NOT_FOUND, 'no credentials for ' + user))
            else:
                infos = [ScramCredentialInfo(m, it) for m, (it, _) in self.creds[user].items()]
                out[user] = done(UserScramCredentialsDescription(user, infos))
        return out

    def alter_user_scram_credentials(self, alterations, request_timeout):
        self.requests.append(('alter', alterations))
        out = {}
        for a in alterations:
            if self.error:
                out[a.user] = done(error=self.error)
            elif isinstance(a, UserScramCredentialUpsertion):
                assert isinstance(a.password, bytes)
                info = a.scram_credential_info
                self.creds.setdefault(a.user, {})[info.mechanism] = (info.iterations, a.password)
                out[a.user] = done()
            elif a.mechanism not in self.creds.get(a.user, {}):
                out[a.user] = done(error=KafkaError(KafkaError.RESOURCE_NOT_FOUND, 'no such credential'))
            else:
                del self.creds[a.user][a.mechanism]
                out[a.user] = done()
        return out


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(kafka_admin, 'FUTURE_GRACE', 0)


def make(client):
    return ScramAdmin(['k1:9092'], {}, 5, client_factory=lambda conf: client)


def test_describe_returns_plain_credentials_and_leaves_out_users_without_any():
    client = FakeScramClient({'connect': {ScramMechanism.SCRAM_SHA_512: (4096, b'x'),
                                          ScramMechanism.SCRAM_SHA_256: (8192, b'y')},
                              'emptied': {}})
    got = make(client).describe(['connect', 'nobody', 'emptied', 'connect'])
    assert got == {'connect': [{'mechanism': 'SCRAM-SHA-256', 'iterations': 8192},
                               {'mechanism': 'SCRAM-SHA-512', 'iterations': 4096}]}
    # Duplicates are refused by the client, so each name is asked once.
    assert client.requests == [('describe', ['connect', 'emptied', 'nobody'])]


def test_describe_of_no_names_sends_nothing():
    client = FakeScramClient()
    assert make(client).describe([]) == {}
    assert client.requests == []


def test_describe_accepts_an_error_handed_back_as_a_value():
    client = FakeScramClient()
    client.describe_user_scram_credentials = lambda users, request_timeout: {
        u: done(KafkaError(KafkaError.RESOURCE_NOT_FOUND)) for u in users}
    assert make(client).describe(['nobody']) == {}


def test_upsert_then_delete_round_trips():
    client = FakeScramClient()
    admin = make(client)
    admin.upsert('reporting', 'SCRAM-SHA-512', SECRET, 8192)
    admin.upsert('reporting', 'SCRAM-SHA-256', SECRET, 4096)
    assert client.creds['reporting'][ScramMechanism.SCRAM_SHA_512] == (8192, SECRET.encode())
    assert admin.describe(['reporting']) == {'reporting': [{'mechanism': 'SCRAM-SHA-256', 'iterations': 4096},
                                                           {'mechanism': 'SCRAM-SHA-512', 'iterations': 8192}]}
    admin.delete('reporting', 'SCRAM-SHA-256')
    deletion = client.requests[-1][1][0]
    assert isinstance(deletion, UserScramCredentialDeletion) and deletion.mechanism == ScramMechanism.SCRAM_SHA_256
    assert admin.describe(['reporting']) == {'reporting': [{'mechanism': 'SCRAM-SHA-512', 'iterations': 8192}]}


def test_broker_errors_name_the_user_and_never_the_password():
    admin = make(FakeScramClient(error=KafkaError(KafkaError.UNACCEPTABLE_CREDENTIAL, 'Iterations too low')))
    with pytest.raises(KafkaAdminError) as exc:
        admin.upsert('reporting', 'SCRAM-SHA-512', SECRET, 4096)
    assert str(exc.value) == ('failed setting the SCRAM-SHA-512 credential of user reporting: Iterations too low '
                              '(UNACCEPTABLE_CREDENTIAL)')
    with pytest.raises(KafkaAdminError, match=r'failed describing the SCRAM credentials of user reporting: '
                                              r'Iterations too low'):
        admin.describe(['reporting'])


def test_deleting_a_missing_credential_is_an_error():
    with pytest.raises(KafkaAdminError, match=r'failed deleting the SCRAM-SHA-256 credential of user x: no such '
                                              r'credential \(RESOURCE_NOT_FOUND\)'):
        make(FakeScramClient()).delete('x', 'SCRAM-SHA-256')


def test_the_clients_own_checks_become_admin_errors():
    # The real client refuses an empty password before sending anything.
    with pytest.raises(KafkaAdminError, match=r"failed setting the SCRAM-SHA-512 credential of user x: "
                                              r"'password' cannot be empty"):
        ScramAdmin(['127.0.0.1:1'], {}, 5).upsert('x', 'SCRAM-SHA-512', '', 8192)


def test_timeout_is_reported():
    client = FakeScramClient()
    client.describe_user_scram_credentials = lambda users, request_timeout: {u: concurrent.futures.Future()
                                                                             for u in users}
    admin = make(client)
    admin.timeout = 0
    with pytest.raises(KafkaAdminError, match='timed out after 0s describing the SCRAM credentials of user x'):
        admin.describe(['x'])
