"""The worker's Prometheus metrics (docs/operations.md says which panel reads which).

Built once per process and injected, as faust's own Prometheus sensor is: the hot path calls
``observe`` and ``observe_alert``; gauges are refreshed by a timer from the engines' state.
Labels are bounded: event type, outcome, reason, rule, severity, state, stage, topic, partition,
and the jurisdictions of the policy table (any other is ``other``). Never a booking or person id.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from streams.contract import timestamps, vocabulary
from streams.contract.vocabulary import ALERT_STATES, DEAD_LETTER_REASONS
from streams.engine.record import CaseRecord
from streams.engine.rules import RULES
from streams.engine.watermark import NEVER
from streams.policy.model import Policy
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
#: Why a worker read input records again (``holdwatch_input_reread``): ``hole``, the consumer
#: skipped offsets and the agent sought back (nothing lost: docs/reliability.md, "Two workers");
#: ``retention``, the missing records were deleted before the worker read them (lost); ``lost_log``,
#: the broker lost a partition's log and the worker reads it from its start (its unacknowledged
#: records went with the log). The last two mean events this worker never saw: they page.
REREAD_REASONS = ("hole", "retention", "lost_log")
#: The event label: the contract's types, and ``unknown`` for an input that never had a valid one.
EVENT_TYPES = (*vocabulary.EVENT_TYPES, "unknown")
#: A partition's clock counts as live while its watermark is within this of the wall clock:
#: further behind, WatermarkStalled's threshold, it is still being set from a backlog (worker
#: start, rebalance) or stalled, and its alerts are late for that reason, not the tick path's.
LIVE_CLOCK_BOUND = 60.0
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
        # Every message the agents consumed (inputs with ticks and barriers, and the internal
        # jurisdiction-facts topic): the worker's own count, fed once per delivery run, instead
        # of Faust's Prometheus sensor, which cost 4-5% of the worker per message
        # (docs/performance.md) for this Grafana panel.
        self.messages = Counter(
            "holdwatch_messages_received",
            "Messages consumed by the worker's agents, by topic",
            ["topic"],
            registry=registry,
        )
        self.rebalances = Gauge(
            "holdwatch_rebalances",
            "Consumer-group rebalances this worker went through (Faust's rebalancing_count; "
            "what its Prometheus sensor exported as <app>_total_rebalances)",
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
            "Live mode: wall clock at emission minus the alert's occurred_at, for alerts fired by "
            "the clock passing their deadline (not those a late event triggered)",
            buckets=DEADLINE_LAG_BUCKETS,
            registry=registry,
        )
        self.reread = Counter(
            "holdwatch_input_reread",
            "Input topic-partitions read again: offsets the consumer skipped (hole), records "
            "deleted by retention before they were read (retention), a log the broker lost "
            "(lost_log)",
            ["reason"],
            registry=registry,
        )
        for reason in REREAD_REASONS:
            self.reread.labels(reason)
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
            "Event-time watermark, minimum over owned partitions (unix s; NaN while the worker "
            "owns no partition with a watermark)",
            registry=registry,
        )
        self.watermark.set(math.nan)
        # Silence must page (docs/operations.md, WatermarkStalled and BrokerUnreachable): whether
        # the wall clock drives this worker's deadlines, and when the broker last answered it.
        self.live_mode = Gauge(
            "holdwatch_live_mode",
            "1: live mode (--clock wall, deadlines fire by the wall clock, so the watermark must "
            "follow it); 0: a recorded log in event time",
            registry=registry,
        )
        self.broker_last_fetch = Gauge(
            "holdwatch_broker_last_fetch_timestamp_seconds",
            "Unix time of the last successful fetch response from the broker for any partition "
            "this worker consumes (the worker's start until the first; NaN without a broker)",
            registry=registry,
        )
        self.broker_last_fetch.set(math.nan)
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
        self._lag_keys: set[tuple[str, int]] = set()
        self._prime()

    def _prime(self) -> None:
        """Create every bounded label set at 0, so the first increase is seen by rate()."""
        for name, rule in RULES.items():  # every declared rule (streams/engine/rules/)
            info = self.policy.rules.get(name, rule.info)
            for state in ALERT_STATES:
                self.alerts.labels(name, info.severity, state)
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

    def run(self) -> RunObservations:
        """A delivery run's observations, published together by :meth:`RunObservations.publish`."""
        return RunObservations(self)

    def observe(self, outcome: Outcome, decided: float, live: bool) -> None:
        """One message's outcome, published at once (a run of one message)."""
        run = self.run()
        run.observe(outcome, decided, live)
        run.publish()

    def observe_alert(
        self,
        alert: dict[str, Any],
        received: float,
        produced: float,
        live: bool,
        watermark_before: int = NEVER,
    ) -> None:
        """One delivered alert, published at once (see :meth:`RunObservations.observe_alert`)."""
        run = self.run()
        run.observe_alert(alert, received, produced, live, watermark_before)
        run.publish()

    def started(self, live: bool) -> None:
        """The worker starts: its mode, and its broker contact counted from now."""
        self.live_mode.set(1 if live else 0)
        self.broker_last_fetch.set(time.time())

    def observe_share(
        self, jurisdiction: str, midnight: int, share: float | None, count: int
    ) -> None:
        """Called by the jurisdiction monitor at each daily evaluation."""
        if share is not None:
            where = jurisdiction if jurisdiction in self.policy.jurisdictions else OTHER
            self.low_priority_share.labels(where).set(share)

    # -- gauges, refreshed by a timer --------------------------------------------------------

    def refresh(
        self,
        cases: Iterable[CaseRecord],
        watermarks: Iterable[int],
        lags: dict[tuple[str, int], int],
        last_fetch: float | None = None,
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
        # None owned (all revoked, more workers than partitions): unknown, not the last value,
        # which would look like a stalled clock.
        self.watermark.set(min(marks) / timestamps.MICROS if marks else math.nan)
        if last_fetch is not None:
            self.broker_last_fetch.set(last_fetch)
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic, str(partition)).set(lag)
        # A partition this worker no longer reads (revoked, or no fetch yet since its
        # assignment) stops being exported: its last lag, frozen, would be summed with the new
        # owner's by ConsumerLagGrowing for as long as this worker lives.
        for topic, partition in self._lag_keys - lags.keys():
            self.consumer_lag.remove(topic, str(partition))
        self._lag_keys = set(lags)


#: A labelled metric: the metric and its label values (``()`` for an unlabelled one).
Series = tuple[Any, tuple[str, ...]]


class RunObservations:
    """The hot path's observations of one delivery run, added to the metrics at its end.

    Prometheus' client takes a lock and resolves the label set on every ``inc`` and ``observe``;
    per message that was a measurable share of the Faust worker's time. The agents instead note
    each message's outcome and each delivered alert here (a dict increment, a list append) and
    :meth:`publish` once per run: every counter gets one ``inc`` of the run's count, every
    histogram its run's observations bucketed at once. The metrics mean exactly what they did
    per message (same names, labels, buckets, one observation per message or alert); only the
    moment they become visible moves to the end of the run, before its checkpoint.
    """

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self.counts: Tally[Series] = Tally()
        self.samples: dict[Series, list[float]] = {}

    def _sample(self, histogram: Any, labels: tuple[str, ...], value: float) -> None:
        self.samples.setdefault((histogram, labels), []).append(value)

    def received(self, topic: str) -> None:
        """A message consumed from ``topic`` (one of the worker's own: a bounded set)."""
        self.counts[(self.metrics.messages, (topic,))] += 1

    def observe(self, outcome: Outcome, decided: float, live: bool) -> None:
        """A message's outcome: events by type and outcome, dead letters, late, latencies."""
        if outcome.result == "tick":
            return
        m, counts = self.metrics, self.counts
        counts[(m.events, (outcome.event_type, outcome.result))] += 1
        if outcome.result == "dead_letter":
            assert outcome.dead_letter is not None
            reason = outcome.dead_letter["reason"]
            counts[(m.dead_letters, (reason,))] += 1
            if reason == "future":
                counts[(m.event_clock, ("future",))] += 1
            return
        if outcome.late:
            counts[(m.late, (outcome.event_type,))] += 1
        if outcome.unlisted:
            counts[(m.unlisted_jurisdiction, ())] += 1
        if outcome.ignored:
            counts[(m.inconsistent_ignored, ())] += outcome.ignored
        if outcome.received:
            latency = m.stage_latency
            self._sample(latency, ("validated",), outcome.validated - outcome.received)
            self._sample(latency, ("decided",), decided - outcome.received)
            self._sample(latency, ("processed",), outcome.processed)
        if live and outcome.event_at is not None:
            lag = max(time.time() - outcome.event_at / timestamps.MICROS, 0.0)
            self._sample(m.event_time_lag, (), lag)

    def observe_alert(
        self,
        alert: dict[str, Any],
        received: float,
        produced: float,
        live: bool,
        watermark_before: int = NEVER,
    ) -> None:
        """Count an alert once delivered; in live mode, time how late after its deadline.

        ``watermark_before`` is the partition's watermark before the message whose processing
        emitted the alert. Only an alert dated at or after it was fired by the clock passing its
        deadline: that lag is the worker's promise (1 s). One dated before it was triggered by a
        late event (a release reported hours late makes a hold already past its limit): its lag
        is the feed's lateness, and counting it made DeadlineAlertLate fire falsely. Nor is an
        alert timed when that watermark was not live (more than ``LIVE_CLOCK_BOUND`` behind the
        wall clock, or none yet): a partition setting its clock from a backlog after a start or
        a rebalance fires the late events' alerts from a timer too.
        """
        m = self.metrics
        self.counts[(m.alerts, (alert["rule"], alert["severity"], alert["state"]))] += 1
        if received:
            self._sample(m.stage_latency, ("alert_produced",), produced - received)
        if live and alert["state"] == "firing" and watermark_before != NEVER:
            now = time.time()
            occurred = timestamps.parse(alert["occurred_at"])
            live_clock = now - watermark_before / timestamps.MICROS <= LIVE_CLOCK_BOUND
            if live_clock and occurred >= watermark_before:
                self._sample(m.deadline_lag, (), max(now - occurred / timestamps.MICROS, 0.0))

    def publish(self) -> None:
        """Everything observed since the last publish, into the metrics; the run starts empty."""
        counts, samples = self.counts, self.samples
        self.counts, self.samples = Tally(), {}
        for (counter, labels), n in counts.items():
            (counter.labels(*labels) if labels else counter).inc(n)
        for (histogram, labels), values in samples.items():
            observe_all(histogram.labels(*labels) if labels else histogram, values)


def observe_all(histogram: Any, values: list[float]) -> None:
    """``histogram.observe(v)`` for each of ``values``, with one lock per bucket touched.

    Equal to the loop, but buckets the values locally (by the upper bounds, ``v <= bound``) and
    adds each bucket's count and the sum once. It reaches into prometheus_client's histogram
    child (``_upper_bounds``, ``_buckets``, ``_sum``, stable since 0.4); a client without them
    gets the plain loop.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for value in values:
            histogram.observe(value)
        return
    tally: Tally[int] = Tally(bisect_left(bounds, value) for value in values)
    total.inc(sum(values))
    for index, n in tally.items():
        buckets[index].inc(n)


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
            info = self.metrics.policy.rules.get(rule) or RULES[rule].info
            self._add(m.alerts, (rule, info.severity, state), n)
        m.refresh(engine.cases.values(), [engine.watermark.value], {})
