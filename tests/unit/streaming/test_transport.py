"""The worker's consumer long-polls for ``fetch_max_wait``, not Faust's hard-coded 1.5 s.

On main the wait was 1.5 s; on the embedded Tansu broker, which answers a waiting fetch only after
the wait, that made a live deadline alert take 0.8-0.95 s of the 1 s promised (two hops).
"""

from __future__ import annotations

import asyncio
from typing import Any

from streams.kafka.settings import KafkaSettings
from streams.streaming.app import Worker, WorkerConfig
from streams.streaming.transport import HoldwatchApp


def consumer_wait_ms(worker: Worker) -> int:
    """The fetch wait of the aiokafka consumer the worker's Faust consumer thread would start."""

    async def build() -> int:
        thread = worker.app.consumer._thread
        consumer = thread._create_worker_consumer(worker.app.transport)
        return int(consumer._fetch_max_wait_ms)

    return asyncio.run(build())


def test_the_consumer_waits_at_most_the_configured_fetch_wait(default_policy: Any) -> None:
    config = WorkerConfig(KafkaSettings(), default_policy, clock="event", fetch_max_wait=0.2)
    worker = Worker(config)
    assert isinstance(worker.app, HoldwatchApp)
    assert consumer_wait_ms(worker) == 200


def test_the_default_wait_is_apache_kafkas_half_second(default_policy: Any) -> None:
    worker = Worker(WorkerConfig(KafkaSettings(), default_policy, clock="event"))
    assert consumer_wait_ms(worker) == 500
