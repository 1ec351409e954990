"""The worker metrics for contradictory input (issue 12 §4), fed by ``holdwatch replay``."""

from __future__ import annotations

import orjson
import pytest

from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from tests.support import Events

#: One booking per scenario: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1

prometheus_client = pytest.importorskip("prometheus_client")


def test_replay_publishes_unlisted_jurisdictions_and_ignored_facts_once(policy: Policy) -> None:
    """Counters without labels, published as deltas: a second publish adds nothing. Fails on
    main: neither counter existed."""
    from streams.observability.metrics import ReplayPublisher, WorkerMetrics

    metrics = WorkerMetrics(prometheus_client.CollectorRegistry(), policy)
    publisher = ReplayPublisher(metrics)
    replay = InProcessReplay(policy, lambda alert: None)
    ev = Events("bk-elsewhere", "America/Chicago")
    replay.feed(
        [
            orjson.dumps(ev.release("2011-10-03 07:00")),  # before the booking that follows
            orjson.dumps(
                ev.booking("2011-10-03 08:00", jurisdiction="XX-Else", timezone="America/Chicago")
            ),
        ]
    )
    publisher.publish(replay)
    publisher.publish(replay)
    sample = metrics.registry.get_sample_value
    assert sample("holdwatch_bookings_unlisted_jurisdiction_total") == 1
    assert sample("holdwatch_inconsistent_facts_ignored_total") == 1
