"""Each rule, as a monitor would state it. Times are local to the booking's jail."""

from __future__ import annotations

from dataclasses import replace

from streams.policy.model import Policy
from tests.support import Events, firing, replay, resolved


def held_case(ny: Events, release_at: str | None, form: str = "I-247-2011") -> list[dict]:
    """Booked Mon, hit and detainer the same day, copy served, eligible Tue 10:00."""
    events = [
        ny.booking("2011-10-03 08:00"),
        ny.hit("2011-10-03 09:00"),
        ny.detainer("2011-10-03 10:00", form=form),
        ny.detainer("2011-10-03 12:00", action="served"),
        ny.release("2011-10-04 10:00", "eligible"),
    ]
    if release_at:
        events.append(ny.release(release_at, "transferred_to_ice"))
    return events


class TestHoldLimitExceeded:
    def test_custody_ending_before_the_deadline_raises_nothing(
        self, policy: Policy, ny: Events
    ) -> None:
        alerts, _, _ = replay(policy, held_case(ny, "2011-10-06 09:59"))
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_custody_ending_exactly_at_the_deadline_is_within_the_limit(
        self, policy: Policy, ny: Events
    ) -> None:
        alerts, _, _ = replay(policy, held_case(ny, "2011-10-06 10:00"))
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_fires_at_the_deadline_with_no_further_event(self, policy: Policy, ny: Events) -> None:
        alerts, _, _ = replay(policy, held_case(ny, None), until="2011-10-06T10:00:00-04:00")
        [alert] = firing(alerts, "hold_limit_exceeded")
        assert alert["occurred_at"] == "2011-10-06T10:00:00-04:00"
        assert alert["severity"] == "critical"
        assert alert["details"]["deadline"] == "2011-10-06T10:00:00-04:00"
        assert alert["details"]["form"] == "I-247-2011"
        assert alert["details"]["hours_held_after_eligible"] == 48.0
        assert "287.7(d)" in alert["policy"]

    def test_does_not_fire_before_the_watermark_reaches_the_deadline(
        self, policy: Policy, ny: Events
    ) -> None:
        alerts, _, _ = replay(policy, held_case(ny, None), until="2011-10-06T09:59:59-04:00")
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_resolves_with_the_same_id_and_the_hours_over_when_custody_ends(
        self, policy: Policy, ny: Events
    ) -> None:
        alerts, _, _ = replay(policy, held_case(ny, "2011-10-07 13:30"))
        [fired] = firing(alerts, "hold_limit_exceeded")
        [ended] = resolved(alerts, "hold_limit_exceeded")
        assert ended["alert_id"] == fired["alert_id"]
        assert ended["occurred_at"] == fired["occurred_at"]
        assert ended["details"]["hours_over"] == 27.5
        assert ended["details"]["resolved_at"] == "2011-10-07T13:30:00-04:00"
        assert ended["details"]["custody_end"] == "transferred_to_ice"

    def test_the_2017_form_does_not_skip_the_weekend(self, policy: Policy) -> None:
        chi = Events("bk-chi", "America/Chicago")
        events = [
            chi.booking("2018-03-08 08:00", jurisdiction="IL-Cook"),
            chi.hit("2018-03-08 09:00"),
            chi.detainer("2018-03-08 10:00", form="I-247A-2017"),
            chi.detainer("2018-03-08 11:00", action="served"),
            chi.release("2018-03-10 12:00", "eligible"),
        ]
        alerts, _, _ = replay(policy, events, until="2018-03-12T13:00:00-05:00")
        [alert] = firing(alerts, "hold_limit_exceeded")
        assert alert["occurred_at"] == "2018-03-12T13:00:00-05:00"

    def test_the_clock_starts_at_eligibility_even_when_the_detainer_comes_later(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.release("2011-10-04 10:00", "eligible"),
            ny.detainer("2011-10-05 10:00"),
            ny.detainer("2011-10-05 11:00", action="served"),
        ]
        alerts, _, _ = replay(policy, events, until="2011-10-07T00:00:00-04:00")
        [alert] = firing(alerts, "hold_limit_exceeded")
        assert alert["occurred_at"] == "2011-10-06T10:00:00-04:00"

    def test_a_lifted_detainer_stops_the_hold(self, policy: Policy, ny: Events) -> None:
        events = [*held_case(ny, None), ny.detainer("2011-10-05 10:00", action="lifted")]
        alerts, _, _ = replay(policy, events, until="2011-10-10T00:00:00-04:00")
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_no_detainer_no_hold_alert(self, policy: Policy, ny: Events) -> None:
        events = [ny.booking("2011-10-03 08:00"), ny.release("2011-10-04 10:00", "eligible")]
        alerts, _, _ = replay(policy, events, until="2011-10-20T00:00:00-04:00")
        assert alerts == []


def eligible_thursday_midnight(ny: Events, eligible: str, end: str | None) -> list[dict]:
    """Booked, hit, detainer (2011 form) and copy served on Tue 2011-10-04; eligible at
    ``eligible`` (a Thursday 00:00), custody ending at ``end``."""
    events = [
        ny.booking("2011-10-04 08:00"),
        ny.hit("2011-10-04 09:00"),
        ny.detainer("2011-10-04 10:00"),
        ny.detainer("2011-10-04 12:00", action="served"),
        ny.release(eligible, "eligible"),
    ]
    if end:
        events.append(ny.release(end, "transferred_to_ice"))
    return events


class TestHoldLimitAtTheEdgeOfAWeekend:
    """Issue 12 §9, 2011 form: the 48 counted hours of a hold eligible on Thursday 00:00 run out
    at Saturday 00:00; the weekend adds nothing, so the limit is exceeded only after Monday 00:00
    (Tuesday 00:00 after a Monday holiday). The old main fired at Saturday 00:00 and counted the
    weekend as hours over: each test here failed on it."""

    def test_custody_over_the_weekend_is_within_the_limit(self, policy: Policy, ny: Events) -> None:
        events = eligible_thursday_midnight(ny, "2011-10-13 00:00", "2011-10-15 10:00")
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_custody_ending_at_monday_midnight_is_within_the_limit(
        self, policy: Policy, ny: Events
    ) -> None:
        events = eligible_thursday_midnight(ny, "2011-10-13 00:00", "2011-10-17 00:00")
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "hold_limit_exceeded") == []

    def test_held_into_monday_fires_at_monday_midnight_counting_monday_hours_only(
        self, policy: Policy, ny: Events
    ) -> None:
        events = eligible_thursday_midnight(ny, "2011-10-13 00:00", "2011-10-17 06:00")
        alerts, _, _ = replay(policy, events)
        [fired] = firing(alerts, "hold_limit_exceeded")
        assert fired["occurred_at"] == "2011-10-17T00:00:00-04:00"
        assert fired["details"]["deadline"] == "2011-10-17T00:00:00-04:00"
        [ended] = resolved(alerts, "hold_limit_exceeded")
        assert ended["details"]["hours_over"] == 6.0

    def test_a_monday_holiday_moves_the_deadline_to_tuesday_midnight(
        self, policy: Policy, ny: Events
    ) -> None:
        # Columbus Day, Mon 2011-10-10: custody through it is within the limit.
        within = eligible_thursday_midnight(ny, "2011-10-06 00:00", "2011-10-10 23:00")
        alerts, _, _ = replay(policy, within)
        assert firing(alerts, "hold_limit_exceeded") == []
        later = Events("bk-ny-2")
        alerts, _, _ = replay(
            policy, eligible_thursday_midnight(later, "2011-10-06 00:00", "2011-10-11 03:00")
        )
        [fired] = firing(alerts, "hold_limit_exceeded")
        assert fired["occurred_at"] == "2011-10-11T00:00:00-04:00"
        [ended] = resolved(alerts, "hold_limit_exceeded")
        assert ended["details"]["hours_over"] == 3.0


class TestHoldLimitApproaching:
    def test_warns_six_hours_before_the_deadline_and_resolves_at_it(
        self, policy: Policy, ny: Events
    ) -> None:
        alerts, _, _ = replay(policy, held_case(ny, None), until="2011-10-06T10:00:00-04:00")
        [warning] = firing(alerts, "hold_limit_approaching")
        assert warning["occurred_at"] == "2011-10-06T04:00:00-04:00"
        assert warning["severity"] == "warning"
        [done] = resolved(alerts, "hold_limit_approaching")
        assert done["details"]["resolved_at"] == "2011-10-06T10:00:00-04:00"

    def test_can_be_turned_off(self, policy: Policy, ny: Events) -> None:
        quiet = replace(policy, approaching_warning=0)
        alerts, _, _ = replay(quiet, held_case(ny, None), until="2011-10-06T10:00:00-04:00")
        assert firing(alerts, "hold_limit_approaching") == []


class TestDetainerOnCitizen:
    def test_fires_when_the_hit_says_citizen_at_the_later_of_the_two(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.hit("2011-10-03 11:00", status="naturalized_citizen"),
        ]
        alerts, _, _ = replay(policy, events)
        [alert] = firing(alerts, "detainer_on_citizen")
        assert alert["occurred_at"] == "2011-10-03T11:00:00-04:00"
        assert alert["details"]["status"] == "naturalized_citizen"

    def test_fires_in_either_arrival_order(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00", status="us_citizen"),
            ny.detainer("2011-10-03 10:00"),
        ]
        forward, _, _ = replay(policy, events)
        backward, _, _ = replay(policy, [events[0], events[2], events[1]])
        assert (
            firing(forward, "detainer_on_citizen") == firing(backward, "detainer_on_citizen") != []
        )

    def test_a_permanent_resident_is_not_a_citizen(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00", status="lawful_permanent_resident"),
            ny.detainer("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "detainer_on_citizen") == []


class TestDetainerWithoutHit:
    def test_fires_at_issue_time_when_no_hit_preceded_it(self, policy: Policy, ny: Events) -> None:
        events = [ny.booking("2011-10-03 08:00"), ny.detainer("2011-10-03 10:00")]
        alerts, _, _ = replay(policy, events)
        [alert] = firing(alerts, "detainer_without_hit")
        assert alert["occurred_at"] == "2011-10-03T10:00:00-04:00"

    def test_a_hit_at_the_same_instant_counts_as_before(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.hit("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "detainer_without_hit") == []

    def test_a_hit_after_the_issue_does_not_help(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.hit("2011-10-03 12:00"),
        ]
        alerts, _, _ = replay(policy, events)
        assert len(firing(alerts, "detainer_without_hit")) == 1

    def test_is_off_for_a_jurisdiction_whose_source_records_no_hits(self, policy: Policy) -> None:
        pierce = Events("bk-wa", "America/Los_Angeles")
        events = [
            pierce.booking("2016-03-01 08:00", jurisdiction="WA-Pierce"),
            pierce.detainer("2016-03-01 08:00", form="I-247A-2017"),
        ]
        alerts, _, _ = replay(policy, events, until="2016-03-10T00:00:00-08:00")
        assert alerts == []


class TestNonPriorityDetainer:
    def test_fires_for_traffic_only_charges_and_no_conviction(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            ny.booking(
                "2011-10-03 08:00", charges=[("misdemeanor", "traffic"), ("infraction", "traffic")]
            ),
            ny.hit("2011-10-03 09:00", level="none"),
            ny.detainer("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events)
        [alert] = firing(alerts, "non_priority_detainer")
        assert alert["occurred_at"] == "2011-10-03T10:00:00-04:00"
        assert alert["details"]["charge_categories"] == ["traffic"]

    def test_any_non_traffic_charge_makes_it_a_priority(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking(
                "2011-10-03 08:00", charges=[("misdemeanor", "traffic"), ("felony", "drug")]
            ),
            ny.hit("2011-10-03 09:00", level="none"),
            ny.detainer("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "non_priority_detainer") == []

    def test_a_conviction_makes_it_a_priority(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00", charges=[("misdemeanor", "traffic")]),
            ny.hit("2011-10-03 09:00", level="L3"),
            ny.detainer("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events)
        assert firing(alerts, "non_priority_detainer") == []


class TestDetainerCopyNotServed:
    def test_fires_24_hours_after_issue_while_still_held(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
        ]
        alerts, _, _ = replay(policy, events, until="2011-10-04T10:00:00-04:00")
        [alert] = firing(alerts, "detainer_copy_not_served")
        assert alert["occurred_at"] == "2011-10-04T10:00:00-04:00"

    def test_a_late_copy_resolves_it(self, policy: Policy, ny: Events) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.detainer("2011-10-04 15:00", action="served"),
        ]
        alerts, _, _ = replay(policy, events)
        assert len(firing(alerts, "detainer_copy_not_served")) == 1
        [done] = resolved(alerts, "detainer_copy_not_served")
        assert done["details"]["resolved_at"] == "2011-10-04T15:00:00-04:00"

    def test_release_before_the_deadline_means_nothing_to_serve(
        self, policy: Policy, ny: Events
    ) -> None:
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00"),
            ny.release("2011-10-03 20:00", "transferred_to_ice"),
        ]
        alerts, _, _ = replay(policy, events, until="2011-10-10T00:00:00-04:00")
        assert firing(alerts, "detainer_copy_not_served") == []


class TestAlertContract:
    def test_every_alert_validates_and_ids_are_deterministic(
        self, policy: Policy, ny: Events
    ) -> None:
        from tests.support import reference_validator

        check = reference_validator("alert")
        first, _, _ = replay(policy, held_case(ny, "2011-10-07 13:30"))
        second, _, _ = replay(policy, held_case(ny, "2011-10-07 13:30"))
        assert first
        for alert in first:
            check.validate(alert)
        assert [a["alert_id"] for a in first] == [a["alert_id"] for a in second]
