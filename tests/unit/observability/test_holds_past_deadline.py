"""The ``holdwatch_holds_past_deadline`` gauge with one hold-limit alert per detainer (issue 12
§3): a booking held past the deadline of two detainers is one hold past its deadline."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry

from streams.contract import timestamps
from streams.contract.decode import Decoder
from streams.engine.processor import collecting_engine
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from tests.support import Events, firing, two_detainers

#: One booking per scenario: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1


def test_a_booking_past_two_deadlines_counts_once_until_its_last_detainer_is_lifted(
    policy: Policy,
) -> None:
    engine, alerts = collecting_engine(policy)
    decoder = Decoder()
    ev = Events("bk-gauge")
    for event in two_detainers(ev, lift_first="2011-10-06 20:00", custody_end=None):
        engine.process(decoder.decode(orjson.dumps(event)))
    engine.advance_to(timestamps.parse("2011-10-07T00:00:00-04:00"))
    # Both detainers fired; dt-1 was lifted at 20:00 (its alert resolved), dt-2's still fires.
    assert len(firing(alerts, "hold_limit_exceeded")) == 2

    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, policy)
    metrics.refresh(engine.cases.values(), [engine.watermark.value], {})
    where = {"jurisdiction": "NY-NewYorkCity"}
    assert registry.get_sample_value("holdwatch_holds_past_deadline", where) == 1
    assert registry.get_sample_value("holdwatch_active_holds", where) == 1

    # dt-2 lifted too: no alert of the booking is firing any more.
    lift = ev.detainer("2011-10-07 08:00", action="lifted", detainer_id="dt-2")
    engine.process(decoder.decode(orjson.dumps(lift)))
    engine.advance_to(timestamps.parse("2011-10-08T00:00:00-04:00"))
    metrics.refresh(engine.cases.values(), [engine.watermark.value], {})
    assert registry.get_sample_value("holdwatch_holds_past_deadline", where) == 0
