"""The replay producer's stamps reproduce the in-process engine on the worker (issue 12 §8).

A re-sent event (same ``event_id``, another ``occurred_at``, anywhere in the log) is a duplicate
in the in-process engine and moves no clock. Before issue 12 the producer stamped the watermark
from it before the worker saw it was a duplicate, so ``replay --kafka`` could fire alerts the
in-process replay did not: this property fails there.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract import timestamps
from streams.engine.watermark import NEVER
from streams.policy.model import Policy
from streams.streaming.stamp import Stamper
from tests.support import Events, alert_set, replay, stream
from tests.unit.replay.test_determinism import UNTIL, logs

common = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def booking_alerts(alerts: list[dict[str, Any]]) -> set[bytes]:
    """Per-booking alerts (the jurisdiction monitor runs behind its own repartition)."""
    return alert_set([a for a in alerts if a["booking_id"]])


@st.composite
def logs_with_resends(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A log in which some events come again: same event_id, another time, another position."""
    events = draw(logs())
    rng = random.Random(draw(st.integers(0, 2**32)))
    out = list(events)
    for event in rng.sample(events, k=min(len(events), draw(st.integers(1, 4)))):
        shift = draw(
            st.one_of(
                st.integers(-3 * 24 * 60, 3 * 24 * 60),  # minutes
                st.just(200 * 365 * 24 * 60),  # two centuries ahead
            )
        )
        moved = timestamps.parse(event["occurred_at"]) + shift * timestamps.MINUTE
        copy = event | {"occurred_at": timestamps.isoformat(min(moved, timestamps.parse(UNTIL)))}
        out.insert(rng.randrange(len(out) + 1), copy)
    return out


@common
@given(events=logs_with_resends(), seed=st.integers(0, 2**16), until=st.sampled_from([None, UNTIL]))
def test_resent_events_give_the_same_alerts_in_process_and_through_the_stamps(
    policy: Policy, events: list[dict[str, Any]], seed: int, until: str | None
) -> None:
    expected, summary, _ = replay(policy, events, until=until)
    streamed, _ = stream(policy, events, until=until, seed=seed)
    assert booking_alerts(streamed) == booking_alerts(expected)
    assert summary.balanced()


def test_a_resend_dated_later_moves_no_producer_clock(policy: Policy) -> None:
    stamper = Stamper(policy)
    lines = [orjson.dumps(Events(f"bk-{i}").booking("2011-10-03 08:00")) for i in range(3)]
    for number, line in enumerate(lines, 1):
        stamper.stamp(line, number)
    before = stamper.watermark
    resend = orjson.loads(lines[0]) | {"occurred_at": "2011-10-09T08:00:00-04:00"}
    [refused] = stamper.stamp(orjson.dumps(resend), 4)
    # Another time under a known id: the producer's dead letter (issue 12 §4), never sent.
    assert refused.dead_letter is not None
    assert refused.dead_letter["reason"] == "conflicting_duplicate"
    assert stamper.watermark == before
    [sent] = stamper.stamp(lines[0], 5)  # an exact repeat: sent for the worker to drop
    assert sent.watermark == before and sent.dead_letter is None
    assert stamper.watermark == before


def test_a_held_event_is_sent_when_released_with_the_watermark_it_was_applied_at(
    policy: Policy,
) -> None:
    stamper = Stamper(policy)
    first = [orjson.dumps(Events(f"bk-{i}").booking("2011-10-03 08:00")) for i in range(2)]
    assert stamper.stamp(first[0], 1) == [] and stamper.stamp(first[1], 2) == []
    third = orjson.dumps(Events("bk-2").booking("2011-10-03 08:05"))
    sent = stamper.stamp(third, 3)
    assert [s.value for s in sent] == [third, *first]  # the event, then what it released
    # All applied before the clock had a time: the worker applies them at once, in this order.
    assert {s.watermark for s in sent} == {NEVER}
