"""An event the watermark merge holds is never committed past, so a SIGKILL cannot lose it.

The cause of issue 13's invented ``detainer_without_hit`` on Apache Kafka: a stamped event waits
in its partition's merge until every input topic has passed its watermark, while a tick behind it
in the same topic-partition settles at once. faust-streaming commits the end of the first run of
acked offsets even when that run starts one past its committed offset (faust-streaming issue
#606): the tick's ack committed the offset *after* the held event, and a kill before the event
was applied lost it for good (the restarted worker reads on from the committed offset). The
worker now acks in offset order per topic-partition (``commit.InOrderAcks``).

Fails on the starting main: the group commits offset 2 of the bookings partition (past the held
booking at offset 0) and the restarted worker never sees the booking again, so its case never
reaches the changelog.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest
from kafka import KafkaProducer, TopicPartition

from streams.contract import timestamps
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.store import partition_of
from tests.integration.streaming.checkpoints import committed_offsets, read_keys
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import Events, signed_stamp, signed_tick

pytestmark = pytest.mark.kafka

BOOKING = "bk-held-at-kill"
STAMP = timestamps.parse("2011-10-03T09:00:00Z")  # the producer's watermark before the booking


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_a_held_event_is_not_committed_past_and_survives_a_sigkill(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    names = settings.topics
    bookings, hits = names.name("bookings"), names.name("hits")
    p = partition_of(BOOKING, settings.partitions)
    producer = KafkaProducer(**settings.kafka_python_kwargs(), acks="all")

    def send(topic: str, headers: list[tuple[str, bytes]], value: bytes = b"") -> None:
        key = BOOKING.encode() if value else None
        producer.send(topic, key=key, value=value, partition=p, headers=headers).get(30)

    worker = start_worker("--clock", "event", "--checkpoint-interval", "0.5")
    # Offset 0: the booking, held (no other topic has passed its stamp); offset 1: a tick, settled
    # at once. Then a tick on another topic: once it is committed, the first tick was acked too.
    booking = orjson.dumps(Events(BOOKING).booking("2011-10-03 10:00"))
    send(bookings, signed_stamp(bookings, p, STAMP), booking)
    send(bookings, signed_tick(bookings, p, STAMP + 1))
    time.sleep(1.0)
    send(hits, signed_tick(hits, p, STAMP + 1))
    held, later = TopicPartition(bookings, p), TopicPartition(hits, p)
    _wait_for("the tick on hits to be committed", lambda: later in committed_offsets(settings), 60)
    time.sleep(3.0)  # a further Faust commit round (every 2.8 s)
    assert committed_offsets(settings).get(held, 0) == 0, "committed past the held booking"

    worker.kill()
    start_worker("--clock", "event", "--checkpoint-interval", "0.5")
    for topic in names.inputs:  # every topic past the stamp: the booking is applied
        send(topic, signed_tick(topic, p, STAMP + 1))
    changelog = WorkerConfig(settings, load_policy()).changelog_topic
    _wait_for(
        "the booking's case in the changelog",
        lambda: BOOKING.encode() in read_keys(settings, changelog)[p],
        90,
    )
    producer.close()
