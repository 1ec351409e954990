"""Per-booking facts and totals of the hand-made log (see conftest.py), and their agreement with
the replay's hold_limit_exceeded alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from streams.contract.timestamps import HOUR, parse
from streams.engine.rules import RULES
from streams.generate.synthetic import generate
from streams.policy.model import HoldLimit, Policy
from streams.report.holds import HoldReport, HoldRow, bucket_of, build_report, override_forms
from tests.support import Events, firing, replay, two_detainers
from tests.unit.report.conftest import FORM_2011, FORM_2017, UNTIL


def ny(text: str) -> int:
    """Local New York wall time (October 2011: EDT, -04:00) -> microseconds."""
    return parse(text.replace(" ", "T") + ":00-04:00")


def row_of(report: HoldReport, booking_id: str) -> HoldRow:
    (row,) = [r for r in report.rows if r.booking_id == booking_id]
    return row


def facts(row: HoldRow) -> tuple[Any, ...]:
    return (
        row.hours_beyond_eligible,
        row.deadline,
        row.exceeded,
        row.hours_over,
        row.still_held,
    )


def alerted(policy: Policy, lines: list[bytes], until: str | None = UNTIL) -> set[str]:
    alerts, _, _ = replay(policy, lines, until=until)
    return {a["booking_id"] for a in firing(alerts, "hold_limit_exceeded")}


@pytest.fixture
def report(policy: Policy, handmade: list[bytes], until: int) -> HoldReport:
    return build_report(handmade, policy, until=until)


class TestRowsAsRecorded:
    def test_one_row_per_booking_with_a_detainer(self, report: HoldReport) -> None:
        assert [r.booking_id for r in report.rows] == [
            "bk-A",
            "bk-B",
            "bk-C",
            "bk-D",
            "bk-E",
            "bk-F",
            "bk-H",
        ]
        assert report.bookings == 8
        assert report.as_of == parse(UNTIL)
        assert report.mismatches == []

    def test_within_the_limit(self, report: HoldReport) -> None:
        assert facts(row_of(report, "bk-A")) == (24.0, ny("2011-10-06 10:00"), False, None, False)

    def test_custody_ending_exactly_at_the_deadline_is_within(self, report: HoldReport) -> None:
        row = row_of(report, "bk-B")
        assert facts(row) == (48.0, ny("2011-10-06 10:00"), False, None, False)
        assert row.custody_end_phase == "transferred_to_ice"

    def test_2011_form_does_not_count_the_weekend(self, report: HoldReport) -> None:
        row = row_of(report, "bk-C")
        assert facts(row) == (72.0, ny("2011-10-18 12:00"), False, None, False)
        assert row.limit == HoldLimit(48, "business")

    def test_2017_form_counts_the_weekend(self, report: HoldReport) -> None:
        row = row_of(report, "bk-D")
        assert facts(row) == (72.0, ny("2011-10-16 12:00"), True, 24.0, False)
        assert row.violation_at == ny("2011-10-16 12:00")
        assert row.stay == 4 * 24 * HOUR

    def test_still_held_counts_until_the_report_time(self, report: HoldReport) -> None:
        row = row_of(report, "bk-E")
        assert facts(row) == (96.0, ny("2011-10-19 09:00"), True, 48.0, True)
        assert row.custody_end_at is None and row.stay is None

    def test_no_eligibility_has_no_deadline(self, report: HoldReport) -> None:
        row = row_of(report, "bk-F")
        assert facts(row) == (None, None, False, None, False)
        assert row.limit is None and row.stay == 2 * 24 * HOUR

    def test_a_lifted_detainer_stops_the_violation_not_the_stay(self, report: HoldReport) -> None:
        row = row_of(report, "bk-H")
        assert facts(row) == (72.0, ny("2011-10-06 10:00"), False, None, False)
        assert row.lifted_at == ny("2011-10-05 10:00")


class TestTotals:
    def test_as_recorded(self, report: HoldReport) -> None:
        t = report.totals()
        assert {
            k: t[k]
            for k in (
                "bookings",
                "bookings_with_detainer",
                "with_eligibility",
                "without_eligibility",
                "still_held",
                "exceeded",
            )
        } == {
            "bookings": 8,
            "bookings_with_detainer": 7,
            "with_eligibility": 6,
            "without_eligibility": 1,
            "still_held": 1,
            "exceeded": 2,
        }
        # beyond eligibility: A 24, B 48, C 72, D 72, E 96, H 72
        assert t["hours_beyond_eligibility"] == {"median": 72.0, "mean": 64.0, "max": 96.0}
        assert t["held_past_eligibility"] == {
            "bookings": 6,
            "median": 72.0,
            "mean": 64.0,
            "max": 96.0,
        }
        assert t["hours_over"] == {"median": 36.0, "mean": 36.0, "max": 48.0}
        assert t["distribution"] == {
            "0 h": 0,
            "<12 h": 0,
            "12–24 h": 0,
            "24–48 h": 1,
            "48–72 h": 1,
            "72 h–1 w": 4,
            ">1 w": 0,
        }
        # stays: A 2, B 3, C 4, D 4, F 2, H 4 days (E still held)
        assert t["stay_days"] == {"bookings": 6, "median": 3.5, "mean": 3.17, "max": 4.0}
        assert t["consistency"] == {"alerts_fired": 2, "mismatches": []}

    def test_exceeded_under_each_form(self, report: HoldReport) -> None:
        by_form = report.by_form
        assert by_form[FORM_2011].exceeded == {"bk-E"}
        assert by_form[FORM_2017].exceeded == {"bk-C", "bk-D", "bk-E"}
        assert by_form[FORM_2017].hours_over == (24.0, 24.0, 48.0)
        assert by_form[FORM_2011].median_hours_over() == 48.0
        assert report.totals()["exceeded_by_form"] == {
            FORM_2011: {
                "limit_hours": 48,
                "counting": "business",
                "exceeded": 1,
                "median_hours_over": 48.0,
            },
            FORM_2017: {
                "limit_hours": 48,
                "counting": "elapsed",
                "exceeded": 3,
                "median_hours_over": 24.0,
            },
        }

    @pytest.mark.parametrize(
        ("form", "exceeded", "deadline_c"),
        [
            (FORM_2011, {"bk-E"}, "2011-10-18 12:00"),
            (FORM_2017, {"bk-C", "bk-D", "bk-E"}, "2011-10-16 12:00"),
        ],
    )
    def test_override_reads_every_detainer_as_the_form(
        self,
        policy: Policy,
        handmade: list[bytes],
        until: int,
        form: str,
        exceeded: set[str],
        deadline_c: str,
    ) -> None:
        report = build_report(handmade, policy, form_override=form, until=until)
        assert report.exceeded_ids() == exceeded
        assert row_of(report, "bk-C").deadline == ny(deadline_c)
        assert row_of(report, "bk-D").deadline == ny(deadline_c)
        assert report.form_override == form
        assert report.by_form[form].exceeded == exceeded


class TestAgreesWithReplay:
    @pytest.mark.parametrize("form", [None, FORM_2011, FORM_2017])
    def test_handmade(
        self, policy: Policy, handmade: list[bytes], until: int, form: str | None
    ) -> None:
        report = build_report(handmade, policy, form_override=form, until=until)
        effective = override_forms(policy, form) if form else policy
        assert report.exceeded_ids() == alerted(effective, handmade)
        assert {r.booking_id for r in report.rows if r.computed_exceeded} == report.exceeded_ids()
        assert report.mismatches == []

    def test_without_until_the_log_end_decides(self, policy: Policy, handmade: list[bytes]) -> None:
        # The last event is D's custody end, Mon 10-17 12:00: E's deadline (Wed) is still ahead.
        # Only C and D reach 12:00, so one booking must move the clock (clock_quorum 1) for the
        # log's own end to decide; with the default quorum those releases need ``--until``.
        policy = replace(policy, clock_quorum=1)
        report = build_report(handmade, policy)
        assert report.as_of == ny("2011-10-17 12:00")
        assert report.exceeded_ids() == {"bk-D"}
        assert row_of(report, "bk-E").hours_beyond_eligible == 3.0
        alerts, _, _ = replay(policy, handmade)
        assert {a["booking_id"] for a in firing(alerts, "hold_limit_exceeded")} == {"bk-D"}

    @pytest.mark.parametrize(("seed", "until"), [(1, None), (3, "2013-01-01T00:00:00Z")])
    def test_generated_log_with_late_and_duplicate_events(
        self, policy: Policy, seed: int, until: str | None
    ) -> None:
        lines = list(generate(3000, seed))
        report = build_report(lines, policy, until=parse(until) if until else None)
        assert report.mismatches == []
        assert report.replay.duplicates > 0
        assert report.exceeded_ids() == alerted(policy, lines, until)
        assert report.exceeded_ids()  # the generator does produce over-holds
        for form, outcome in report.by_form.items():
            assert outcome.exceeded == alerted(override_forms(policy, form), lines, until)

    def test_chunking_does_not_matter(
        self, policy: Policy, handmade: list[bytes], until: int
    ) -> None:
        from streams.report.holds import ReportBuilder

        builder = ReportBuilder(policy)
        for line in handmade:
            builder.feed([line])
        chunked = builder.finish(until)
        whole = build_report(handmade, policy, until=until)
        assert chunked.rows == whole.rows and chunked.totals() == whole.totals()


class TestEdges:
    def test_dead_letters_and_blank_lines_are_skipped(
        self, policy: Policy, handmade: list[bytes], until: int
    ) -> None:
        noisy = [b"{broken\n", b"\n", *handmade, b'{"type": "release"}\n']
        report = build_report(noisy, policy, until=until)
        assert report.replay.dead_letter_total == 2
        assert report.rows == build_report(handmade, policy, until=until).rows

    def test_empty_log(self, policy: Policy) -> None:
        report = build_report([], policy)
        assert report.rows == [] and report.bookings == 0
        assert report.totals()["hours_beyond_eligibility"] == {
            "median": None,
            "mean": None,
            "max": None,
        }

    def test_unknown_override_form(self, policy: Policy) -> None:
        with pytest.raises(ValueError, match="no form"):
            override_forms(policy, "I-999")

    @pytest.mark.parametrize(
        ("hours", "bucket"),
        [
            (0.0, "0 h"),
            (0.01, "<12 h"),
            (12.0, "12–24 h"),
            (47.99, "24–48 h"),
            (48.0, "48–72 h"),
            (167.9, "72 h–1 w"),
            (168.0, ">1 w"),
        ],
    )
    def test_buckets(self, hours: float, bucket: str) -> None:
        assert bucket_of(hours) == bucket


class TestTwoDetainersOfOneBooking:
    def test_one_exceeded_booking_two_alerts_and_the_longest_hold_governs(
        self, policy: Policy
    ) -> None:
        """Fails on the old main (one alert for both detainers): the report still counts the
        booking once, the replay fires one alert per detainer, and the ids it computes agree."""
        events = two_detainers(
            Events("bk-2d"), lift_first="2011-10-06 20:00", custody_end="2011-10-10 20:00"
        )
        report = build_report([orjson.dumps(e) for e in events], policy)
        [row] = report.rows
        assert row.exceeded and row.detainers == 2
        assert row.detainer_id == "dt-2" and row.hours_over == 106.0
        assert report.totals()["exceeded"] == 1
        assert report.alerts_fired == 2
        assert report.mismatches == []


class TestTheEngineRuleDecides:
    def test_the_computed_violations_are_the_engine_rules_findings(
        self, policy: Policy, handmade: list[bytes], until: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The report calls the declared hold_limit_exceeded rule, not a copy of it: a rule that
        finds nothing leaves no computed violation (the replay, run with the same registry, fires
        none either). On the starting main the report computed its own copy and still found D
        and E exceeded."""
        monkeypatch.setitem(
            RULES,
            "hold_limit_exceeded",
            replace(RULES["hold_limit_exceeded"], evaluate=lambda ctx: iter(())),
        )
        report = build_report(handmade, policy, until=until)
        assert [r.booking_id for r in report.rows if r.computed_exceeded] == []
        assert report.mismatches == []
        assert facts(row_of(report, "bk-A"))[1] == ny("2011-10-06 10:00")  # deadlines still shown
