"""kafka_admin.RecordClient with fake librdkafka consumer/producer: raw reads, scans, durable produce."""
import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_admin
from ansible_collections.sluice.cdc.plugins.module_utils.kafka_admin import KafkaAdminError, RecordClient


class Err:
    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code

    def str(self):
        return 'error %s' % self._code


class Msg:
    def __init__(self, topic, partition, offset, key=b'k', value=b'v', headers=None, error=None):
        self._t, self._p, self._o, self._k, self._v, self._h, self._e = (topic, partition, offset, key, value,
                                                                         headers, error)

    def topic(self):
        return self._t

    def partition(self):
        return self._p

    def offset(self):
        return self._o

    def key(self):
        return self._k

    def value(self):
        return self._v

    def headers(self):
        return self._h

    def timestamp(self):
        return (1, 1700000000000)

    def error(self):
        return self._e


class Meta:
    def __init__(self, topics):
        self.topics = topics


class Info:
    def __init__(self, partitions, error=None):
        self.partitions = {p: None for p in partitions}
        self.error = error


class FakeConsumer:
    data = {('t', 0): [b'a', b'b', b'c']}

    def __init__(self, conf):
        self.conf = conf
        self.queue = []

    def list_topics(self, topic, timeout=None):
        return Meta({'t': Info([0, 1])} if topic == 't' else {})

    def get_watermark_offsets(self, tp, timeout=None):
        return 0, len(self.data.get((tp.topic, tp.partition), []))

    def assign(self, tps):
        tp = tps[0]
        recs = self.data.get((tp.topic, tp.partition), [])
        self.queue = [Msg(tp.topic, tp.partition, i, value=v, headers=[('h', b'1')])
                      for i, v in enumerate(recs) if i >= tp.offset]
        self.queue.append(Msg(tp.topic, tp.partition, -1, error=Err(kafka_admin.KafkaError._PARTITION_EOF)))

    def poll(self, timeout):
        return self.queue.pop(0) if self.queue else None

    def close(self):
        pass


class FakeProducer:
    def __init__(self, conf):
        self.conf = conf
        self.sent = []
        self.fail = None

    def produce(self, topic, key=None, value=None, headers=None, on_delivery=None, partition=None):
        self.sent.append((topic, key, value, headers, partition))
        self.callback = lambda: on_delivery(self.fail, Msg(topic, partition or 0, 41))

    def flush(self, timeout):
        self.callback()
        return 0


def client():
    return RecordClient(['b1:9092', 'b2:9092'], client_config={'security.protocol': 'SASL_SSL'},
                        consumer_factory=FakeConsumer, producer_factory=FakeProducer, timeout=1)


def test_reads_scans_and_watermarks():
    c = client()
    assert c.conf['bootstrap.servers'] == 'b1:9092,b2:9092' and c.conf['allow.auto.create.topics'] is False
    assert c.partitions('t') == [0, 1] and c.partitions('missing') == []
    assert c.watermarks('t') == {0: (0, 3), 1: (0, 0)}
    assert [r['value'] for r in c.scan('t', 0, 1)] == [b'b', b'c']
    rec = c.read('t', 0, 2)
    assert rec['offset'] == 2 and rec['headers'] == [('h', b'1')] and rec['timestamp'] == 1700000000000
    assert c.read('t', 0, 9) is None
    assert list(c.scan('t', 1, 0)) == []


def test_produce_is_durable_and_reports_errors():
    c = client()
    assert c.produce('dlq', b'k', b'v', [('a', b'b')], partition=2) == (2, 41)
    assert c._producer.conf['acks'] == 'all' and c._producer.conf['enable.idempotence'] is True
    c._producer.fail = 'broker down'
    with pytest.raises(KafkaAdminError, match='broker down'):
        c.produce('dlq', b'k', b'v')
