"""The worker's Prometheus metrics (see docs/operations.md for what each panel reads).

Built once per process and injected (as faust's own Prometheus sensor is): the hot path only
calls ``observe``. Labels are bounded: event type, outcome, reason, rule, severity, state, stage,
topic and partition, and jurisdictions of the policy table (anything else is ``other``). Never a
booking or person id.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from streams.streaming.partition import Outcome

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
EVENT_LAG_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600)
DEADLINE_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter("holdwatch_events", "Input messages by event type and outcome", ["type", "outcome"], registry=registry)
        self.late = Counter("holdwatch_late_events", "Accepted events older than the watermark", ["type"], registry=registry)
        self.dead_letters = Counter("holdwatch_dead_letters", "Dead letters by reason", ["reason"], registry=registry)
        self.alerts = Counter("holdwatch_alerts", "Alerts emitted", ["rule", "severity", "state"], registry=registry)
        self.stage_latency = Histogram(
            "holdwatch_stage_latency_seconds", "Time from message received to each stage", ["stage"],
            buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.event_time_lag = Histogram(
            "holdwatch_event_time_lag_seconds", "Live mode: wall clock minus occurred_at at decision",
            buckets=EVENT_LAG_BUCKETS, registry=registry,
        )
        self.deadline_lag = Histogram(
            "holdwatch_deadline_alert_lag_seconds", "Wall clock at emission minus the alert's occurred_at (live mode)",
            buckets=DEADLINE_LAG_BUCKETS, registry=registry,
        )
        self.open_cases = Gauge("holdwatch_open_cases", "Cases held in memory", registry=registry)
        self.watermark = Gauge("holdwatch_watermark_seconds", "Event-time watermark (minimum over owned partitions)", registry=registry)

    @classmethod
    def create(cls) -> WorkerMetrics:
        from prometheus_client import REGISTRY

        return cls(REGISTRY)

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def attach(self, worker: Any) -> None:
        self.worker = worker

    def observe(self, outcome: Outcome) -> None:
        if outcome.result == "tick":
            return
        if outcome.result == "dead_letter":
            assert outcome.dead_letter is not None
            self.dead_letters.labels(outcome.dead_letter["reason"]).inc()
        self.events.labels(outcome.event_type, outcome.result).inc()
        if outcome.late:
            self.late.labels(outcome.event_type).inc()
