"""Checkpoints (``streams/streaming/commit.py``): each leaves every changelog partition it wrote
ending in one lone sync record, so even Tansu's ListOffsets(latest), which is wrong after a
multi-record batch, reports the true end and recovery reads every case; and a stream that goes
quiet still gets its last messages checkpointed."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.commit import SYNC_KEY
from streams.streaming.kafka_replay import KafkaReplay
from tests.integration.streaming.checkpoints import read_keys, wait_until_checkpointed
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import Events

pytestmark = pytest.mark.kafka


def open_bookings(n: int) -> list[bytes]:
    """Booked and hit, never released: cases that stay open (none is evicted before a checkpoint)."""
    lines = []
    for i in range(n):
        ev = Events(f"bk-open-{i}")
        at = f"2018-03-05 {8 + i // 60 % 10:02d}:{i % 60:02d}"
        lines += [orjson.dumps(ev.booking(at)), orjson.dumps(ev.hit(at))]
    return lines


def test_changelog_end_offsets_are_exact_after_batched_commits(
    settings: KafkaSettings, start_worker: WorkerFactory, broker_kind: str
) -> None:
    """On Tansu thanks to the sync records; on Apache Kafka by itself, so there the worker runs
    with ``--no-changelog-sync`` and writes none."""
    sync = broker_kind == "tansu"
    start_worker(
        "--clock",
        "event",
        "--checkpoint-interval",
        "0.5",
        *([] if sync else ["--no-changelog-sync"]),
    )
    lines = open_bookings(600)
    KafkaReplay(settings, load_policy()).run(lines, None, lambda _: None, lambda _: None)

    changelog = WorkerConfig(settings, load_policy()).changelog_topic
    time.sleep(2)  # the idle checkpoint, for the messages after the last one under load
    records = read_keys(settings, changelog)
    consumer = KafkaConsumer(bootstrap_servers=list(settings.brokers))
    parts = [TopicPartition(changelog, p) for p in range(settings.partitions)]
    reported = consumer.end_offsets(parts)
    consumer.close()

    cases = sum(1 for keys in records.values() for key in keys if key != SYNC_KEY)
    syncs = sum(1 for keys in records.values() for key in keys if key == SYNC_KEY)
    assert cases >= 600  # every booking's case
    if sync:
        assert 0 < syncs < cases  # commits covered several writes each
    else:
        assert syncs == 0
    for tp in parts:
        keys = records[tp.partition]
        assert reported[tp] == len(keys), f"partition {tp.partition}"
        if keys and sync:
            assert keys[-1] == SYNC_KEY


def test_a_quiet_stream_is_checkpointed_and_committed(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    start_worker("--clock", "event", "--checkpoint-interval", "1")
    lines = open_bookings(50)
    KafkaReplay(settings, load_policy()).run(lines, None, lambda _: None, lambda _: None)
    config = WorkerConfig(settings, load_policy())
    behind = wait_until_checkpointed(settings, 30)
    assert behind == {}
    cases = sum(
        1
        for keys in read_keys(settings, config.changelog_topic).values()
        for k in keys
        if k != SYNC_KEY
    )
    assert cases >= 50
