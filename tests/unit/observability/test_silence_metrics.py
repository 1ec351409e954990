"""Metrics that make silence page (issue 13 §3): the deadline-alert lag only for alerts the clock
fired, the watermark unknown rather than stale, the live mode and the broker's last answer."""

from __future__ import annotations

import math
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from streams.contract import timestamps
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from streams.streaming.partition import PartitionDriver
from tests.support import firing, served_hold, signed_tick

TOPICS = ("bookings", "hits", "detainers", "releases")
TYPE_OF_TOPIC = {
    "bookings": "booking",
    "hits": "hit",
    "detainers": "detainer",
    "releases": "release",
}
LAG = "holdwatch_deadline_alert_lag_seconds_count"


class WallClock:
    """Live mode's wall clock, held still by the test."""

    def __init__(self, now: int) -> None:
        self.value = now

    def now(self) -> int:
        return self.value


class LiveWorker:
    """What ``Worker._process``/``_deliver`` do around a partition driver, without Faust: note
    the partition's watermark before each message, then observe the alerts it emitted."""

    def __init__(self, policy: Policy, clock: WallClock, metrics: WorkerMetrics) -> None:
        self.emitted: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.metrics = metrics
        self.driver = PartitionDriver(
            0, TOPICS, policy, self.emitted.append, type_of_topic=TYPE_OF_TOPIC, wall_clock=clock
        )

    def message(self, topic: str, key: bytes, value: bytes, headers: Any = None) -> None:
        before = self.driver.engine.watermark.value
        [outcome], _ = self.driver.on_message(topic, key, value, headers, 0)
        assert outcome.result in ("accepted", "tick"), outcome
        for alert in self.emitted:
            self.metrics.observe_alert(alert, 0.0, 0.0, True, before)
        self.alerts += self.emitted
        self.emitted.clear()

    def events(self, *events: tuple[str, dict[str, Any]]) -> None:
        for topic, event in events:
            self.message(topic, event["booking_id"].encode(), orjson.dumps(event))

    def tick(self, at: int) -> None:
        for topic in TOPICS:
            self.message(topic, b"", b"", signed_tick(topic, 0, at))


def test_only_alerts_fired_by_the_clock_are_timed_as_deadline_alerts(policy: Policy) -> None:
    """A release reported two days late makes its hold past the limit at once: that alert's lag
    is the feed's lateness, not the worker's, and must not feed DeadlineAlertLate. Fails on
    main: every live firing alert was timed, the late one with a lag of hours."""
    now = time.time_ns() // 1000
    clock = WallClock(now)
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    worker = LiveWorker(policy, clock, metrics)
    sample = metrics.registry.get_sample_value

    deadline = now - 5 * timestamps.MICROS
    worker.tick(deadline - 10 * timestamps.MICROS)  # the wall clock, as the worker's ticks say
    worker.events(*served_hold("bk-clock", deadline - 48 * timestamps.HOUR))
    assert not firing(worker.alerts, "hold_limit_exceeded")  # the clock has not passed it yet
    worker.tick(deadline + 1)  # ... now it has: the clock fires the alert
    [by_clock] = firing(worker.alerts, "hold_limit_exceeded")
    assert by_clock["booking_id"] == "bk-clock"
    assert sample(LAG) == 1

    worker.events(
        *served_hold("bk-late", deadline - 50 * timestamps.HOUR)
    )  # two hours past its limit
    [_, by_event] = firing(worker.alerts, "hold_limit_exceeded")
    assert by_event["booking_id"] == "bk-late"
    assert sample(LAG) == 1  # counted as an alert, not timed as a late deadline
    assert sample("holdwatch_alerts_total", firing_labels(by_event)) == 2


def firing_labels(alert: dict[str, Any]) -> dict[str, str]:
    return {"rule": alert["rule"], "severity": alert["severity"], "state": "firing"}


def test_a_partition_first_message_times_nothing(policy: Policy) -> None:
    """With no watermark before it (a new or recovered partition) an alert cannot be told from
    a late one: not timed."""
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    alert = {
        "rule": "hold_limit_exceeded",
        "severity": "critical",
        "state": "firing",
        "occurred_at": "2011-10-06T10:00:00-04:00",
    }
    metrics.observe_alert(alert, 0.0, 0.0, True)
    assert metrics.registry.get_sample_value(LAG) == 0
    assert metrics.registry.get_sample_value("holdwatch_alerts_total", firing_labels(alert)) == 1


def test_alerts_of_a_partition_whose_clock_is_not_live_yet_are_not_timed(policy: Policy) -> None:
    """A worker starting on a backlog sets a partition's clock from its events before its
    first ticks: the late report's alerts then fire from a timer pass, hours late. Found on a
    real worker (tests/integration/streaming/test_live_deadline_lag.py)."""
    now = time.time_ns() // 1000
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    worker = LiveWorker(policy, WallClock(now), metrics)
    worker.events(*served_hold("bk-late", now - 50 * timestamps.HOUR))  # before any tick
    assert not firing(worker.alerts, "hold_limit_exceeded")  # the clock is days behind
    worker.tick(now)  # the first ticks: the partition's clock is live now
    [alert] = firing(worker.alerts, "hold_limit_exceeded")
    assert alert["booking_id"] == "bk-late"
    assert metrics.registry.get_sample_value(LAG) == 0


def test_the_watermark_is_unknown_not_stale_when_the_worker_owns_no_partition(
    policy: Policy,
) -> None:
    """Fails on main: the gauge kept the last partition's watermark after a rebalance took it
    (a stalled clock to WatermarkStalled), and read 0 (the epoch) before the first."""
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    sample = metrics.registry.get_sample_value
    assert math.isnan(sample("holdwatch_watermark_seconds"))  # type: ignore[arg-type]
    metrics.refresh([], [7 * timestamps.MICROS, 5 * timestamps.MICROS], {})
    assert sample("holdwatch_watermark_seconds") == 5
    metrics.refresh([], [], {})  # every partition revoked
    assert math.isnan(sample("holdwatch_watermark_seconds"))  # type: ignore[arg-type]


def test_live_mode_and_the_broker_last_answer(policy: Policy) -> None:
    """Fails on main: neither gauge existed. Without a broker (a replay) the last answer is
    NaN, which no ``time() - x > threshold`` rule or health check reads as an outage."""
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    sample = metrics.registry.get_sample_value
    assert math.isnan(sample("holdwatch_broker_last_fetch_timestamp_seconds"))  # type: ignore[arg-type]
    before = time.time()
    metrics.started(live=True)
    assert sample("holdwatch_live_mode") == 1
    # Counted from the start: a worker that never reaches its broker ages like one that lost it.
    assert before <= sample("holdwatch_broker_last_fetch_timestamp_seconds") <= time.time()  # type: ignore[operator]
    metrics.refresh([], [], {}, last_fetch=before + 60)
    assert sample("holdwatch_broker_last_fetch_timestamp_seconds") == before + 60
    metrics.refresh([], [], {}, last_fetch=None)  # no answer since a rebalance: keeps the last
    assert sample("holdwatch_broker_last_fetch_timestamp_seconds") == before + 60
    metrics.started(live=False)
    assert sample("holdwatch_live_mode") == 0


def test_a_revoked_partition_lag_is_no_longer_exported(policy: Policy) -> None:
    """ConsumerLagGrowing sums the lag by topic over the workers: fails on main, where the
    previous owner exported its last lag for a revoked partition for as long as it lived."""
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    sample = metrics.registry.get_sample_value
    metrics.refresh([], [], {("holdwatch.bookings", 0): 5000, ("holdwatch.bookings", 1): 7})
    metrics.refresh([], [], {("holdwatch.bookings", 1): 8})  # partition 0 moved elsewhere
    where = {"topic": "holdwatch.bookings"}
    assert sample("holdwatch_consumer_lag", {**where, "partition": "0"}) is None
    assert sample("holdwatch_consumer_lag", {**where, "partition": "1"}) == 8
