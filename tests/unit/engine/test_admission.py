"""Contradictory input is a dead letter, never a silent change (issue 12 §4).

Each class is one reason of ``streams/engine/admission.py`` (and the content digest of
``streams/engine/case.py``): the event the engine refuses ends as a dead letter with that reason
and its original bytes, and the alerts are those of the log without it. Every test here fails on
the starting main, where these inputs were applied (or dropped as duplicates) without a trace.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.cli.demo import sample_log
from streams.contract import timestamps
from streams.contract.dead_letters import original_bytes
from streams.contract.decode import Decoder, Rejected
from streams.engine.processor import DUPLICATE, Engine, collecting_engine
from streams.engine.record import from_primitive, to_primitive
from streams.generate.synthetic import generate
from streams.policy.model import Policy
from tests.support import Events, alert_set, firing, replay, resolved

#: One booking per scenario: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1

UNTIL = "2011-10-12T00:00:00Z"


def held_past_deadline(ev: Events) -> list[dict[str, Any]]:
    """Booked Monday, hit, detainer (48 business hours), eligible Tuesday 10:00, still held:
    hold_limit_exceeded fires at the deadline, Thursday 10:00."""
    return [
        ev.booking("2011-10-03 08:00"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00"),
        ev.release("2011-10-04 10:00", "eligible"),
    ]


def reasons(dead: list[dict[str, Any]]) -> list[str]:
    return [record["reason"] for record in dead]


class TestConflictingDuplicate:
    """Same ``event_id``, other content -> ``conflicting_duplicate``; the first one stands.

    Fails on main: the re-send was counted as a plain duplicate, with no dead letter.
    """

    @pytest.mark.parametrize(
        "change",
        [
            lambda ev, d: d | {"action": "lifted"} if d.pop("form") else d,  # other fields
            lambda ev, d: d | {"occurred_at": "2011-10-03T11:00:00-04:00"},  # another time
            lambda ev, d: d | {"detainer_id": "dt-other"},
            lambda ev, d: ev.hit("2011-10-03 10:00", "us_citizen") | {"event_id": d["event_id"]},
        ],
    )
    def test_a_resent_id_with_other_content_is_a_dead_letter(
        self, policy: Policy, ny: Events, change: Any
    ) -> None:
        events = held_past_deadline(ny)
        detainer = events[2]
        conflicting = change(ny, dict(detainer))
        clean, _, _ = replay(policy, events, until=UNTIL)
        alerts, summary, dead = replay(policy, [*events, conflicting], until=UNTIL)
        assert reasons(dead) == ["conflicting_duplicate"]
        assert original_bytes(dead[0]) == orjson.dumps(conflicting)
        assert detainer["event_id"] in dead[0]["detail"]
        assert summary.duplicates == 0 and summary.balanced()
        assert alerts == clean and firing(alerts, "hold_limit_exceeded")

    def test_an_exact_repeat_spelled_differently_stays_a_duplicate(
        self, policy: Policy, ny: Events
    ) -> None:
        """Whitespace, key order and the offset the same instant is written in are not content."""
        events = held_past_deadline(ny)
        eligible = events[3]
        utc = timestamps.isoformat(timestamps.parse(eligible["occurred_at"])).replace("+00:00", "Z")
        respelled = (
            b"{ "
            + b",\n ".join(
                orjson.dumps({k: v})[1:-1]
                for k, v in reversed(list((eligible | {"occurred_at": utc}).items()))
            )
            + b" }"
        )
        assert orjson.loads(respelled)["occurred_at"] != eligible["occurred_at"]
        clean, _, _ = replay(policy, events, until=UNTIL)
        alerts, summary, dead = replay(policy, [*events, respelled], until=UNTIL)
        assert dead == [] and summary.duplicates == 1
        assert alerts == clean

    def test_a_case_stored_before_digests_were_kept_still_loads(
        self, policy: Policy, ny: Events
    ) -> None:
        """An old changelog record (ids only): its ids' repeats count as exact repeats, ids added
        after loading get digests."""
        engine, _ = collecting_engine(policy)
        decoder = Decoder()
        events = held_past_deadline(ny)
        for event in events[:3]:
            engine.process(decoder.decode(orjson.dumps(event)))
        old = to_primitive(engine.cases[ny.booking_id])
        del old["sd"]  # the record as the starting main wrote it
        restored = Engine(policy, lambda alert: None, store={})
        restored.cases[ny.booking_id] = from_primitive(orjson.loads(orjson.dumps(old)))
        changed = events[2] | {"form": "I-247A-2017"}
        assert restored.process(decoder.decode(orjson.dumps(changed))) == DUPLICATE
        restored.process(decoder.decode(orjson.dumps(events[3])))
        later = events[3] | {"occurred_at": "2011-10-05T10:00:00-04:00"}
        with pytest.raises(Rejected, match="conflicting_duplicate"):
            restored.process(decoder.decode(orjson.dumps(later)))

    def test_digests_survive_the_changelog_round_trip(self, policy: Policy) -> None:
        engine, _ = collecting_engine(policy)
        decoder = Decoder()
        ev = Events("bk-many")
        events = [ev.booking("2011-10-03 08:00")] + [
            ev.hit(f"2011-10-03 09:{i:02d}") for i in range(12)
        ]  # past SEEN_TUPLE_MAX: the dict form
        for event in events:
            engine.process(decoder.decode(orjson.dumps(event)))
        case = engine.cases["bk-many"]
        restored = from_primitive(orjson.loads(orjson.dumps(to_primitive(case))))
        assert restored.digests == case.digests and restored.seen == case.seen
        other = Engine(policy, lambda alert: None, store={"bk-many": restored})
        with pytest.raises(Rejected, match="conflicting_duplicate"):
            other.process(decoder.decode(orjson.dumps(events[5] | {"status": "us_citizen"})))


class TestInconsistentTime:
    """A release before the booking, a lift or service before the booking or the issue ->
    ``inconsistent_time``; the valid later event still counts; either arrival order gives the
    same alerts.

    Fails on main: the contradicting event was applied (earliest wins) and suppressed the
    critical hold_limit_exceeded alert.
    """

    @pytest.mark.parametrize(
        "bad",
        [
            lambda ev: ev.release("2011-10-03 07:00"),  # released before booked
            lambda ev: ev.release("2011-10-03 07:00", "transferred_to_ice"),
            lambda ev: ev.release("2011-10-02 07:00", "eligible"),
            lambda ev: ev.detainer("2011-10-03 09:30", "lifted"),  # lifted before issued
            lambda ev: ev.detainer("2011-10-03 07:30", "lifted"),  # ... and before booked
            lambda ev: ev.detainer("2011-10-03 09:30", "served"),
        ],
    )
    def test_known_anchor_dead_letter_and_the_alert_still_fires(
        self, policy: Policy, ny: Events, bad: Any
    ) -> None:
        events = held_past_deadline(ny)
        clean, _, _ = replay(policy, events, until=UNTIL)
        contradicting = bad(ny)
        alerts, summary, dead = replay(policy, [*events, contradicting], until=UNTIL)
        assert reasons(dead) == ["inconsistent_time"]
        assert original_bytes(dead[0]) == orjson.dumps(contradicting)
        assert "before" in dead[0]["detail"]
        assert alerts == clean and firing(alerts, "hold_limit_exceeded")
        assert summary.inconsistent_ignored == 0

    @pytest.mark.parametrize(
        "valid",
        [
            lambda ev: ev.release("2011-10-07 10:00"),
            lambda ev: ev.detainer("2011-10-07 10:00", "lifted"),
        ],
    )
    def test_the_valid_later_event_still_counts(
        self, policy: Policy, ny: Events, valid: Any
    ) -> None:
        events = held_past_deadline(ny)
        bad = [ny.release("2011-10-03 07:00"), ny.detainer("2011-10-03 09:30", "lifted")]
        later = valid(ny)
        alerts, _, dead = replay(policy, [*events, *bad, later], until=UNTIL)
        assert reasons(dead) == ["inconsistent_time"] * 2
        [done] = resolved(alerts, "hold_limit_exceeded")
        assert done["details"]["resolved_at"].startswith("2011-10-07T10:00")

    def test_anchor_after_the_contradicting_event_gives_the_same_alerts(
        self, policy: Policy, ny: Events
    ) -> None:
        """The release before the booking arrives first: it is applied, then dropped when the
        booking comes (counted, no dead letter: its bytes are gone), and the valid later release
        takes its place."""
        events = held_past_deadline(ny)
        bad_release = ny.release("2011-10-03 07:00")
        bad_lift = ny.detainer("2011-10-03 09:30", "lifted")
        later = ny.release("2011-10-07 10:00")
        anchor_first, _, dead_first = replay(
            policy, [*events, bad_release, bad_lift, later], until=UNTIL
        )
        anchor_last, summary, dead_last = replay(
            policy, [bad_release, bad_lift, later, *events], until=UNTIL
        )
        assert reasons(dead_first) == ["inconsistent_time"] * 2
        assert dead_last == [] and summary.inconsistent_ignored == 2
        assert alert_set(anchor_last) == alert_set(anchor_first)
        assert resolved(anchor_first, "hold_limit_exceeded")

    @settings(max_examples=150, deadline=None)
    @given(order=st.permutations(range(10)))
    def test_any_arrival_order_gives_the_same_alerts(
        self, policy: Policy, order: list[int]
    ) -> None:
        """One small case with two contradicting events, in every order, the watermark moved
        only at the end: identical alerts (the case fold is order independent)."""
        ev = Events("bk-perm")
        events = [
            ev.booking("2011-10-03 08:00"),
            ev.hit("2011-10-03 09:00"),
            ev.detainer("2011-10-03 10:00"),
            ev.release("2011-10-04 10:00", "eligible"),
            ev.release("2011-10-03 07:00"),  # before the booking
            ev.detainer("2011-10-03 09:30", "lifted"),  # before the issue
            ev.detainer("2011-10-03 09:45", "served"),  # before the issue
            ev.detainer("2011-10-06 12:00", "served"),
            ev.release("2011-10-07 10:00", "transferred_to_ice"),
            ev.release("2011-10-07 10:00", "transferred_other"),  # a tie: not decided by arrival
        ]
        decoder = Decoder()
        decoded = [decoder.decode(orjson.dumps(e)) for e in events]

        def run(sequence: list[int]) -> set[bytes]:
            engine, alerts = collecting_engine(policy)
            for i in sequence:
                try:
                    engine.process(decoded[i], observe=False)
                except Rejected as rejected:
                    assert rejected.reason == "inconsistent_time"
            engine.advance_to(timestamps.parse(UNTIL))
            return alert_set(alerts)

        reference = run(list(range(10)))
        assert run(order) == reference
        assert any(b"hold_limit_exceeded" in a for a in reference)


class TestUnknownJurisdiction:
    """Fails on main: such a booking silently got the default time zone and no local policy."""

    @pytest.mark.parametrize(
        "name", ["ny-newyorkcity", "NY-NewYorkCity ", " NY-NewYorkCity", "NY-New YorkCity"]
    )
    @pytest.mark.parametrize("zone", [None, "America/New_York"])
    def test_a_near_match_of_a_table_entry_is_a_dead_letter_naming_it(
        self, policy: Policy, ny: Events, name: str, zone: str | None
    ) -> None:
        events = held_past_deadline(ny)
        booking = events[0] | {"jurisdiction": name}
        if zone:
            booking["timezone"] = zone
        _, summary, dead = replay(policy, [booking, *events[1:]], until=UNTIL)
        assert reasons(dead) == ["unknown_jurisdiction"]
        assert "'NY-NewYorkCity'" in dead[0]["detail"]
        assert summary.cases_without_booking == 1

    def test_an_unlisted_jurisdiction_without_a_timezone_is_a_dead_letter(
        self, policy: Policy, ny: Events
    ) -> None:
        booking = ny.booking("2011-10-03 08:00", jurisdiction="XX-Nowhere")
        _, _, dead = replay(policy, [booking])
        assert reasons(dead) == ["unknown_jurisdiction"]
        assert original_bytes(dead[0]) == orjson.dumps(booking)

    def test_an_unlisted_jurisdiction_with_its_own_timezone_is_accepted_and_counted(
        self, policy: Policy
    ) -> None:
        chi = Events("bk-unlisted", "America/Chicago")
        events = held_past_deadline(chi)
        events[0] |= {"jurisdiction": "XX-Elsewhere", "timezone": "America/Chicago"}
        alerts, summary, dead = replay(policy, events, until=UNTIL)
        assert dead == [] and summary.unlisted_jurisdiction == 1
        assert summary.to_dict()["unlisted_jurisdiction"] == 1
        assert "unlisted jurisdiction" in summary.render()
        [alert] = firing(alerts, "hold_limit_exceeded")
        assert alert["jurisdiction"] == "XX-Elsewhere"
        assert alert["occurred_at"].endswith("-05:00")  # its own zone, Chicago (CDT)

    def test_the_bundled_sample_and_the_generator_use_only_known_jurisdictions(
        self, policy: Policy
    ) -> None:
        with gzip.open(sample_log(), "rb") as sample:
            _, summary, _ = replay(policy, list(sample))
        assert summary.accepted > 0
        assert summary.dead_letters["unknown_jurisdiction"] == 0
        assert summary.unlisted_jurisdiction == 0
        _, generated, _ = replay(policy, list(generate(2000, 5)))
        assert generated.dead_letters["unknown_jurisdiction"] == 0
        assert generated.unlisted_jurisdiction == 0


class TestCaseLimit:
    """Fails on main: every hit was kept (state and changelog record growing without bound,
    quadratic work); there was no ``case_limit``."""

    def test_five_thousand_hits_on_one_booking_cost_linear_work(
        self, policy: Policy, ny: Events
    ) -> None:
        events = held_past_deadline(ny)
        hits = [ny.hit(f"2011-10-03 09:{i % 60:02d}") for i in range(5000)]
        other = held_past_deadline(Events("bk-other"))
        engine_alerts, summary, dead = replay(policy, [*events, *hits, *other], until=UNTIL)
        limit = policy.max_hits_per_case
        assert summary.dead_letters == {"case_limit": 5000 - (limit - 1)}  # one hit came before
        assert all("max_hits_per_case" in record["detail"] for record in dead)
        assert summary.balanced()
        bookings = {a["booking_id"] for a in firing(engine_alerts, "hold_limit_exceeded")}
        assert bookings == {ny.booking_id, "bk-other"}

    def test_the_case_and_its_changelog_record_stay_small(self, policy: Policy) -> None:
        engine, _ = collecting_engine(policy)
        decoder = Decoder()
        ev = Events("bk-flood")
        flood = [ev.booking("2011-10-03 08:00")]
        flood += [ev.hit(f"2011-10-03 09:{i % 60:02d}") for i in range(1000)]
        flood += [ev.detainer("2011-10-03 10:00", detainer_id=f"dt-{i}") for i in range(100)]
        refused = 0
        for event in flood:
            try:
                engine.process(decoder.decode(orjson.dumps(event)))
            except Rejected as rejected:
                assert rejected.reason == "case_limit"
                refused += 1
        case = engine.cases["bk-flood"]
        assert len(case.hits) == policy.max_hits_per_case
        assert len(case.detainers) == policy.max_detainers_per_case
        assert refused == len(flood) - 1 - policy.max_hits_per_case - policy.max_detainers_per_case
        assert len(orjson.dumps(to_primitive(case))) < 16 * 1024

    def test_more_events_than_max_events_per_case_are_refused(
        self, policy: Policy, ny: Events
    ) -> None:
        small = replace(policy, max_events_per_case=5)
        events = [*held_past_deadline(ny), ny.detainer("2011-10-03 11:00", "served")]
        events += [ny.release("2011-10-07 10:00")]
        _, summary, dead = replay(small, events, until=UNTIL)
        assert reasons(dead) == ["case_limit"]
        assert "max_events_per_case" in dead[0]["detail"]
        assert summary.accepted == 5

    def test_a_known_detainer_is_still_updated_at_the_detainer_limit(
        self, policy: Policy, ny: Events
    ) -> None:
        small = replace(policy, max_detainers_per_case=1)
        events = held_past_deadline(ny)
        second = ny.detainer("2011-10-03 10:30", detainer_id="dt-2")
        lift = ny.detainer("2011-10-07 10:00", "lifted")
        alerts, _, dead = replay(small, [*events, second, lift], until=UNTIL)
        assert reasons(dead) == ["case_limit"]
        assert "max_detainers_per_case" in dead[0]["detail"]
        assert resolved(alerts, "hold_limit_exceeded")
