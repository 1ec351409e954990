"""Topic layout and idempotent creation against the embedded broker."""

from __future__ import annotations

import pytest
from kafka.admin import KafkaAdminClient

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import (
    TYPE_TO_TOPIC,
    TopicMismatchError,
    TopicNames,
    ensure_topics,
)


def test_names_from_prefix() -> None:
    names = TopicNames()
    assert names.bookings == "holdwatch.bookings"
    assert names.dead_letters == "holdwatch.dead-letters"
    # Four inputs, two outputs: ticks and barriers are headers on the inputs (on main an
    # obsolete ``holdwatch.ticks`` topic was still created, read by nothing).
    assert names.all == (*names.inputs, *names.outputs)
    assert len(names.all) == 6
    assert {TopicNames("x.").for_type(t) for t in TYPE_TO_TOPIC} == set(TopicNames("x.").inputs)
    with pytest.raises(KeyError, match="unknown event type"):
        names.for_type("arrest")


@pytest.mark.kafka
def test_create_all_idempotent(broker: EmbeddedBroker, topic_prefix: str) -> None:
    kw = {"bootstrap_servers": broker.bootstrap}
    counts = ensure_topics(kw, prefix=topic_prefix)
    names = TopicNames(topic_prefix)
    assert counts == {t: 8 for t in names.all}
    assert ensure_topics(kw, prefix=topic_prefix) == counts  # existing topics are fine
    admin = KafkaAdminClient(**kw)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(None)}
    finally:
        admin.close()
    assert described == counts  # nothing else got auto-created by our probes


@pytest.mark.kafka
def test_partition_mismatch_is_an_error(broker: EmbeddedBroker, topic_prefix: str) -> None:
    kw = {"bootstrap_servers": broker.bootstrap}
    names = TopicNames(topic_prefix)
    ensure_topics(kw, [names.bookings], partitions=4)
    with pytest.raises(TopicMismatchError, match=r"bookings has 4 partitions, configured 8"):
        ensure_topics(kw, prefix=topic_prefix, partitions=8)


@pytest.mark.kafka
def test_partitions_option_and_config(broker: EmbeddedBroker, topic_prefix: str) -> None:
    counts = ensure_topics(
        {"bootstrap_servers": broker.bootstrap},
        prefix=topic_prefix,
        partitions=3,
        config={"retention.ms": "3600000"},
    )
    assert set(counts.values()) == {3}
