"""A Kafka to talk to: the given brokers, or an embedded broker with one worker of our own."""

from __future__ import annotations

import tempfile
import uuid
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
    own_worker: bool | None = None,
) -> Iterator[KafkaSettings]:
    """Topics exist when this yields; with ``embedded`` a broker and one event-clock worker run
    until the block exits (also on Ctrl-C), leaving no process behind.

    ``own_worker`` (default: ``embedded``) starts that worker on the given brokers too (``holdwatch
    demo --broker``): then on topics of its own (a fresh prefix), so a demo never mixes with the
    cluster's production topics, and with the worker's default timing, which Apache Kafka accepts.
    """
    own_worker = embedded if own_worker is None else own_worker
    with ExitStack() as stack:
        timing: Sequence[str] = ()
        if embedded:
            from streams.kafka.broker import EmbeddedBroker

            broker = stack.enter_context(EmbeddedBroker())
            settings = replace(settings, brokers=(broker.bootstrap,))
            timing = EMBEDDED_TIMING
        elif own_worker:
            settings = replace(settings, topic_prefix=f"holdwatch-demo-{uuid.uuid4().hex[:8]}.")
        create_topics(WorkerConfig(settings, policy))
        if own_worker:
            logs = log_dir or Path(tempfile.mkdtemp(prefix="holdwatch-"))
            args = [*event_worker_args(), *timing, *worker_args]  # later flags win (argparse)
            stack.enter_context(WorkerProcess(settings, args, logs / "worker.log"))
        yield settings
