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

try:
    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        NewPartitions,
        NewTopic,
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


class TopicAdmin:
    """Reads and changes one topic at a time through an ``AdminClient``."""

    def __init__(self, bootstrap_servers, client_config=None, timeout=30, client_factory=None):
        self.timeout = timeout
        self._logs = _LogBuffer()
        logger = logging.getLogger('%s.client%x' % (__name__, id(self)))
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self._logs)
        conf = dict(DEFAULT_CLIENT_CONFIG)
        conf.update(client_config or {})
        conf['bootstrap.servers'] = ','.join(bootstrap_servers)
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

    def _wait(self, future, doing, topic):
        try:
            return future.result(timeout=self.timeout + FUTURE_GRACE)
        except KafkaException as e:
            raise KafkaAdminError('failed %s topic %s: %s' % (doing, topic, self._error_text(e))) from None
        except concurrent.futures.TimeoutError:
            raise KafkaAdminError('timed out after %ss %s topic %s%s'
                                  % (self.timeout, doing, topic, self._client_log())) from None

    # -- reading --------------------------------------------------------------------------------

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
        entries = self._wait(futures[resource], 'describing configs of', name) or {}
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
        self._wait(futures[name], 'creating', name)
        shape = self.wait_for_topic(name, partitions)
        return {'partitions': shape['partitions'], 'replication_factor': shape['replication_factor']}

    def add_partitions(self, name, total):
        futures = self.client.create_partitions([NewPartitions(name, total)],
                                                operation_timeout=self.timeout, request_timeout=self.timeout)
        self._wait(futures[name], 'adding partitions to', name)
        shape = self.wait_for_topic(name, total)
        return {'partitions': shape['partitions'], 'replication_factor': shape['replication_factor']}

    def alter_configs(self, name, set_configs=None, delete_keys=None):
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                   for k, v in (set_configs or {}).items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE)
                    for k in (delete_keys or [])]
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
        futures = self.client.incremental_alter_configs([resource], request_timeout=self.timeout)
        self._wait(futures[resource], 'altering configs of', name)

    def delete_topic(self, name):
        futures = self.client.delete_topics([name], operation_timeout=self.timeout, request_timeout=self.timeout)
        self._wait(futures[name], 'deleting', name)
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
