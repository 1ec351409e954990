"""Live mode: a deadline that passes with no further event still produces its alert, promptly."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from streams.contract import timestamps
from streams.kafka.settings import KafkaSettings
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import Events

pytestmark = pytest.mark.kafka


def test_the_alert_arrives_within_one_second_of_the_deadline_with_no_further_event(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    start_worker("--clock", "wall")
    consumer = KafkaConsumer(
        settings.topics.alerts,
        bootstrap_servers=list(settings.brokers),
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
        fetch_max_wait_ms=50,
    )
    producer = KafkaProducer(bootstrap_servers=list(settings.brokers))
    topics = settings.topics
    now = time.time_ns() // 1000
    deadline = now + 12 * timestamps.MICROS  # the 2017 form: 48 elapsed hours after eligibility
    eligible = deadline - 48 * timestamps.HOUR
    ev = Events("bk-live", "America/New_York")
    at = lambda micros: timestamps.isoformat(micros)  # noqa: E731
    for topic, event in [
        (topics.bookings, ev.booking(at(eligible - 30 * timestamps.HOUR))),
        (topics.hits, ev.hit(at(eligible - 29 * timestamps.HOUR))),
        (topics.detainers, ev.detainer(at(eligible - 28 * timestamps.HOUR), form="I-247A-2017")),
        (topics.detainers, ev.detainer(at(eligible - 27 * timestamps.HOUR), action="served")),
        (topics.releases, ev.release(at(eligible), "eligible")),
    ]:
        producer.send(topic, key=b"bk-live", value=orjson.dumps(event))
    producer.flush()

    arrived = None
    give_up = time.monotonic() + 60
    while arrived is None and time.monotonic() < give_up:
        for record in consumer:
            if not record.value:
                continue
            alert = orjson.loads(record.value)
            if alert["rule"] == "hold_limit_exceeded" and alert["state"] == "firing":
                arrived = time.time_ns() // 1000
                assert timestamps.parse(alert["occurred_at"]) == deadline
                break
    consumer.close()
    assert arrived is not None, "no hold_limit_exceeded alert"
    assert arrived >= deadline
    # The live promise: 1 s. Measured 0.42-0.46 s on both brokers (ticks every 250 ms, 250 ms
    # live lateness, two broker hops); on Tansu 0.83-0.95 s before the worker's fetch wait became
    # 0.5 s (streams/streaming/transport.py), as Tansu answers a waiting fetch only after the wait.
    assert arrived - deadline < 1 * timestamps.MICROS
