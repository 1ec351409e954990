"""A real Kafka-protocol broker (embedded Tansu) and real worker processes; no mocks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.run import WorkerProcess, fresh_topics

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def settings(broker: EmbeddedBroker) -> KafkaSettings:
    """Fresh topics (own prefix, so own consumer group and changelog) for each test."""
    return fresh_topics([broker.bootstrap], load_policy())


WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(settings: KafkaSettings, tmp_path: Path) -> Iterator[WorkerFactory]:
    started: list[WorkerProcess] = []
    numbers = itertools.count(1)

    def start(*args: str) -> WorkerProcess:
        worker = WorkerProcess(
            settings,
            ["--store", "memory", "--metrics-port", "0", *args],
            tmp_path / f"worker{next(numbers)}.log",
        )
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
