"""Helpers for the Kafka integration tests: run a Faust worker subprocess, read topics.

Not a conftest so that ad-hoc measurement scripts can import it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
READY_MARKERS = ("[^Worker]: Ready", "OK ^")


class FaustWorker:
    """A Faust worker in a subprocess (own process group), ready-detected from its log.

    Start: ``python -c 'import <module> as m; m.main()'`` where ``main()`` calls
    ``faust.Worker(app, loglevel=...).execute_from_commandline()``.
    Ready: the worker logs ``[^Worker]: Ready`` only after partitions are
    assigned and table recovery finished, so it is the right gate.
    Stop: SIGTERM -> Faust's graceful shutdown (commits offsets, flushes the
    producer); SIGKILL to the group if it does not exit in time.
    """

    def __init__(
        self,
        module: str,
        env: Mapping[str, str],
        log_path: Path,
        *,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.module = module
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO_ROOT)]),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_seconds: float | None = None
        self.stop_seconds: float | None = None

    def start(self, timeout: float = 30.0) -> float:
        """Spawn and block until Ready; returns seconds to ready."""
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", f"import {self.module} as m; m.main()"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        while time.monotonic() - t0 < timeout:
            text = self.log_text()[offset:]
            if any(m in text for m in READY_MARKERS):
                self.ready_seconds = time.monotonic() - t0
                return self.ready_seconds
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"faust worker exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"faust worker not ready in {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the worker (graceful), SIGKILL its group on timeout; returns exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        t0 = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything the worker forked
        self.stop_seconds = time.monotonic() - t0
        return proc.returncode

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def __enter__(self) -> FaustWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def json_producer(bootstrap: str) -> Any:
    """kafka-python producer for str keys / JSON values."""
    from kafka import KafkaProducer
    from kafka.serializer import DefaultSerializer, JsonSerializer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        key_serializer=DefaultSerializer(),
        value_serializer=JsonSerializer(),
    )


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Any]], bool],
    timeout: float = 20.0,
) -> list[Any]:
    """Read *topic* from the beginning (manual assignment, no group join) until *until*.

    Manual assignment avoids the consumer-group join delay and does not rely on
    end_offsets (wrong on Tansu), only on fetch.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while not until(out) and time.monotonic() < deadline:
            for records in consumer.poll(200).values():
                out.extend(json.loads(r.value) for r in records)
        return out
    finally:
        consumer.close()
