# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One active supervisor per Connect cluster: every supervisor joins one Kafka consumer group (``leader_group``)
subscribed to a one-partition topic (``leader_topic``); the member that owns partition 0 is active. Kafka's group
protocol gives the partition to exactly one live member and moves it when that member leaves or stops heartbeating
(``session.timeout.ms``). A background thread polls the consumer, so a long quarantine does not cost the lease."""

from __future__ import annotations

import threading

SESSION_TIMEOUT_MS = 15000


class AlwaysLeader:
    """``leader_mode: always`` (one supervisor by construction, or tests)."""

    active = True

    def start(self):
        return self

    def stop(self):
        pass


class KafkaLeader:
    def __init__(self, records, topic, group, log):
        self.records, self.topic, self.group, self.log = records, topic, group, log
        self.active = False
        self._stop = threading.Event()
        self._thread = None
        self._consumer = None

    def _assigned(self, _consumer, partitions):
        now = any(p.partition == 0 for p in partitions)
        if now != self.active:
            self.log('leadership', active=now, group=self.group)
        self.active = now

    def _revoked(self, _consumer, _partitions):
        if self.active:
            self.log('leadership', active=False, group=self.group)
        self.active = False

    def start(self):
        if not self.records.partitions(self.topic):
            self.log('leader_topic_missing', topic=self.topic,
                     note='standing by until the topic exists (the supervisor role creates it)')
        self._consumer = self.records.consumer(group_id=self.group, **{
            'session.timeout.ms': SESSION_TIMEOUT_MS, 'enable.partition.eof': False})
        try:
            self._consumer.subscribe([self.topic], on_assign=self._assigned, on_revoke=self._revoked,
                                     on_lost=self._revoked)
        except TypeError:  # confluent-kafka without on_lost
            self._consumer.subscribe([self.topic], on_assign=self._assigned, on_revoke=self._revoked)
        self._thread = threading.Thread(target=self._run, name='leader', daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self._consumer.poll(1.0)   # serves the group protocol; the topic holds no records

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._consumer is not None:
            self._consumer.close()
        self.active = False
