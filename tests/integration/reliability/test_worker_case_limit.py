"""A real worker on the embedded broker fed one booking with 5000 hits (issue 12 §4).

On the starting main every hit went into the case: its changelog record grew past the broker's
message size, the worker exited, and crash-looped on restart. With per-case bounds the excess
hits are ``case_limit`` dead letters, the record stays small, the worker stays up and another
booking's alert is still produced.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.kafka_replay import KafkaReplay
from streams.streaming.run import WorkerProcess, event_worker_args, fresh_topics
from tests.support import Events, firing

pytestmark = pytest.mark.kafka

HITS = 5000
UNTIL = "2011-10-12T00:00:00Z"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    logs = tmp_path_factory.mktemp("worker")
    with EmbeddedBroker() as broker:
        settings = fresh_topics([broker.bootstrap], load_policy(), tag="cl")
        worker = WorkerProcess(settings, event_worker_args(free_port()), logs / "worker.log")
        with worker:
            yield {"settings": settings, "worker": worker, "log": logs / "worker.log"}


def _held_past_deadline(ev: Events) -> list[dict[str, Any]]:
    return [
        ev.booking("2011-10-03 08:00"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00"),
        ev.release("2011-10-04 10:00", "eligible"),
    ]


def _changelog_values(settings: KafkaSettings, booking_id: bytes) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    topic = WorkerConfig(settings, load_policy()).changelog_topic
    consumer = KafkaConsumer(
        **settings.kafka_python_kwargs(), enable_auto_commit=False, group_id=None
    )
    tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            batches = consumer.poll(500)
            if not batches and values:
                break
            for batch in batches.values():
                values += [r.value or b"" for r in batch if r.key and booking_id in r.key]
    finally:
        consumer.close()
    return values


def test_a_booking_with_5000_hits_cannot_stop_the_worker(env: dict[str, Any]) -> None:
    from streams.contract import timestamps

    settings: KafkaSettings = env["settings"]
    policy = load_policy()
    flood = Events("bk-flood")
    other = Events("bk-other")
    events = _held_past_deadline(flood)
    events += [flood.hit(f"2011-10-03 09:{i % 60:02d}") for i in range(HITS)]
    events += _held_past_deadline(other)
    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    KafkaReplay(settings, policy).run(
        [orjson.dumps(e) for e in events],
        timestamps.parse(UNTIL),
        alerts.append,
        dead.append,
        start_timeout=120.0,
        idle_timeout=120.0,
    )
    assert env["worker"].running, Path(env["log"]).read_text("utf-8", "replace")[-2000:]
    assert {d["reason"] for d in dead} == {"case_limit"}
    assert len(dead) == HITS - (policy.max_hits_per_case - 1)  # one hit came with the case
    bookings = {a["booking_id"] for a in firing(alerts, "hold_limit_exceeded")}
    assert bookings == {"bk-flood", "bk-other"}
    values = _changelog_values(settings, b"bk-flood")
    assert values, "the case must be in the changelog"
    assert max(len(v) for v in values) < 16 * 1024  # far below a broker's 1 MiB message limit
