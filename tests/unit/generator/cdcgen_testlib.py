"""Helpers shared by the cdcgen unit tests (a distinct module name: test directories here have no packages)."""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]  # the repository root


def payload(record):
    """The value payload of a record as Python objects."""
    return json.loads(record.value)["payload"]


class FakeMessage:
    def __init__(self, topic, key, value):
        self._topic, self._key, self._value = topic, key, value

    def topic(self):
        return self._topic

    def key(self):
        return self._key

    def value(self):
        return self._value


class FakeProducer:
    """Mimics confluent_kafka.Producer: produce() queues, poll()/flush() fire delivery callbacks."""

    def __init__(self, fail_topics=(), buffer_errors=0, stuck=0):
        self.produced = []
        self.pending = []
        self.fail_topics = set(fail_topics)
        self.buffer_errors = buffer_errors
        self.stuck = stuck
        self.polls = 0

    def produce(self, topic, key=None, value=None, on_delivery=None):
        if self.buffer_errors:
            self.buffer_errors -= 1
            raise BufferError("Local: Queue full")
        self.produced.append((topic, key, value))
        self.pending.append((FakeMessage(topic, key, value), on_delivery))

    def poll(self, timeout=0):
        self.polls += 1
        served = 0
        while self.pending:
            msg, callback = self.pending.pop(0)
            error = "Broker: topic authorization failed" if msg.topic() in self.fail_topics else None
            callback(error, msg)
            served += 1
        return served

    def flush(self, timeout=None):
        self.poll()
        return self.stuck
