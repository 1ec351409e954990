"""``holdwatch health``'s verdict, from a worker's real /metrics text (issue 13 §2: the
healthcheck fails when the worker lost its broker or its live watermark stalled, not only when
/metrics does not answer). Each fails on main: there was no health verdict at all."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from streams.contract import timestamps
from streams.observability.health import Limits, judge, samples
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy

NOW = 1_800_000_000.0


def exposition(policy: Policy, live: bool, last_fetch: float, watermark: float | None) -> str:
    """What a worker's /metrics says, built by the worker's own metrics."""
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    metrics.started(live)
    marks = [] if watermark is None else [round(watermark * timestamps.MICROS)]
    metrics.refresh([], marks, {}, last_fetch=last_fetch)
    return generate_latest(metrics.registry).decode()


def test_a_live_worker_in_touch_with_its_broker_and_clock_is_healthy(policy: Policy) -> None:
    verdict = judge(samples(exposition(policy, True, NOW - 1, NOW - 0.5)), NOW)
    assert verdict.healthy, verdict
    assert str(verdict).startswith("healthy: Kafka answered 1.0 s ago")


def test_a_worker_whose_broker_stopped_answering_is_unhealthy(policy: Policy) -> None:
    text = exposition(policy, False, NOW - 45, None)
    verdict = judge(samples(text), NOW)
    assert not verdict.healthy
    assert "no answer from Kafka for 45 s (limit 30 s)" in str(verdict)
    assert judge(samples(text), NOW, Limits(broker=60)).healthy


def test_a_live_worker_whose_watermark_stalled_is_unhealthy(policy: Policy) -> None:
    verdict = judge(samples(exposition(policy, True, NOW - 1, NOW - 90)), NOW)
    assert not verdict.healthy
    assert "live watermark stalled 90 s behind the wall clock (limit 30 s)" in str(verdict)


def test_a_replay_worker_may_stand_still_in_event_time(policy: Policy) -> None:
    """--clock event: a recorded log's watermark (2011) is not the wall clock's business."""
    verdict = judge(samples(exposition(policy, False, NOW - 1, 1_317_700_000.0)), NOW)
    assert verdict.healthy, verdict


def test_a_live_worker_without_partitions_is_not_judged_on_its_watermark(policy: Policy) -> None:
    verdict = judge(samples(exposition(policy, True, NOW - 1, None)), NOW)
    assert verdict.healthy, verdict


def test_metrics_without_the_broker_gauge_are_unhealthy() -> None:
    verdict = judge(samples("# HELP up x\n# TYPE up gauge\nup 1\n"), NOW)
    assert not verdict.healthy
    assert "no holdwatch_broker_last_fetch_timestamp_seconds" in str(verdict)
