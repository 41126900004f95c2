# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for kafka_admin.AclAdmin: plain binding dicts to and from confluent-kafka's ACL types, against an
in-memory fake AdminClient that filters like a broker."""

from __future__ import annotations

import concurrent.futures

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                   ResourceType)

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_admin
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import AclAdmin, KafkaAdminError


def done(result=None, error=None):
    future = concurrent.futures.Future()
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(result)
    return future


def matches(flt, b):
    def ok(want, have, any_values):
        return want is None or want in any_values or want == have
    return (ok(flt.restype, b.restype, (ResourceType.ANY,)) and ok(flt.name, b.name, ())
            and ok(flt.resource_pattern_type, b.resource_pattern_type, (ResourcePatternType.ANY,))
            and ok(flt.principal, b.principal, ()) and ok(flt.host, b.host, ())
            and ok(flt.operation, b.operation, (AclOperation.ANY,))
            and ok(flt.permission_type, b.permission_type, (AclPermissionType.ANY,)))


class FakeAclClient:
    def __init__(self, bindings=None, error=None):
        self.bindings = list(bindings or [])
        self.error = error

    def poll(self, _timeout):
        return 0

    def describe_acls(self, flt, request_timeout):
        assert request_timeout == 5
        if self.error:
            return done(error=self.error)
        return done([b for b in self.bindings if matches(flt, b)])

    def create_acls(self, bindings, request_timeout):
        self.bindings.extend(bindings)
        return {b: done() for b in bindings}

    def delete_acls(self, filters, request_timeout):
        out = {}
        for flt in filters:
            gone = [b for b in self.bindings if matches(flt, b)]
            self.bindings = [b for b in self.bindings if b not in gone]
            out[flt] = done(gone)
        return out


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(kafka_admin, 'FUTURE_GRACE', 0)


def make(client):
    return AclAdmin(['k1:9092'], {}, 5, client_factory=lambda conf: client)


GROUP_READ = {'resource_type': 'group', 'resource_name': 'sluice-connect', 'pattern_type': 'literal',
              'operation': 'read', 'permission': 'allow', 'host': '*'}
CLUSTER_DESCRIBE = {'resource_type': 'cluster', 'resource_name': 'kafka-cluster', 'pattern_type': 'literal',
                    'operation': 'describe', 'permission': 'deny', 'host': '10.0.0.1'}


def test_create_then_describe_round_trips_plain_bindings():
    other = AclBinding(ResourceType.TOPIC, 'x', ResourcePatternType.PREFIXED, 'User:other', '*',
                       AclOperation.READ, AclPermissionType.ALLOW)
    client = FakeAclClient([other])
    admin = make(client)
    admin.create('User:connect', [GROUP_READ, CLUSTER_DESCRIBE])
    # The cluster resource is librdkafka's BROKER type (Kafka's CLUSTER, 4).
    assert client.bindings[-1].restype == ResourceType.BROKER
    assert sorted(admin.describe('User:connect'), key=str) == sorted([GROUP_READ, CLUSTER_DESCRIBE], key=str)
    assert admin.describe('User:nobody') == []


def test_delete_removes_exactly_the_named_binding():
    client = FakeAclClient()
    admin = make(client)
    admin.create('User:connect', [GROUP_READ, CLUSTER_DESCRIBE])
    admin.delete('User:connect', [GROUP_READ])
    assert admin.describe('User:connect') == [CLUSTER_DESCRIBE]
    admin.create('User:connect', [])     # nothing to send: no request
    admin.delete('User:connect', [])
    assert len(client.bindings) == 1


def test_security_disabled_is_reported_with_the_principal():
    admin = make(FakeAclClient(error=KafkaError(KafkaError.SECURITY_DISABLED, 'No Authorizer is configured')))
    with pytest.raises(KafkaAdminError, match=r'failed describing the ACLs of User:connect: No Authorizer is '
                                              r'configured \(SECURITY_DISABLED\)'):
        admin.describe('User:connect')


def test_timeout_is_reported():
    client = FakeAclClient()
    client.describe_acls = lambda flt, request_timeout: concurrent.futures.Future()
    admin = make(client)
    admin.timeout = 0
    with pytest.raises(KafkaAdminError, match='timed out after 0s describing the ACLs of User:connect'):
        admin.describe('User:connect')
