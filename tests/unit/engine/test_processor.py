"""The engine's bookkeeping: duplicates, order, lateness, memory, and the watermark."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from streams.contract import timestamps
from streams.contract.decode import Decoder, Rejected
from streams.engine.processor import ACCEPTED, DUPLICATE, collecting_engine
from streams.policy.model import Policy
from tests.support import Events, firing, replay, resolved

#: One or two bookings per test: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1


def decoded(event: dict) -> object:
    return Decoder().decode(orjson.dumps(event))


class TestDuplicates:
    def test_a_repeated_event_id_is_a_duplicate_and_changes_nothing(
        self, policy: Policy, ny: Events
    ) -> None:
        booking = ny.booking("2011-10-03 08:00")
        detainer = ny.detainer("2011-10-03 10:00")
        once, summary_once, _ = replay(policy, [booking, detainer])
        twice, summary_twice, _ = replay(policy, [booking, detainer, detainer, booking])
        assert once == twice
        assert summary_twice.duplicates == 2
        assert summary_twice.accepted == summary_once.accepted == 2

    def test_the_engine_reports_each_outcome(self, policy: Policy, ny: Events) -> None:
        engine, _ = collecting_engine(policy)
        event = decoded(ny.booking("2011-10-03 08:00"))
        assert engine.process(event) == ACCEPTED
        assert engine.process(event) == DUPLICATE


class TestOrderAndLateness:
    def test_events_before_their_booking_are_kept(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.detainer("2011-10-03 10:00"),
            ny.hit("2011-10-03 09:58"),
            ny.booking("2011-10-03 08:00"),
        ]
        alerts, summary, _ = replay(policy, events)
        assert summary.cases_without_booking == 0
        assert firing(alerts, "detainer_without_hit") == []

    def test_a_case_whose_booking_never_arrives_uses_the_default_zone_and_is_reported(
        self, policy: Policy
    ) -> None:
        chi = Events("bk-orphan", "America/Chicago")
        alerts, summary, _ = replay(policy, [chi.detainer("2011-10-03 10:00")])
        assert summary.cases_without_booking == 1
        [alert] = firing(alerts, "detainer_without_hit")
        assert alert["jurisdiction"] == ""
        assert alert["occurred_at"] == "2011-10-03T11:00:00-04:00"  # default zone: New York

    def test_a_late_event_is_applied_counted_and_can_resolve(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.detainer("2011-10-03 11:00", action="served"),
            ny.release("2011-10-04 10:00", "eligible"),
            Events("bk-other").booking(
                "2011-10-09 00:00"
            ),  # pushes the watermark past the deadline
            ny.release("2011-10-07 10:00", "transferred_to_ice"),  # 2 days late
        ]
        alerts, summary, _ = replay(policy, events)
        assert summary.late == 1
        [fired] = firing(alerts, "hold_limit_exceeded")
        [done] = resolved(alerts, "hold_limit_exceeded")
        assert done["alert_id"] == fired["alert_id"]
        assert done["details"]["hours_over"] == 24.0

    def test_a_late_event_never_retracts_a_fired_alert(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.detainer("2011-10-03 10:30", action="served"),
            Events("bk-other").booking("2011-10-04 00:00"),
            ny.hit("2011-10-03 09:00"),  # too late to prevent the alert
            ny.release("2011-10-04 12:00", "transferred_to_ice"),
        ]
        alerts, _, _ = replay(policy, events)
        assert len(firing(alerts, "detainer_without_hit")) == 1
        [done] = resolved(alerts, "detainer_without_hit")
        assert done["details"]["superseded"] is True

    def test_a_release_within_the_allowed_lateness_prevents_the_alert(
        self, policy: Policy, ny: Events
    ) -> None:
        # The release (09:58, in time) arrives after an event at 10:05 of another booking:
        # within the 10-minute lateness, so the deadline at 10:00 must not fire.
        events = [
            *[
                ny.booking("2011-10-03 08:00"),
                ny.hit("2011-10-03 09:00"),
                ny.detainer("2011-10-03 10:00"),
                ny.detainer("2011-10-03 11:00", action="served"),
                ny.release("2011-10-04 10:00", "eligible"),
            ],
            Events("bk-other").booking("2011-10-06 10:05"),
            ny.release("2011-10-06 09:58", "transferred_to_ice"),
        ]
        alerts, summary, _ = replay(policy, events)
        assert summary.late == 0
        assert firing(alerts, "hold_limit_exceeded") == []


class TestWatermark:
    def test_trails_the_newest_event_by_the_allowed_lateness(
        self, policy: Policy, ny: Events
    ) -> None:
        engine, _ = collecting_engine(policy)
        engine.process(decoded(ny.booking("2011-10-03T08:00:00-04:00")))
        engine.process(decoded(ny.hit("2011-10-03T07:00:00-04:00")))
        assert timestamps.isoformat(engine.watermark.value) == "2011-10-03T11:50:00+00:00"

    def test_until_moves_event_time_past_the_last_event(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
        ]
        without, _, _ = replay(policy, events)
        with_until, summary, _ = replay(policy, events, until="2011-10-05T00:00:00-04:00")
        assert firing(without, "detainer_copy_not_served") == []
        assert len(firing(with_until, "detainer_copy_not_served")) == 1
        # Past ``until`` by 1 µs: a finding fires once the watermark is strictly past its time.
        assert summary.watermark == timestamps.parse("2011-10-05T00:00:00-04:00") + 1


class TestMemory:
    def test_a_closed_case_is_dropped_after_the_retention(self, policy: Policy, ny: Events) -> None:
        engine, _ = collecting_engine(replace(policy, closed_case_retention=timestamps.HOUR))
        engine.process(decoded(ny.booking("2011-10-03T08:00:00-04:00")))
        engine.process(decoded(ny.release("2011-10-03T09:00:00-04:00", "released")))
        assert engine.open_cases() == 1
        engine.advance_to(timestamps.parse("2011-10-03T10:00:00-04:00"))
        assert engine.open_cases() == 0

    def test_a_closed_case_waiting_for_its_eviction_has_no_timer_heap_entry(
        self, policy: Policy
    ) -> None:
        """Eviction is exact to the microsecond, as with the heap entry per closed case that
        the starting main of issue 15 kept (this test fails there on the heap's length): the
        cases wait in buckets of event time, swept when the watermark reaches them."""
        engine, _ = collecting_engine(replace(policy, closed_case_retention=timestamps.HOUR))
        for n, minute in enumerate(("00", "20", "40")):
            ev = Events(f"bk-{n}")
            engine.process(decoded(ev.booking(f"2011-10-03T08:{minute}:00-04:00")), observe=False)
            engine.process(decoded(ev.release(f"2011-10-03T09:{minute}:00-04:00")), observe=False)
        assert engine.open_cases() == 3 and engine._timers == []
        last = timestamps.parse("2011-10-03T10:40:00-04:00")  # custody end + retention
        engine.advance_to(timestamps.parse("2011-10-03T10:20:00-04:00"))
        assert sorted(engine.cases) == ["bk-2"]  # the two due (at and before the watermark)
        engine.advance_to(last - 1)
        assert sorted(engine.cases) == ["bk-2"]
        engine.advance_to(last)
        assert engine.open_cases() == 0

    def test_an_open_case_is_kept(self, policy: Policy, ny: Events) -> None:
        engine, _ = collecting_engine(replace(policy, closed_case_retention=timestamps.HOUR))
        engine.process(decoded(ny.booking("2011-10-03T08:00:00-04:00")))
        engine.advance_to(timestamps.parse("2012-10-03T10:00:00-04:00"))
        assert engine.open_cases() == 1

    def test_an_event_for_a_dropped_case_older_than_the_retention_is_expired(
        self, policy: Policy, ny: Events
    ) -> None:
        engine, _ = collecting_engine(replace(policy, closed_case_retention=timestamps.HOUR))
        engine.process(decoded(ny.booking("2011-10-03T08:00:00-04:00")))
        engine.process(decoded(ny.release("2011-10-03T09:00:00-04:00", "released")))
        engine.advance_to(timestamps.parse("2011-10-04T00:00:00-04:00"))
        with pytest.raises(Rejected) as rejected:
            engine.process(decoded(ny.detainer("2011-10-03T08:30:00-04:00")))
        assert rejected.value.reason == "expired"
        assert engine.open_cases() == 0

    def test_the_case_table_round_trips(self, policy: Policy, ny: Events) -> None:
        from streams.engine.record import from_primitive, to_primitive

        engine, _ = collecting_engine(policy)
        for event in [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.detainer("2011-10-03 11:00", action="served"),
            ny.release("2011-10-04 10:00", "eligible"),
        ]:
            engine.process(decoded(event))
        engine.advance_to(timestamps.parse("2011-10-06T10:00:00-04:00"))
        case = engine.cases["bk-ny"]
        restored = from_primitive(orjson.loads(orjson.dumps(to_primitive(case))))
        restored.timer_at = case.timer_at
        assert restored == case
