# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Thin wrapper around ``confluent_kafka.admin.AdminClient`` for the sluice.cdc Kafka modules.

All network I/O of the ``kafka_topic`` module lives here, so that the module itself
only computes a plan (pure) and hands its actions to :meth:`TopicAdmin.apply`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import time
import traceback

from .kafka_conn import build_config

try:  # the record client needs only these (Debian bookworm's python3-confluent-kafka 1.7 has them)
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
except ImportError:
    Consumer = Producer = TopicPartition = None
try:
    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        NewPartitions,
        NewTopic,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )
except ImportError:
    HAS_CONFLUENT_KAFKA = False
    CONFLUENT_KAFKA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CONFLUENT_KAFKA = True
    CONFLUENT_KAFKA_IMPORT_ERROR = None

# Never let a metadata lookup auto-create a topic (the librdkafka producer-side default is true).
DEFAULT_CLIENT_CONFIG = {'allow.auto.create.topics': False}
# Seconds between metadata polls while waiting for a created/extended/deleted topic.
POLL_INTERVAL = 0.5
# Extra seconds granted to a future beyond the request timeout handed to librdkafka.
FUTURE_GRACE = 5


class KafkaAdminError(Exception):
    """A Kafka admin operation failed; the message is meant for the user."""


class _LogBuffer(logging.Handler):
    """Keeps the last few distinct librdkafka log lines, to explain connection failures."""

    def __init__(self, size=3):
        super().__init__()
        self.lines = collections.deque(maxlen=size)

    def emit(self, record):
        line = record.getMessage()
        if not self.lines or self.lines[-1] != line:
            self.lines.append(line)


def _source_value(source):
    return getattr(source, 'value', source)


class _Admin:
    """An ``AdminClient`` built from the connection options, and the error texts of its failures."""

    def __init__(self, bootstrap_servers, client_config=None, timeout=30, client_factory=None):
        self.timeout = timeout
        self._logs = _LogBuffer()
        logger = logging.getLogger('%s.client%x' % (__name__, id(self)))
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self._logs)
        conf = build_config(bootstrap_servers, client_config, DEFAULT_CLIENT_CONFIG)
        conf['logger'] = logger
        self.client = None
        try:
            self.client = (client_factory or AdminClient)(conf)
        except (KafkaException, ValueError, TypeError) as e:
            raise KafkaAdminError('invalid Kafka client configuration: %s' % self._error_text(e)) from None

    # -- error handling -------------------------------------------------------------------------

    def _client_log(self):
        poll = getattr(self.client, 'poll', None)
        if poll is not None:
            poll(0)  # delivers queued librdkafka log lines to the logger
        if self._logs.lines:
            return '; last client log: %s' % ' | '.join(self._logs.lines)
        return ''

    def _error_text(self, exc):
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError):
            text = '%s (%s)' % (err.str(), err.name())
            if err.code() < 0:  # local error: timeout, transport, auth...
                text += self._client_log()
            return text
        return str(exc)

    def _wait(self, future, what):
        """The future's result; a failure or timeout as KafkaAdminError naming ``what`` ("creating topic x")."""
        try:
            return future.result(timeout=self.timeout + FUTURE_GRACE)
        except KafkaException as e:
            raise KafkaAdminError('failed %s: %s' % (what, self._error_text(e))) from None
        except concurrent.futures.TimeoutError:
            raise KafkaAdminError('timed out after %ss %s%s' % (self.timeout, what, self._client_log())) from None



class TopicAdmin(_Admin):
    """Reads and changes one topic at a time."""

    def _describe_partitions(self, name):
        """Return ``{partitions, replication_factor, ready}`` or ``None`` if the topic does not exist.

        ``ready`` is true when every partition has a leader."""
        futures = self.client.describe_topics(TopicCollection([name]), request_timeout=self.timeout)
        try:
            desc = futures[name].result(timeout=self.timeout + FUTURE_GRACE)
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return None
            raise KafkaAdminError('failed describing topic %s: %s' % (name, self._error_text(e))) from None
        except concurrent.futures.TimeoutError:
            raise KafkaAdminError('timed out after %ss describing topic %s%s'
                                  % (self.timeout, name, self._client_log())) from None
        parts = desc.partitions
        return {
            'partitions': len(parts),
            'replication_factor': max((len(p.replicas) for p in parts), default=0),
            'ready': all(p.leader is not None for p in parts),
        }

    def describe_topic(self, name):
        """Current state of a topic, or ``None`` if it does not exist.

        ``configs`` holds the explicitly set (dynamic topic) configs, ``all_configs`` every
        config the broker reports for the topic, including defaults.
        """
        shape = self._describe_partitions(name)
        if shape is None:
            return None
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        futures = self.client.describe_configs([resource], request_timeout=self.timeout)
        entries = self._wait(futures[resource], 'describing configs of topic ' + name) or {}
        dynamic = _source_value(ConfigSource.DYNAMIC_TOPIC_CONFIG)
        return {
            'name': name,
            'partitions': shape['partitions'],
            'replication_factor': shape['replication_factor'],
            'configs': {k: e.value for k, e in entries.items() if _source_value(e.source) == dynamic},
            'all_configs': {k: e.value for k, e in entries.items()},
        }

    def wait_for_topic(self, name, partitions=None):
        """Poll metadata until the topic has ``partitions`` partitions, each with a leader, or,
        if ``partitions`` is ``None``, until it no longer exists. Returns the shape last seen."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                shape, last = self._describe_partitions(name), None
                if partitions is None and shape is None:
                    return None
                if partitions is not None and shape and shape['ready'] and shape['partitions'] >= partitions:
                    return shape
            except KafkaAdminError as e:  # e.g. leader not yet available: retry until the deadline
                last = e
            if time.monotonic() >= deadline:
                wanted = 'to disappear' if partitions is None else 'to show %d partitions with leaders' % partitions
                raise KafkaAdminError('timed out after %ss waiting for metadata of topic %s %s%s'
                                      % (self.timeout, name, wanted, '; last error: %s' % last if last else ''))
            time.sleep(POLL_INTERVAL)

    # -- changing -------------------------------------------------------------------------------

    def create_topic(self, name, partitions, replication_factor=-1, configs=None):
        new = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                       config=dict(configs or {}))
        futures = self.client.create_topics([new], operation_timeout=self.timeout, request_timeout=self.timeout)
        self._wait(futures[name], 'creating topic ' + name)
        shape = self.wait_for_topic(name, partitions)
        return {'partitions': shape['partitions'], 'replication_factor': shape['replication_factor']}

    def add_partitions(self, name, total):
        futures = self.client.create_partitions([NewPartitions(name, total)],
                                                operation_timeout=self.timeout, request_timeout=self.timeout)
        self._wait(futures[name], 'adding partitions to topic ' + name)
        shape = self.wait_for_topic(name, total)
        return {'partitions': shape['partitions'], 'replication_factor': shape['replication_factor']}

    def alter_configs(self, name, set_configs=None, delete_keys=None):
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                   for k, v in (set_configs or {}).items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE)
                    for k in (delete_keys or [])]
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
        futures = self.client.incremental_alter_configs([resource], request_timeout=self.timeout)
        self._wait(futures[resource], 'altering configs of topic ' + name)

    def delete_topic(self, name):
        futures = self.client.delete_topics([name], operation_timeout=self.timeout, request_timeout=self.timeout)
        self._wait(futures[name], 'deleting topic ' + name)
        self.wait_for_topic(name, None)

    def apply(self, action):
        """Apply one plan action as computed by the ``kafka_topic`` module."""
        kind, name = action['action'], action['topic']
        if kind == 'create':
            return self.create_topic(name, action['partitions'], action['replication_factor'], action['configs'])
        if kind == 'add_partitions':
            return self.add_partitions(name, action['to'])
        if kind == 'alter_configs':
            return self.alter_configs(name, action['set'], action['delete'])
        if kind == 'delete':
            return self.delete_topic(name)
        raise KafkaAdminError('unknown plan action %r for topic %s' % (kind, name))


# -- ACLs ---------------------------------------------------------------------------------------

# Kafka's name of the one cluster resource.
CLUSTER_RESOURCE = 'kafka-cluster'


class AclAdmin(_Admin):
    """Reads, creates and deletes the ACL bindings of one principal. A binding is a plain dict (``resource_type``,
    ``resource_name``, ``pattern_type``, ``operation``, ``permission``, ``host``; lower-case values as in the
    ``kafka_acl`` module) so that the module's plan never touches confluent-kafka types."""

    @staticmethod
    def _binding(acl, principal, cls=None):
        # librdkafka calls Kafka's CLUSTER resource type (4) BROKER.
        kind = 'BROKER' if acl['resource_type'] == 'cluster' else acl['resource_type'].upper()
        return (cls or AclBinding)(
            ResourceType[kind], acl['resource_name'],
            ResourcePatternType[acl['pattern_type'].upper()], principal, acl['host'],
            AclOperation[acl['operation'].upper()], AclPermissionType[acl['permission'].upper()])

    @staticmethod
    def _plain(binding):
        kind = binding.restype.name.lower()
        return {'resource_type': 'cluster' if kind == 'broker' else kind, 'resource_name': binding.name,
                'pattern_type': binding.resource_pattern_type.name.lower(), 'operation': binding.operation.name.lower(),
                'permission': binding.permission_type.name.lower(), 'host': binding.host}

    def describe(self, principal):
        """Every ACL binding of ``principal`` (any resource, pattern, operation, host)."""
        flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None,
                               AclOperation.ANY, AclPermissionType.ANY)
        future = self.client.describe_acls(flt, request_timeout=self.timeout)
        return [self._plain(b) for b in self._wait(future, 'describing the ACLs of ' + principal) or []]

    def create(self, principal, acls):
        if acls:
            futures = self.client.create_acls([self._binding(a, principal) for a in acls], request_timeout=self.timeout)
            for future in futures.values():
                self._wait(future, 'creating the ACLs of ' + principal)

    def delete(self, principal, acls):
        if acls:
            filters = [self._binding(a, principal, AclBindingFilter) for a in acls]
            futures = self.client.delete_acls(filters, request_timeout=self.timeout)
            for future in futures.values():
                self._wait(future, 'deleting the ACLs of ' + principal)


# -- SCRAM credentials --------------------------------------------------------------------------


class ScramAdmin(_Admin):
    """Reads, writes and deletes users' SCRAM credentials. A credential is a plain dict (``mechanism`` as Kafka spells
    it, ``SCRAM-SHA-512``, and ``iterations``); Kafka never returns a salt or key, so nothing here can compare
    passwords. Error texts name the user, never the password."""

    @staticmethod
    def _mechanism(name):
        return ScramMechanism[name.replace('-', '_')]

    def _wait_scram(self, future, doing, user, missing_ok=False):
        try:
            result = future.result(timeout=self.timeout + FUTURE_GRACE)
            if isinstance(result, KafkaError):  # a per-user error handed back as a value, not raised
                raise KafkaException(result)
            return result
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if missing_ok and isinstance(err, KafkaError) and err.code() == KafkaError.RESOURCE_NOT_FOUND:
                return None  # Kafka's answer for a user without any credential
            raise KafkaAdminError('failed %s of user %s: %s' % (doing, user, self._error_text(e))) from None
        except concurrent.futures.TimeoutError:
            raise KafkaAdminError('timed out after %ss %s of user %s%s'
                                  % (self.timeout, doing, user, self._client_log())) from None

    def describe(self, names):
        """``{user: [{mechanism, iterations}, ...]}`` (sorted by mechanism) of the ``names`` that have credentials."""
        names = sorted(set(names))
        if not names:
            return {}
        futures = self.client.describe_user_scram_credentials(names, request_timeout=self.timeout)
        out = {}
        for name in names:
            desc = self._wait_scram(futures[name], 'describing the SCRAM credentials', name, missing_ok=True)
            infos = [{'mechanism': i.mechanism.name.replace('_', '-'), 'iterations': i.iterations}
                     for i in (getattr(desc, 'scram_credential_infos', None) or [])]
            if infos:
                out[name] = sorted(infos, key=lambda i: i['mechanism'])
        return out

    def _alter(self, alteration, doing, user):
        try:
            futures = self.client.alter_user_scram_credentials([alteration], request_timeout=self.timeout)
        except (TypeError, ValueError) as e:  # the client's own checks; their texts hold no password
            raise KafkaAdminError('failed %s of user %s: %s' % (doing, user, e)) from None
        self._wait_scram(futures[user], doing, user)

    def upsert(self, name, mechanism, password, iterations):
        """Create or overwrite the ``mechanism`` credential of ``name`` (the broker salts and hashes ``password``)."""
        info = ScramCredentialInfo(self._mechanism(mechanism), iterations)
        alteration = UserScramCredentialUpsertion(name, info, str(password or '').encode('utf-8'))
        self._alter(alteration, 'setting the %s credential' % mechanism, name)

    def delete(self, name, mechanism):
        alteration = UserScramCredentialDeletion(name, self._mechanism(mechanism))
        self._alter(alteration, 'deleting the %s credential' % mechanism, name)


# -- records ------------------------------------------------------------------------------------

# Producer settings of every record Sluice writes itself (DLQ copies, replays, markers): nothing acknowledged that
# is not on every in-sync replica, no duplicate from a retry.
SAFE_PRODUCER_CONFIG = {'acks': 'all', 'enable.idempotence': True}


class RecordClient:
    """Reads single records and partitions as raw bytes (no deserialization) and produces records durably.

    ``client_config`` holds librdkafka settings (SASL, TLS); the factories exist for tests."""

    def __init__(self, bootstrap_servers, client_config=None, timeout=30, consumer_factory=None,
                 producer_factory=None):
        self.timeout = timeout
        self.conf = build_config(bootstrap_servers, client_config, DEFAULT_CLIENT_CONFIG)
        self._consumer_factory = consumer_factory or Consumer
        self._producer_factory = producer_factory or Producer
        self._producer = None

    def consumer(self, group_id=None, **extra):
        conf = dict(self.conf, **{'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
                                  'enable.partition.eof': True})
        conf['group.id'] = group_id or 'sluice-reader'
        conf.update(extra)
        try:
            return self._consumer_factory(conf)
        except (KafkaException, ValueError, TypeError) as e:
            raise KafkaAdminError('invalid Kafka client configuration: %s' % e) from None

    def partitions(self, topic):
        """The partition numbers of ``topic`` (empty if it does not exist)."""
        consumer = self.consumer()
        try:
            meta = consumer.list_topics(topic, timeout=self.timeout)
            info = meta.topics.get(topic)
            if info is None or info.error is not None:
                return []
            return sorted(info.partitions)
        finally:
            consumer.close()

    def watermarks(self, topic, partitions=None):
        """``{partition: (low, high)}`` of ``topic``."""
        consumer = self.consumer()
        try:
            out = {}
            if partitions is None:
                meta = consumer.list_topics(topic, timeout=self.timeout)
                info = meta.topics.get(topic)
                partitions = sorted(info.partitions) if info is not None and info.error is None else []
            for p in partitions:
                out[p] = tuple(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=self.timeout))
            return out
        except KafkaException as e:
            raise KafkaAdminError('failed reading the offsets of topic %s: %s' % (topic, e)) from None
        finally:
            consumer.close()

    @staticmethod
    def _record(msg):
        return {'topic': msg.topic(), 'partition': msg.partition(), 'offset': msg.offset(), 'key': msg.key(),
                'value': msg.value(), 'headers': list(msg.headers() or []),
                'timestamp': (msg.timestamp() or (0, 0))[1]}

    def scan(self, topic, partition, start, end=None):
        """Yield the records of one partition from offset ``start`` up to (excluding) ``end`` (default: the high
        watermark when the scan starts), each a dict with raw ``key``, ``value`` and ``headers``."""
        consumer = self.consumer()
        try:
            if end is None:
                end = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=self.timeout)[1]
            if start >= end:
                return
            consumer.assign([TopicPartition(topic, partition, start)])
            deadline = time.monotonic() + self.timeout
            while True:
                msg = consumer.poll(1.0)
                if msg is None:
                    if time.monotonic() > deadline:
                        raise KafkaAdminError('timed out after %ss reading %s[%d] at offset %d'
                                              % (self.timeout, topic, partition, start))
                    continue
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        return
                    raise KafkaAdminError('failed reading %s[%d]: %s' % (topic, partition, msg.error().str()))
                deadline = time.monotonic() + self.timeout
                if msg.offset() >= end:
                    return
                yield self._record(msg)
                if msg.offset() + 1 >= end:
                    return
        finally:
            consumer.close()

    def read(self, topic, partition, offset):
        """The record at ``offset`` of ``topic[partition]``, or ``None`` if there is none (deleted or compacted)."""
        for record in self.scan(topic, partition, offset, offset + 1):
            return record if record['offset'] == offset else None
        return None

    def produce(self, topic, key, value, headers=None, partition=None):
        """Write one record and wait until every in-sync replica has it; returns ``(partition, offset)``."""
        if self._producer is None:
            try:
                self._producer = self._producer_factory(dict(self.conf, **SAFE_PRODUCER_CONFIG))
            except (KafkaException, ValueError, TypeError) as e:
                raise KafkaAdminError('invalid Kafka client configuration: %s' % e) from None
        result = {}

        def delivered(err, msg):
            result['error'] = err
            if err is None:
                result['at'] = (msg.partition(), msg.offset())

        kwargs = {'key': key, 'value': value, 'headers': list(headers or []), 'on_delivery': delivered}
        if partition is not None:
            kwargs['partition'] = partition
        self._producer.produce(topic, **kwargs)
        remaining = self._producer.flush(self.timeout)
        if remaining or 'error' not in result:
            raise KafkaAdminError('timed out after %ss writing a record to %s' % (self.timeout, topic))
        if result['error'] is not None:
            raise KafkaAdminError('failed writing a record to %s: %s' % (topic, result['error']))
        return result['at']
