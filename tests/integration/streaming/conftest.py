"""A real Kafka-protocol broker (embedded Tansu) and real worker processes; no mocks."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.run import WorkerProcess, create_topics

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def settings(broker: EmbeddedBroker) -> KafkaSettings:
    """Fresh topics (own prefix, so own consumer group and changelog) for each test."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    config = WorkerConfig(
        replace(KafkaSettings(), brokers=(broker.bootstrap,), topic_prefix=prefix, partitions=4),
        load_policy(),
    )
    create_topics(config)
    return config.kafka


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
