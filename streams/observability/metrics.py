"""The worker's Prometheus metrics (docs/operations.md says which panel reads which).

Built once per process and injected, as faust's own Prometheus sensor is: the hot path calls
``observe`` and ``observe_alert``; gauges are refreshed by a timer from the engines' state.
Labels are bounded: event type, outcome, reason, rule, severity, state, stage, topic, partition,
and the jurisdictions of the policy table (any other is ``other``). Never a booking or person id.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from streams.contract import timestamps, vocabulary
from streams.contract.vocabulary import ALERT_STATES, DEAD_LETTER_REASONS
from streams.engine.case import Case
from streams.engine.watermark import NEVER
from streams.policy.model import RULES, Policy
from streams.streaming.partition import Outcome

# Milliseconds matter on the hot path; 0.025 s is the p99 alert threshold.
# From 50 µs (one message's own processing) to 30 s (a replay event held for the watermark merge).
LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
STAGES = ("validated", "processed", "decided", "alert_produced")
EVENT_LAG_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600)
# 1 s is the live-mode promise for deadline alerts.
DEADLINE_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
#: The event label: the contract's types, and ``unknown`` for an input that never had a valid one.
EVENT_TYPES = (*vocabulary.EVENT_TYPES, "unknown")
OTHER = "other"


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, policy: Policy) -> None:
        self.registry = registry
        self.policy = policy
        self.events = Counter(
            "holdwatch_events",
            "Input messages by event type and outcome",
            ["type", "outcome"],
            registry=registry,
        )
        self.late = Counter(
            "holdwatch_late_events",
            "Accepted events older than the watermark",
            ["type"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "holdwatch_dead_letters", "Dead letters by reason", ["reason"], registry=registry
        )
        self.alerts = Counter(
            "holdwatch_alerts", "Alerts emitted", ["rule", "severity", "state"], registry=registry
        )
        # The event clock (engine/event_clock.py): events held for corroboration, and what became
        # of them (released and applied, or given up as the dead letter ``future``; in live mode
        # an event ahead of the wall clock is ``future`` at once).
        self.event_clock = Counter(
            "holdwatch_event_clock_events",
            "Events held by the event clock until corroborated, released, or dead-lettered future",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("held", "released", "future"):
            self.event_clock.labels(outcome)

        self.unlisted_jurisdiction = Counter(
            "holdwatch_bookings_unlisted_jurisdiction",
            "Bookings accepted with a jurisdiction outside the policy table (they carry their "
            "own time zone; no local policy applies)",
            registry=registry,
        )
        self.inconsistent_ignored = Counter(
            "holdwatch_inconsistent_facts_ignored",
            "Stored releases, lifts or services dropped because their booking or issue, arriving "
            "later, is dated after them (the arrival-order twin of inconsistent_time)",
            registry=registry,
        )
        self.stage_latency = Histogram(
            "holdwatch_stage_latency_seconds",
            "Time from message received to each stage (processed: the time spent on the message "
            "itself, without waiting for the watermark merge)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.event_time_lag = Histogram(
            "holdwatch_event_time_lag_seconds",
            "Live mode: wall clock minus occurred_at at decision",
            buckets=EVENT_LAG_BUCKETS,
            registry=registry,
        )
        self.deadline_lag = Histogram(
            "holdwatch_deadline_alert_lag_seconds",
            "Live mode: wall clock at emission minus the alert's occurred_at",
            buckets=DEADLINE_LAG_BUCKETS,
            registry=registry,
        )
        self.open_cases = Gauge(
            "holdwatch_open_cases", "Cases held in memory by this worker", registry=registry
        )
        self.active_holds = Gauge(
            "holdwatch_active_holds",
            "People held on a detainer after becoming release-eligible",
            ["jurisdiction"],
            registry=registry,
        )
        self.past_deadline = Gauge(
            "holdwatch_holds_past_deadline",
            "Held bookings with a hold_limit_exceeded alert firing (for any of their detainers)",
            ["jurisdiction"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "holdwatch_consumer_lag",
            "Messages behind the partition's end",
            ["topic", "partition"],
            registry=registry,
        )
        self.watermark = Gauge(
            "holdwatch_watermark_seconds",
            "Event-time watermark, minimum over owned partitions (unix s)",
            registry=registry,
        )
        self.low_priority_share = Gauge(
            "holdwatch_jurisdiction_low_priority_share",
            "Rolling share of issued detainers whose hit shows L3 or no conviction",
            ["jurisdiction"],
            registry=registry,
        )
        self.share_baseline = Gauge(
            "holdwatch_low_priority_share_baseline",
            "National share the monitor compares against",
            registry=registry,
        )
        self.share_baseline.set(policy.monitor.baseline)
        self._prime()

    def _prime(self) -> None:
        """Create every bounded label set at 0, so the first increase is seen by rate()."""
        for rule in RULES:
            info = self.policy.rules.get(rule)
            for state in ALERT_STATES:
                self.alerts.labels(rule, info.severity if info else "warning", state)
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)
        for kind in EVENT_TYPES:
            for outcome in ("accepted", "duplicate", "dead_letter"):
                self.events.labels(kind, outcome)
            self.late.labels(kind)
        for stage in STAGES:
            self.stage_latency.labels(stage)
        for name in self.jurisdictions:
            self.active_holds.labels(name).set(0)
            self.past_deadline.labels(name).set(0)

    @property
    def jurisdictions(self) -> list[str]:
        return [*self.policy.jurisdictions, OTHER]

    @classmethod
    def create(cls, policy: Policy) -> WorkerMetrics:
        from prometheus_client import REGISTRY

        return cls(REGISTRY, policy)

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    # -- hot path ----------------------------------------------------------------------------

    def observe(self, outcome: Outcome, decided: float, live: bool) -> None:
        if outcome.result == "tick":
            return
        self.events.labels(outcome.event_type, outcome.result).inc()
        if outcome.result == "dead_letter":
            assert outcome.dead_letter is not None
            reason = outcome.dead_letter["reason"]
            self.dead_letters.labels(reason).inc()
            if reason == "future":
                self.event_clock.labels("future").inc()
            return
        if outcome.late:
            self.late.labels(outcome.event_type).inc()
        if outcome.unlisted:
            self.unlisted_jurisdiction.inc()
        if outcome.ignored:
            self.inconsistent_ignored.inc(outcome.ignored)
        if outcome.received:
            self.stage_latency.labels("validated").observe(outcome.validated - outcome.received)
            self.stage_latency.labels("decided").observe(decided - outcome.received)
            self.stage_latency.labels("processed").observe(outcome.processed)
        if live and outcome.event_at is not None:
            self.event_time_lag.observe(
                max(time.time() - outcome.event_at / timestamps.MICROS, 0.0)
            )

    def observe_alert(
        self, alert: dict[str, Any], received: float, produced: float, live: bool
    ) -> None:
        self.alerts.labels(alert["rule"], alert["severity"], alert["state"]).inc()
        if received:
            self.stage_latency.labels("alert_produced").observe(produced - received)
        if live and alert["state"] == "firing":
            occurred = timestamps.parse(alert["occurred_at"]) / timestamps.MICROS
            self.deadline_lag.observe(max(time.time() - occurred, 0.0))

    def observe_share(
        self, jurisdiction: str, midnight: int, share: float | None, count: int
    ) -> None:
        """Called by the jurisdiction monitor at each daily evaluation."""
        if share is not None:
            where = jurisdiction if jurisdiction in self.policy.jurisdictions else OTHER
            self.low_priority_share.labels(where).set(share)

    # -- gauges, refreshed by a timer --------------------------------------------------------

    def refresh(
        self, cases: Iterable[Case], watermarks: Iterable[int], lags: dict[tuple[str, int], int]
    ) -> None:
        known = self.policy.jurisdictions
        active: Tally[str] = Tally()
        past: Tally[str] = Tally()
        count = 0
        for case in cases:
            count += 1
            if case.eligible_at is None or case.custody_end_at is not None:
                continue
            if not any(d.issued_at is not None and d.lifted_at is None for d in case.detainers):
                continue
            where = case.jurisdiction if case.jurisdiction in known else OTHER
            active[where] += 1
            # One alert per detainer (key: rule, occurred_at, detainer): a booking counts once
            # however many of its detainers are past their deadline, as in ``active_holds``.
            if any(
                key[0] == "hold_limit_exceeded" and state == "firing"
                for key, state in case.emitted.items()
            ):
                past[where] += 1
        self.open_cases.set(count)
        for name in self.jurisdictions:
            self.active_holds.labels(name).set(active[name])
            self.past_deadline.labels(name).set(past[name])
        marks = [w for w in watermarks if w != NEVER]
        if marks:
            self.watermark.set(min(marks) / timestamps.MICROS)
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic, str(partition)).set(lag)


class ReplayPublisher:
    """``holdwatch replay --metrics-port``: the in-process engine's counts, published between
    chunks of the log as deltas (the hot loop itself stays free of metric calls)."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self._seen: dict[tuple[str, ...], int] = {}

    def _add(self, counter: Any, labels: tuple[str, ...], total: int) -> None:
        key = (counter._name, *labels)
        delta = total - self._seen.get(key, 0)
        if delta > 0:
            (counter.labels(*labels) if labels else counter).inc(delta)
            self._seen[key] = total

    def publish(self, replay: Any) -> None:
        engine = replay.engine
        stats = engine.stats
        m = self.metrics
        for kind, n in stats.accepted.items():
            self._add(m.events, (kind, "accepted"), n)
        for kind, n in stats.duplicates.items():
            self._add(m.events, (kind, "duplicate"), n)
        for kind, n in stats.late.items():
            self._add(m.late, (kind,), n)
        self._add(m.unlisted_jurisdiction, (), stats.unlisted_jurisdiction)
        self._add(m.inconsistent_ignored, (), stats.inconsistent_ignored)
        for reason, n in replay.summary.dead_letters.items():
            self._add(m.dead_letters, (reason,), n)
        self._add(m.events, ("unknown", "dead_letter"), replay.summary.dead_letter_total)
        self._add(m.event_clock, ("held",), stats.held)
        self._add(m.event_clock, ("released",), stats.released)
        self._add(m.event_clock, ("future",), stats.future)
        for (rule, state), n in (stats.alerts + replay.monitor_alerts).items():
            info = self.metrics.policy.rules.get(rule)
            self._add(m.alerts, (rule, info.severity if info else "warning", state), n)
        m.refresh(engine.cases.values(), [engine.watermark.value], {})
