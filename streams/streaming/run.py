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

from streams.errors import UsageError
from streams.kafka.settings import KafkaSettings
from streams.kafka.topics import ensure_topics
from streams.policy.model import Policy
from streams.streaming import jurisdiction_agent
from streams.streaming.app import Worker, WorkerConfig

log = logging.getLogger("holdwatch.worker")


def create_topics(config: WorkerConfig, bootstrap_timeout: float | None = None) -> dict[str, int]:
    """Inputs, outputs and the case changelog, all with the configured partition count."""
    names = config.kafka.topics
    wanted = [
        *names.inputs,
        *names.outputs,
        config.changelog_topic,
        *jurisdiction_agent.topic_names(config),
    ]
    kwargs = config.kafka.kafka_python_kwargs()
    if bootstrap_timeout is not None:
        kwargs["bootstrap_timeout_ms"] = int(bootstrap_timeout * 1000)
    return ensure_topics(kwargs, wanted, partitions=config.kafka.partitions)


def wait_for_topics(
    config: WorkerConfig,
    timeout: float | None = None,
    say_every: float = 10.0,
    attempt_timeout: float = 5.0,
) -> dict[str, int]:
    """:func:`create_topics`, retried while the broker is unreachable, one line per interval.

    A worker often starts before its broker (compose, a restarted cluster): it waits and says so,
    as ``replay --kafka`` does, instead of a traceback. ``timeout`` (None: wait for ever) turns a
    broker that never comes into one :class:`UsageError` line and exit code 2."""
    from kafka.errors import KafkaError

    brokers = ",".join(config.kafka.brokers)
    started = time.monotonic()
    told = -say_every
    while True:
        budget = attempt_timeout
        if timeout is not None:
            budget = max(min(budget, timeout - (time.monotonic() - started)), 0.5)
        try:
            return create_topics(config, bootstrap_timeout=budget)
        except KafkaError as exc:
            waited = time.monotonic() - started
            if timeout is not None and waited >= timeout:
                raise UsageError(
                    f"Kafka at {brokers} not reachable for {waited:.0f}s: {exc}"
                ) from None
            if waited - told >= say_every:
                print(
                    f"holdwatch worker: waiting for Kafka at {brokers}: {exc}; retrying",
                    file=sys.stderr,
                    flush=True,
                )
                told = waited
            pause = 1.0 if timeout is None else min(1.0, max(timeout - waited, 0.0))
            time.sleep(pause)


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
    metrics_host: str = "127.0.0.1",
    loglevel: str = "warning",
    connect_timeout: float | None = None,
) -> None:
    from streams.observability.metrics import WorkerMetrics

    metrics = WorkerMetrics.create(config.policy)
    # Keys are checked (Worker builds the decoder and control key) before waiting for a broker,
    # so a production worker without its secrets stops at once with one line.
    worker = Worker(config, metrics)
    if metrics_port is not None:
        try:
            metrics.serve(metrics_host, metrics_port)
        except OSError as exc:
            raise UsageError(
                f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}"
            ) from None
    wait_for_topics(config, connect_timeout)
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
