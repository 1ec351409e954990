"""A real Kafka-protocol broker (embedded Tansu) and real worker processes; no mocks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.kafka.broker import BrokerProcess
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.run import WorkerProcess, fresh_topics
from tests.integration.brokers import BROKERS, running_broker, worker_flags

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module", params=BROKERS)
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerProcess]:
    """Every test here runs on the embedded Tansu broker and on Apache Kafka."""
    with running_broker(request.param) as running:
        yield running


@pytest.fixture
def broker_kind(broker: BrokerProcess) -> str:
    return "tansu" if broker.name == "Tansu" else "kafka"


@pytest.fixture
def settings(broker: BrokerProcess) -> KafkaSettings:
    """Fresh topics (own prefix, so own consumer group and changelog) for each test."""
    return fresh_topics([broker.bootstrap], load_policy())


WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(
    settings: KafkaSettings, tmp_path: Path, broker_kind: str
) -> Iterator[WorkerFactory]:
    started: list[WorkerProcess] = []
    numbers = itertools.count(1)

    def start(*args: str) -> WorkerProcess:
        worker = WorkerProcess(
            settings,
            # INFO: a failure's worker log tells its rebalances and Faust's recovery
            [
                *("--log-level", "info", "--store", "memory", "--metrics-port", "0"),
                *worker_flags(broker_kind),
                *args,
            ],
            tmp_path / f"worker{next(numbers)}.log",
        )
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
