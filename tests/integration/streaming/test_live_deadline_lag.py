"""A live worker times only the alerts its clock fired (DeadlineAlertLate's input), on a real
broker: a hold whose deadline the wall clock passes is timed; a release reported two days late,
which puts its hold past the limit at once, is counted but not timed. Fails on main: the worker
timed every live firing alert, the late one with a lag of hours (DeadlineAlertLate fired)."""

from __future__ import annotations

import time
import urllib.request

import orjson
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from streams.contract import timestamps
from streams.kafka.broker import free_port
from streams.kafka.settings import KafkaSettings
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import served_hold

LEAD = 8 * timestamps.MICROS  # from producing the on-time hold to its deadline


def _samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_only_alerts_fired_by_the_clock_are_timed(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    port = free_port()
    start_worker("--clock", "wall", "--metrics-port", str(port))
    producer = KafkaProducer(bootstrap_servers=list(settings.brokers))
    topics = {
        base: settings.topics.name(base) for base in ("bookings", "hits", "detainers", "releases")
    }
    now = time.time_ns() // 1000
    deadline = now + LEAD
    cases = served_hold("bk-on-time", deadline - 48 * timestamps.HOUR)
    cases += served_hold("bk-reported-late", now - 50 * timestamps.HOUR)  # 2 h past its limit
    for base, event in cases:
        producer.send(
            topics[base], key=str(event["booking_id"]).encode(), value=orjson.dumps(event)
        )
    producer.flush()
    producer.close()

    exceeded = (
        "holdwatch_alerts_total",
        (("rule", "hold_limit_exceeded"), ("severity", "critical"), ("state", "firing")),
    )
    timed = ("holdwatch_deadline_alert_lag_seconds_count", ())
    give_up = time.monotonic() + 90
    while True:
        try:
            seen = _samples(port)
        except OSError:
            seen = {}
        if seen.get(exceeded) == 2 and time.time_ns() // 1000 > deadline + timestamps.MICROS:
            break
        assert time.monotonic() < give_up, {k: v for k, v in seen.items() if "alert" in k[0]}
        time.sleep(0.5)
    time.sleep(3)  # nothing else is coming
    seen = _samples(port)
    assert seen[exceeded] == 2
    assert seen[timed] == 1, "only the deadline the clock passed is timed"
    assert seen[("holdwatch_deadline_alert_lag_seconds_sum", ())] < 5
