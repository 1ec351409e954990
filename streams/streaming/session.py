"""A Kafka to talk to: the given brokers, or an embedded broker with one worker of our own."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from streams.kafka.settings import KafkaSettings
from streams.policy.model import Policy
from streams.streaming.app import WorkerConfig
from streams.streaming.run import (
    EMBEDDED_TIMING,
    WorkerProcess,
    create_topics,
    event_worker_args,
)


@contextmanager
def kafka_session(
    settings: KafkaSettings,
    policy: Policy,
    embedded: bool,
    worker_args: Sequence[str] = (),
    log_dir: Path | None = None,
) -> Iterator[KafkaSettings]:
    """Topics exist when this yields; with ``embedded`` a broker and one event-clock worker run
    until the block exits (also on Ctrl-C), leaving no process behind."""
    with ExitStack() as stack:
        if embedded:
            from streams.kafka.broker import EmbeddedBroker

            broker = stack.enter_context(EmbeddedBroker())
            settings = replace(settings, brokers=(broker.bootstrap,))
            create_topics(WorkerConfig(settings, policy))
            logs = log_dir or Path(tempfile.mkdtemp(prefix="holdwatch-"))
            args = [
                *event_worker_args(),
                *EMBEDDED_TIMING,
                *worker_args,
            ]  # later flags win (argparse)
            stack.enter_context(WorkerProcess(settings, args, logs / "worker.log"))
        else:
            create_topics(WorkerConfig(settings, policy))
        yield settings
