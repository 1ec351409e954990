"""The robust event clock (issue 12 §1, §8): one or two wild timestamps cannot move event time.

Every test here fails on the engine before issue 12, whose watermark was the newest event time
minus the allowed lateness, moved by any single event (and by a re-sent one), and which fired a
finding once the watermark *reached* its time.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract import timestamps
from streams.contract.dead_letters import original_bytes
from streams.contract.decode import Decoder, Rejected
from streams.engine.event_clock import Frontier, HeldQueue
from streams.engine.processor import ACCEPTED, DUPLICATE, HELD, collecting_engine
from streams.engine.watermark import NEVER
from streams.policy.model import Policy
from tests.support import Events, firing, replay, resolved

MINUTE = timestamps.MINUTE
DEADLINE = "2011-10-06T10:00:00-04:00"  # bk-ny's 48 h (2011 form) deadline in ``held_ny``


def decoded(event: dict[str, Any]) -> Any:
    return Decoder().decode(orjson.dumps(event))


def at(text: str, plus: int = 0) -> str:
    return timestamps.isoformat(timestamps.parse(text) + plus)


def others(when: str, count: int = 3) -> list[dict[str, Any]]:
    """Bookings of other people at ``when``: ``count`` >= clock_quorum of them corroborate it."""
    return [Events(f"bk-other-{i}").booking(when) for i in range(count)]


def held_ny(ny: Events) -> list[dict[str, Any]]:
    """Eligible Tue 10-04 10:00 on a 2011 detainer: the 48 h deadline is Thu 10-06 10:00."""
    return [
        ny.booking("2011-10-03 08:00"),
        ny.hit("2011-10-03 09:00"),
        ny.detainer("2011-10-03 10:00"),
        ny.detainer("2011-10-03 11:00", action="served"),
        ny.release("2011-10-04 10:00", "eligible"),
    ]


class TestFrontier:
    def test_is_undefined_until_quorum_bookings_were_seen(self) -> None:
        frontier = Frontier(3)
        assert not frontier.observe("a", 100)
        assert not frontier.observe("b", 200)
        assert frontier.value == NEVER
        assert frontier.observe("c", 50)
        assert frontier.value == 50

    def test_is_the_kth_highest_newest_time_over_distinct_bookings(self) -> None:
        frontier = Frontier(3)
        for booking, time in [("a", 10), ("b", 20), ("c", 30), ("a", 40), ("d", 25), ("b", 5)]:
            frontier.observe(booking, time)
        assert frontier.value == 25  # newest times a 40, c 30, d 25, b 20
        assert frontier.observe("b", 35)  # b comes back into the top three
        assert frontier.value == 30

    def test_two_wild_bookings_move_it_only_to_honest_times(self) -> None:
        frontier = Frontier(3)
        for booking, time in [("a", 10), ("b", 20), ("c", 30)]:
            frontier.observe(booking, time)
        frontier.observe("wild-1", 10**15)
        assert frontier.value == 20
        frontier.observe("wild-2", 10**16)
        assert frontier.value == 30  # the third highest: the newest honest time
        frontier.observe("wild-2", 10**17)
        assert frontier.value == 30

    def test_the_end_of_a_log_with_fewer_bookings_uses_the_lowest_of_them(self) -> None:
        frontier = Frontier(3)
        frontier.observe("a", 10)
        frontier.observe("b", 20)
        assert frontier.reference() == 10

    @settings(max_examples=500, deadline=None)
    @given(
        st.integers(1, 4),
        st.lists(st.tuples(st.sampled_from("abcdefg"), st.integers(0, 40)), max_size=60),
    )
    def test_equals_the_kth_highest_newest_time_recomputed(
        self, quorum: int, events: list[tuple[str, int]]
    ) -> None:
        """The kept lowest entry (issue 15) gives T and its moves exactly as a full recount."""
        frontier = Frontier(quorum)
        newest: dict[str, int] = {}
        value = NEVER
        for booking, time in events:
            newest[booking] = max(time, newest.get(booking, time))
            times = sorted(newest.values(), reverse=True)
            expected = max(value, times[quorum - 1]) if len(times) >= quorum else NEVER
            assert frontier.observe(booking, time) == (expected > value)
            value = expected
            assert frontier.value == value


class TestHeldQueue:
    def test_releases_in_time_then_arrival_order(self) -> None:
        queue: HeldQueue[str] = HeldQueue(10)
        for time, name in [(30, "x"), (10, "y"), (30, "z"), (20, "w")]:
            assert queue.push(time, name) is None
        assert [h.item for h in queue.pop_until(30)] == ["y", "w", "x", "z"]
        assert len(queue) == 0

    def test_beyond_its_bound_gives_up_the_event_furthest_in_the_future(self) -> None:
        queue: HeldQueue[str] = HeldQueue(2)
        queue.push(10, "near")
        queue.push(99, "far")
        dropped = queue.push(50, "middle")
        assert dropped is not None and dropped.item == "far"
        assert [h.item for h in queue.drain()] == ["near", "middle"]


class TestWildTimestamps:
    def test_an_event_far_ahead_is_held_and_moves_no_watermark(self, policy: Policy) -> None:
        engine, _ = collecting_engine(policy)
        for event in others("2011-10-03 08:00"):
            assert engine.process(decoded(event)) in (ACCEPTED, HELD)
        before = engine.watermark.value
        assert before == timestamps.parse(at("2011-10-03T08:00:00-04:00", -10 * MINUTE))
        wild = Events("bk-wild").booking("2199-10-03T08:00:00-04:00")
        assert engine.process(decoded(wild)) == HELD
        assert engine.watermark.value == before
        assert engine.stats.held == 3  # and the first two, which waited for a third booking

    def test_a_held_event_is_released_once_corroborated(self, policy: Policy) -> None:
        events = [
            *others("2011-10-03 08:00"),
            Events("bk-early").booking("2011-10-03 12:00"),  # 4 h ahead: held
            *others("2011-10-03 11:30"),  # now within the hour's skew
        ]
        _, summary, dead = replay(policy, events)
        assert summary.held == 4 and summary.released == 4
        assert summary.accepted == 7 and dead == []
        assert summary.balanced()

    def test_what_is_never_corroborated_is_the_dead_letter_future_with_its_bytes(
        self, policy: Policy, ny: Events
    ) -> None:
        wild = Events("bk-wild").booking("2199-10-03T08:00:00-04:00")
        events = [*held_ny(ny), *others("2011-10-03 08:00"), wild, *others("2011-10-07 08:00")]
        alerts, summary, dead = replay(policy, events)
        [record] = dead
        assert record["reason"] == "future" and record["line"] == 9
        assert original_bytes(record) == orjson.dumps(wild)
        assert summary.dead_letters == {"future": 1}
        assert summary.balanced()
        assert [a["booking_id"] for a in firing(alerts, "hold_limit_exceeded")] == ["bk-ny"]

    def test_until_accepts_a_held_event_up_to_it(self, policy: Policy) -> None:
        events = [
            *others("2011-10-03 08:00"),
            Events("bk-next").booking("2011-10-05 08:00"),
            Events("bk-then").booking("2011-10-03 08:30"),  # a later line, 2 days earlier
        ]
        _, without, dead = replay(policy, events)
        assert without.dead_letters == {"future": 1} and len(dead) == 1
        _, with_until, dead = replay(policy, events, until="2011-10-06T00:00:00Z")
        assert with_until.accepted == 5 and dead == []

    def test_the_sparse_end_of_a_log_is_applied_and_ends_it_a_wild_last_line_does_not(
        self, policy: Policy, ny: Events
    ) -> None:
        # Two bookings' last events, days after everyone else's, with no later line against
        # them: the log's order vouches for them, and the end follows them a step (at most a
        # week) at a time; a last line a year later is applied to its booking but ends nothing.
        events = [*held_ny(ny), *others("2011-10-05 08:00"), ny.release(DEADLINE, "released")]
        events.append(Events("bk-last").booking("2011-10-09 08:00"))
        events.append(Events("bk-typo").booking("2012-10-09 08:00"))
        alerts, summary, dead = replay(policy, events)
        assert dead == [] and summary.accepted == len(events)
        assert summary.watermark == timestamps.parse("2011-10-09T08:00:00-04:00") + 1
        assert firing(alerts, "hold_limit_exceeded") == []  # bk-ny released at its deadline

    def test_the_held_events_are_bounded(self, policy: Policy) -> None:
        bounded = replace(policy, max_held_events=2)
        w1, w2 = Events("bk-w1"), Events("bk-w2")
        events = [
            *others("2011-10-03 08:00"),
            w1.booking("2110-01-01T00:00:00Z"),
            w1.hit("2150-01-01T00:00:00Z"),
            w2.booking("2120-01-01T00:00:00Z"),
            w2.hit("2130-01-01T00:00:00Z"),
            Events("bk-other-0").hit("2011-10-03 09:00"),  # a later line contradicts them all
        ]
        _, summary, dead = replay(bounded, events)
        assert summary.dead_letters == {"future": 4}
        # The two given up while the run goes on are the ones furthest in the future.
        assert [orjson.loads(original_bytes(d))["occurred_at"][:4] for d in dead] == [
            "2150",
            "2130",
            "2110",
            "2120",
        ]
        assert summary.balanced()

    def test_a_single_booking_log_still_ends(self, policy: Policy, ny: Events) -> None:
        alerts, summary, dead = replay(policy, held_ny(ny), until="2011-10-07T00:00:00-04:00")
        assert dead == [] and summary.accepted == 5
        assert len(firing(alerts, "hold_limit_exceeded")) == 1


class TestResentEvents:
    """§8: a duplicate (same event_id, whatever its time) moves no clock."""

    def test_a_resend_with_a_newer_time_moves_no_clock(self, policy: Policy) -> None:
        engine, _ = collecting_engine(policy)
        first = others("2011-10-03 08:00")
        for event in first:
            engine.process(decoded(event))
        before = (engine.watermark.value, engine.frontier.value)
        for event in first:
            resend = event | {"occurred_at": "2011-10-09T08:00:00-04:00"}
            try:
                outcome = engine.process(decoded(resend))
            except Rejected as rejected:  # a contradicting re-send may be refused outright
                outcome = rejected.reason
            assert outcome != ACCEPTED
        assert (engine.watermark.value, engine.frontier.value) == before

    def test_a_resend_of_a_held_event_is_a_duplicate(self, policy: Policy) -> None:
        engine, _ = collecting_engine(policy)
        event = decoded(Events("bk-x").booking("2011-10-03 08:00"))
        assert engine.process(event) == HELD
        assert engine.process(event) == DUPLICATE
        assert engine.stats.held == 1


class TestStrictFiring:
    """§8: "a release up to 10 minutes out of order still prevents the alert", to the µs."""

    def test_a_release_at_the_deadline_arriving_exactly_the_lateness_late_prevents_it(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            *held_ny(ny),
            *others(at(DEADLINE, policy.allowed_lateness)),
            ny.release(DEADLINE, "transferred_to_ice"),
        ]
        alerts, summary, _ = replay(policy, events)
        assert summary.late == 0
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_one_microsecond_later_the_alert_fires_and_then_resolves(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            *held_ny(ny),
            *others(at(DEADLINE, policy.allowed_lateness + 1)),
            ny.release(DEADLINE, "transferred_to_ice"),
        ]
        alerts, _, _ = replay(policy, events)
        [fired] = firing(alerts, "hold_limit_exceeded")
        [done] = resolved(alerts, "hold_limit_exceeded")
        assert fired["alert_id"] == done["alert_id"]
        assert fired["occurred_at"] == DEADLINE

    @pytest.mark.parametrize("until", [DEADLINE, at(DEADLINE, -1)])
    def test_the_end_of_a_log_settles_everything_at_or_before_it(
        self, policy: Policy, ny: Events, until: str
    ) -> None:
        alerts, summary, _ = replay(policy, held_ny(ny), until=until)
        fires = until == DEADLINE
        assert bool(firing(alerts, "hold_limit_exceeded")) is fires
        assert summary.watermark == timestamps.parse(until) + 1
