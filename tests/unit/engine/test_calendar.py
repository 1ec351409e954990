"""Hold-limit deadlines: 48 business hours (2011 form) or 48 elapsed hours (2017 form)."""

from __future__ import annotations

import pytest

from streams.contract import timestamps
from streams.engine.calendar import deadline, zone
from streams.policy.model import HoldLimit

BUSINESS = HoldLimit(48, "business")
ELAPSED = HoldLimit(48, "elapsed")


def due(start: str, limit: HoldLimit, where: str, subdivision: str = "") -> str:
    moment = deadline(timestamps.parse(start), limit, where, "US", subdivision)
    return timestamps.isoformat(moment, zone(where))


class TestWorkedExamplesOfTheIssue:
    def test_a_weekday_start_ends_two_days_later(self) -> None:
        assert (
            due("2011-10-04T10:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-10-06T10:00:00-04:00"
        )

    def test_columbus_day_and_the_weekend_do_not_count(self) -> None:
        assert (
            due("2011-10-07T15:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-10-12T15:00:00-04:00"
        )

    def test_a_saturday_start_counts_from_monday_midnight_across_the_fall_back(self) -> None:
        assert (
            due("2011-11-05T09:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-11-09T00:00:00-05:00"
        )

    def test_the_2017_form_counts_elapsed_hours_across_the_spring_forward(self) -> None:
        assert (
            due("2018-03-10T12:00:00-06:00", ELAPSED, "America/Chicago")
            == "2018-03-12T13:00:00-05:00"
        )


class TestBusinessHours:
    def test_thanksgiving_thursday_is_skipped(self) -> None:
        # Wed 2011-11-23 12:00: Wed 12h, Thu holiday, Fri 24h, weekend, Mon 12h.
        assert (
            due("2011-11-23T12:00:00-05:00", BUSINESS, "America/New_York")
            == "2011-11-28T12:00:00-05:00"
        )

    def test_a_saturday_holiday_is_observed_on_the_friday_before(self) -> None:
        # July 4, 2015 was a Saturday; the federal holiday was observed Friday July 3.
        assert (
            due("2015-07-02T09:00:00-04:00", BUSINESS, "America/New_York")
            == "2015-07-07T09:00:00-04:00"
        )

    def test_a_sunday_holiday_is_observed_on_the_monday_after(self) -> None:
        # Jan 1, 2012 was a Sunday; observed Monday Jan 2.
        assert (
            due("2011-12-30T12:00:00-05:00", BUSINESS, "America/New_York")
            == "2012-01-04T12:00:00-05:00"
        )

    def test_a_weekday_spring_forward_day_lasts_23_hours(self) -> None:
        # Europe/London is not a US jail, but its DST change is on a Sunday too; pick a zone
        # whose change falls on a weekday: Asia/Tehran changed at midnight on 2022-03-22 (Tue).
        start = "2022-03-21T12:00:00+03:30"
        # Mon 12h (to Tue 00:00 +03:30 == 01:00 +04:30), Tue lasts 23h, need 13h more on Wed.
        # Iran's calendar is not the US one; only weekends matter for this arithmetic.
        assert due(start, BUSINESS, "Asia/Tehran") == "2022-03-23T13:00:00+04:30"

    def test_the_fall_back_on_a_business_day_adds_an_hour(self) -> None:
        # Same zone, the change back at 2022-09-22 00:00 (Thu): Wed 12h, Thu lasts 25h -> Fri 11:00.
        assert (
            due("2022-09-21T12:00:00+04:30", BUSINESS, "Asia/Tehran") == "2022-09-23T11:00:00+03:30"
        )

    def test_a_zone_without_dst_counts_plain_days(self) -> None:
        # Arizona keeps MST all year: no jump in March.
        assert (
            due("2018-03-09T12:00:00-07:00", BUSINESS, "America/Phoenix")
            == "2018-03-13T12:00:00-07:00"
        )

    def test_the_deadline_falls_on_the_local_day_not_the_utc_day(self) -> None:
        # Fri 20:00 in Los Angeles is Sat 04:00 UTC: still Friday locally, 4 hours count.
        assert (
            due("2011-10-14T20:00:00-07:00", BUSINESS, "America/Los_Angeles")
            == "2011-10-18T20:00:00-07:00"
        )

    def test_a_state_calendar_adds_state_holidays(self) -> None:
        # Cesar Chavez Day (March 31) is a California state holiday, not a federal one.
        federal = due("2011-03-30T09:00:00-07:00", BUSINESS, "America/Los_Angeles")
        california = due("2011-03-30T09:00:00-07:00", BUSINESS, "America/Los_Angeles", "CA")
        assert federal == "2011-04-01T09:00:00-07:00"
        assert california == "2011-04-04T09:00:00-07:00"

    @pytest.mark.parametrize("hours", [1, 24, 47, 48, 72])
    def test_elapsed_hours_are_plain_arithmetic(self, hours: int) -> None:
        start = timestamps.parse("2018-11-03T23:30:00-05:00")
        assert (
            deadline(start, HoldLimit(hours, "elapsed"), "America/Chicago", "US", "")
            == start + hours * timestamps.HOUR
        )


class TestCountRunningOutAsAnExcludedDayBegins:
    """Issue 12 §9: the deadline is the first instant after which the counted period exceeds
    48 hours. Excluded days add nothing, so hours that run out exactly at the start of one are
    exceeded only when the next business day begins. Each of these fails on the old main, which
    put the deadline at the start of the excluded day (and counted it as hours over)."""

    def test_eligible_thursday_midnight_is_due_monday_midnight(self) -> None:
        # Thu 2011-10-13 and Fri 24 h each: 48 h at Sat 00:00; Sat and Sun add nothing.
        assert (
            due("2011-10-13T00:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-10-17T00:00:00-04:00"
        )

    def test_a_monday_holiday_moves_it_to_tuesday_midnight(self) -> None:
        # Columbus Day, Mon 2011-10-10.
        assert (
            due("2011-10-06T00:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-10-11T00:00:00-04:00"
        )

    def test_a_weekday_holiday_right_after_the_count_is_skipped(self) -> None:
        # Tue and Wed 24 h each; Thanksgiving (Thu 2011-11-24) adds nothing: Fri 00:00.
        assert (
            due("2011-11-22T00:00:00-05:00", BUSINESS, "America/New_York")
            == "2011-11-25T00:00:00-05:00"
        )

    def test_a_dst_change_on_the_weekend_changes_nothing(self) -> None:
        # The clocks fall back on Sun 2011-11-06: the deadline is Monday's local midnight.
        assert (
            due("2011-11-03T00:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-11-07T00:00:00-05:00"
        )

    def test_a_count_running_out_before_a_business_day_is_unchanged(self) -> None:
        # Tue 00:00 + 48 h = Thu 00:00, a business day: the end of Wednesday, as before.
        assert (
            due("2011-10-04T00:00:00-04:00", BUSINESS, "America/New_York")
            == "2011-10-06T00:00:00-04:00"
        )

    def test_the_2017_form_counts_the_weekend_as_before(self) -> None:
        assert (
            due("2018-03-01T00:00:00-06:00", ELAPSED, "America/Chicago")
            == "2018-03-03T00:00:00-06:00"
        )
