"""The worker's hot-path metrics are fed once per delivery run (issue 15 §2): a run's outcomes
and alerts, published together, leave exactly the samples that observing each one at once does,
and none before the run is published. Fails on main: ``WorkerMetrics.run`` did not exist."""

from __future__ import annotations

import pytest

from streams.engine.watermark import NEVER
from streams.policy.model import Policy
from streams.streaming.partition import Outcome

prometheus_client = pytest.importorskip("prometheus_client")

from streams.observability.metrics import (  # noqa: E402
    LATENCY_BUCKETS,
    WorkerMetrics,
    observe_all,
)


def outcomes() -> list[Outcome]:
    """Accepted (one late, one unlisted, one with ignored facts), a duplicate, dead letters
    (one ``future``), a tick; latencies on bucket bounds and between them."""
    return [
        Outcome(1, "booking", "accepted", received=1.0, validated=1.0001, processed=0.00005),
        Outcome(2, "booking", "accepted", late=True, received=2.0, validated=2.0003),
        Outcome(3, "release", "accepted", unlisted=True, ignored=2, received=3.0, validated=3.5),
        Outcome(4, "release", "duplicate", received=4.0, validated=4.0, processed=31.0),
        Outcome(5, "unknown", "dead_letter", dead_letter={"reason": "schema"}),
        Outcome(6, "booking", "dead_letter", dead_letter={"reason": "future"}),
        Outcome(7, "booking", "tick"),
    ]


ALERTS = [
    {"rule": "hold_limit_exceeded", "severity": "critical", "state": "firing"},
    {"rule": "hold_limit_exceeded", "severity": "critical", "state": "resolved"},
]


def samples(metrics: WorkerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def fresh(policy: Policy) -> WorkerMetrics:
    return WorkerMetrics(prometheus_client.CollectorRegistry(), policy)


def test_a_published_run_equals_each_observation_made_at_once(policy: Policy) -> None:
    each, batched = fresh(policy), fresh(policy)
    run = batched.run()
    for outcome in outcomes():
        each.observe(outcome, outcome.received + 0.01, live=False)
        run.observe(outcome, outcome.received + 0.01, live=False)
    for alert in ALERTS:
        each.observe_alert(alert, 1.0, 1.002, live=False, watermark_before=NEVER)
        run.observe_alert(alert, 1.0, 1.002, live=False, watermark_before=NEVER)
    before = samples(batched)
    assert before == samples(fresh(policy))  # nothing visible before the run is published
    run.publish()
    assert samples(batched) == samples(each)
    assert samples(batched) != before
    run.publish()  # a run is published once: the next one starts empty
    assert samples(batched) == samples(each)


def test_a_batch_of_observations_lands_in_the_buckets_one_by_one_would() -> None:
    """Bounds are inclusive (``le``): a value on a bound counts in that bucket."""
    values = [0.0, *LATENCY_BUCKETS, 0.00007, 0.003, 29.0, 31.0, 1e9]
    one = prometheus_client.Histogram("one", "", buckets=LATENCY_BUCKETS, registry=None)
    many = prometheus_client.Histogram("many", "", buckets=LATENCY_BUCKETS, registry=None)
    for value in values:
        one.observe(value)
    observe_all(many, values)
    counts = [
        [(s.labels, s.value) for s in h.collect()[0].samples if not s.name.endswith("_created")]
        for h in (one, many)
    ]
    assert counts[0] == counts[1]


def test_messages_received_are_the_workers_own_count_not_fausts_sensor(
    policy: Policy,
) -> None:
    """The Grafana panel "Messages received per worker" reads holdwatch_messages_received_total,
    fed per run; Faust's Prometheus sensor (4-5% of the worker) is not installed. Fails on main:
    the worker set the sensor up and the counter did not exist."""
    from streams.kafka.settings import KafkaSettings
    from streams.streaming.app import Worker, WorkerConfig

    metrics = fresh(policy)
    Worker(WorkerConfig(KafkaSettings(), policy, clock="event"), metrics)
    names = {family.name for family in metrics.registry.collect()}
    assert not [name for name in names if name.endswith("_messages_received_per_topic")]
    assert "holdwatch_messages_received" in names
    assert not [name for name in names if name.endswith("_total_rebalances")]
    assert "holdwatch_rebalances" in names  # refreshed from Faust's rebalancing_count
    run = metrics.run()
    run.received("holdwatch.bookings")
    run.received("holdwatch.bookings")
    run.publish()
    value = metrics.registry.get_sample_value(
        "holdwatch_messages_received_total", {"topic": "holdwatch.bookings"}
    )
    assert value == 2
