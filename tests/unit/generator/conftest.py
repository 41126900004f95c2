"""Shared fixtures of the cdcgen unit tests (no Kafka: the producer is faked)."""
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]  # the repository root
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so that `tests.support.cdcgen` imports as it does for `python -m`

from cdcgen_testlib import FakeProducer  # noqa: E402
from tests.support.cdcgen import Generator, SteppingClock  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture
def gen():
    """A generator with a deterministic clock (1 ms per reading from 2023-11-14T22:13:20Z)."""
    return Generator(clock=SteppingClock())


@pytest.fixture
def load_fixture():
    def load(name):
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def fake_producer():
    return FakeProducer()
