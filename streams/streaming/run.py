"""Run a worker in this process (``holdwatch worker``) or as a child process (replay, demo, tests)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from streams.kafka.settings import KafkaSettings
from streams.kafka.topics import ensure_topics
from streams.policy.model import Policy
from streams.streaming import jurisdictions
from streams.streaming.app import Worker, WorkerConfig

log = logging.getLogger("holdwatch.worker")


def create_topics(config: WorkerConfig) -> dict[str, int]:
    """Inputs, outputs and the case changelog, all with the configured partition count."""
    names = config.kafka.topics
    wanted = [
        *names.inputs,
        *names.outputs,
        config.changelog_topic,
        *jurisdictions.topic_names(config),
    ]
    return ensure_topics(
        config.kafka.kafka_python_kwargs(), wanted, partitions=config.kafka.partitions
    )


def fresh_topics(
    brokers: Sequence[str], policy: Policy, partitions: int = 4, tag: str = "t"
) -> KafkaSettings:
    """Settings for topics of their own (a new prefix: own consumer group, own changelog), created.

    What a test, a benchmark or a throwaway replay wants on a shared broker."""
    settings = replace(
        KafkaSettings(),
        brokers=tuple(brokers),
        topic_prefix=f"{tag}{uuid.uuid4().hex[:8]}.",
        partitions=partitions,
    )
    create_topics(WorkerConfig(settings, policy))
    return settings


#: Worker timing for the embedded Tansu broker, which accepts any session timeout: a crashed
#: worker's partitions move within seconds. Apache Kafka needs the worker's defaults.
EMBEDDED_TIMING = ("--session-timeout", "2", "--heartbeat-interval", "0.5")


def event_worker_args(metrics_port: int | None = None, *extra: str) -> list[str]:
    """Flags of a worker for recorded logs: event clock, memory store, /metrics on loopback."""
    metrics = ["--metrics-port", str(metrics_port or 0)]
    if metrics_port:
        metrics += ["--metrics-host", "127.0.0.1"]
    return ["--clock", "event", "--store", "memory", *metrics, *extra]


def run_in_process(
    config: WorkerConfig,
    metrics_port: int | None = None,
    metrics_host: str = "0.0.0.0",
    loglevel: str = "warning",
) -> None:
    from streams.observability.metrics import WorkerMetrics

    metrics = WorkerMetrics.create(config.policy)
    if metrics_port is not None:
        metrics.serve(metrics_host, metrics_port)
    create_topics(config)
    worker = Worker(config, metrics)
    log.warning(
        "holdwatch worker starting: %s clock=%s store=%s",
        config.kafka.describe(),
        config.clock,
        config.store,
    )
    faust_runner(worker.app, loglevel).execute_from_commandline()


def faust_runner(app: Any, loglevel: str = "warning") -> Any:
    """Faust's worker for ``app``, without its start-up spinner.

    Faust keeps the spinner unless the level is below WARNING, and for it sets the root logger to
    DEBUG: every aiokafka and Faust debug record is then built and dropped, about a tenth of a
    busy worker's CPU (profile in docs/performance.md).
    """
    import faust

    runner = faust.Worker(app, loglevel=loglevel, quiet=True)
    runner.spinner = None
    return runner


class WorkerProcess:
    """``holdwatch worker`` as a child process, stopped (and reaped) with the parent's context."""

    def __init__(
        self, settings: KafkaSettings, extra: Sequence[str] = (), log_path: str | Path | None = None
    ) -> None:
        self.settings = settings
        self.extra = list(extra)
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        args = [
            sys.executable,
            "-m",
            "streams",
            "worker",
            "--broker",
            ",".join(self.settings.broker_urls),
            "--topic-prefix",
            self.settings.topic_prefix,
            "--partitions",
            str(self.settings.partitions),
            *self.extra,
        ]
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, for the restart tests."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
