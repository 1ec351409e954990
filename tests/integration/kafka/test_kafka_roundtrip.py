"""kafka-python produce/consume round trip, plus a canary for Tansu's end-offset bug."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import TopicNames, ensure_topics

pytestmark = pytest.mark.kafka


def test_produce_consume_group_round_trip(broker: EmbeddedBroker, topic_prefix: str) -> None:
    names = TopicNames(topic_prefix)
    ensure_topics({"bootstrap_servers": broker.bootstrap}, [names.bookings])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(50)}
    for k, v in sent.items():
        producer.send(names.bookings, key=k, value=v)
    producer.flush()
    producer.close()

    # Short session timeout: Tansu holds the first join for half of it.
    consumer = KafkaConsumer(
        names.bookings,
        bootstrap_servers=broker.bootstrap,
        group_id=f"{topic_prefix}reader",
        auto_offset_reset="earliest",
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    got: dict[bytes, bytes] = {}
    deadline = time.monotonic() + 15
    try:
        while len(got) < len(sent) and time.monotonic() < deadline:
            for records in consumer.poll(200).values():
                got.update((r.key, r.value) for r in records)
    finally:
        consumer.close()
    assert got == sent


def test_end_offsets_after_multi_record_batch(broker: EmbeddedBroker, topic_prefix: str) -> None:
    """Canary for the Tansu ListOffsets(latest) bug; see docs/kafka-notes.md.

    Tansu answers "first offset of the last batch + 1" instead of the real end.
    Fetch high-watermarks are right.  If this starts failing, Tansu is fixed:
    drop the one-record-batch workaround.
    """
    topic = TopicNames(topic_prefix).bookings
    ensure_topics({"bootstrap_servers": broker.bootstrap}, [topic], partitions=1)
    tp = TopicPartition(topic, 0)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    try:
        producer.send(topic, b"single")
        producer.flush()
        assert consumer.end_offsets([tp])[tp] == 1  # one-record batch: correct
        for i in range(5):
            producer.send(topic, b"batched-%d" % i)
        producer.flush()  # one batch of 5 records at offsets 1..5
        assert consumer.end_offsets([tp])[tp] == 2  # WRONG on Tansu: real end is 6
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        n = 0
        deadline = time.monotonic() + 10
        while n < 6 and time.monotonic() < deadline:
            n += sum(len(r) for r in consumer.poll(200).values())
        assert n == 6
        assert consumer.highwater(tp) == 6  # fetch high watermark is right
    finally:
        producer.close()
        consumer.close()
