"""The two brokers the Kafka integration tests run on: the embedded Tansu broker (what
``holdwatch demo`` uses) and Apache Kafka, configured as docker-compose.yml's ``kafka`` service
(``streams/kafka/apache.py``). A test module parametrizes its ``broker`` fixture with
:data:`BROKERS`; :func:`worker_flags` gives the worker flags each broker accepts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streams.kafka.broker import BrokerProcess, EmbeddedBroker
from streams.streaming.run import EMBEDDED_TIMING

BROKERS = ("tansu", "kafka")
#: Apache Kafka's smallest session timeout by default (group.min.session.timeout.ms = 6000):
#: the fastest rebalance after a SIGKILL that the compose broker accepts.
KAFKA_WORKER_FLAGS = ("--session-timeout", "6", "--heartbeat-interval", "1")


def worker_flags(kind: str) -> tuple[str, ...]:
    """The worker flags each broker needs (timing; Tansu's changelog sync)."""
    return EMBEDDED_TIMING if kind == "tansu" else KAFKA_WORKER_FLAGS


def kafka_available() -> str | None:
    """Why Apache Kafka cannot run here, or None (`.ci/run` installs and pre-fetches it)."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            return f"Apache Kafka tests need `{tool}` (Java 17 and Maven; see .ci/run)"
    return None


@contextmanager
def running_broker(kind: str, log_dir: Path | None = None) -> Iterator[BrokerProcess]:
    """A started broker of ``kind``, stopped (by PID) when the block exits."""
    log = str(log_dir / f"{kind}.log") if log_dir is not None else None
    if kind == "kafka":
        reason = kafka_available()
        if reason is not None:
            pytest.skip(reason)
        from streams.kafka.apache import ApacheKafka

        with ApacheKafka(log_path=log) as kafka:
            yield kafka
    else:
        with EmbeddedBroker(log_path=log) as tansu:
            yield tansu
