"""The metrics show the event clock at work (issue 12 §1): held, released and future events.

Fails before issue 12: there was no such counter (and no event was ever held).
"""

from __future__ import annotations

import orjson
import pytest

from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from tests.support import Events

prometheus_client = pytest.importorskip("prometheus_client")


def test_the_replay_publishes_held_released_and_future_counts(policy: Policy) -> None:
    from streams.observability.metrics import ReplayPublisher, WorkerMetrics

    registry = prometheus_client.CollectorRegistry()
    metrics = WorkerMetrics(registry, policy)
    runner = InProcessReplay(policy, lambda alert: None)
    events = [
        *[Events(f"bk-{i}").booking("2011-10-03 08:00") for i in range(3)],
        Events("bk-wild").booking("2199-10-03T08:00:00Z"),
        Events("bk-3").booking("2011-10-03 08:30"),
    ]
    runner.feed(orjson.dumps(e) for e in events)
    summary = runner.finish()
    ReplayPublisher(metrics).publish(runner)

    def count(outcome: str) -> float | None:
        return registry.get_sample_value("holdwatch_event_clock_events_total", {"outcome": outcome})

    assert (count("held"), count("released"), count("future")) == (3, 2, 1)
    assert registry.get_sample_value("holdwatch_dead_letters_total", {"reason": "future"}) == 1
    assert summary.balanced() and summary.accepted == 4
