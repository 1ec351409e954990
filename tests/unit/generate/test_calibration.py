"""The generated log shows the published Secure Communities figures (20,000 bookings).

Tolerances are about four standard errors of the sample; the sample is fixed by its seed.
"""

from __future__ import annotations

from pytest import approx

from .measure import Figures


def test_about_6_2_percent_of_bookings_get_a_hit(figures: Figures) -> None:
    assert f_share(figures.hits, figures.bookings) == approx(0.062, abs=0.007)


def test_hits_come_mostly_from_ident(figures: Figures) -> None:
    assert f_share(figures.ident_hits, figures.hits) > 0.85


def test_most_hits_get_a_detainer(figures: Figures) -> None:
    assert f_share(figures.detainered_hits, figures.hits) == approx(0.75, abs=0.05)


def test_conviction_levels_of_detainered_hits_follow_the_fy2011_removals(figures: Figures) -> None:
    published = {"L1": 0.26, "L2": 0.19, "L3": 0.29, "none": 0.26}
    for level, share in published.items():
        measured = f_share(figures.levels[level], figures.detainered_hits)
        assert measured == approx(share, abs=0.06), level
    low = f_share(figures.levels["L3"] + figures.levels["none"], figures.detainered_hits)
    assert low == approx(0.55, abs=0.06)


def test_about_1_6_percent_of_hits_are_citizens(figures: Figures) -> None:
    assert f_share(figures.citizen_hits, figures.hits) == approx(0.016, abs=0.012)
    assert figures.citizen_hits > 0


def test_about_1_percent_of_detainers_have_no_hit(figures: Figures) -> None:
    assert f_share(figures.detainers_without_hit, figures.detainers) == approx(0.01, abs=0.012)
    assert figures.detainers_without_hit > 0


def test_some_detainers_are_non_priority_traffic_only_bookings(figures: Figures) -> None:
    assert 0 < figures.non_priority < 0.05 * figures.detainers


def test_most_detainers_are_served_within_24_hours(figures: Figures) -> None:
    assert f_share(figures.served_within_24h, figures.detainers) == approx(0.85, abs=0.05)


def test_about_8_percent_of_detainers_are_lifted(figures: Figures) -> None:
    assert f_share(figures.lifted, figures.detainers) == approx(0.08, abs=0.035)


def test_a_few_percent_are_held_past_48_elapsed_hours(figures: Figures) -> None:
    assert 0.02 <= f_share(figures.held_past_48h, figures.detainers) <= 0.065


def test_most_detainers_end_in_a_transfer_to_ice(figures: Figures) -> None:
    assert f_share(figures.transferred_to_ice, figures.detainers) == approx(0.78, abs=0.08)


def test_without_a_detainer_custody_ends_within_hours(figures: Figures) -> None:
    share = f_share(figures.released_within_12h_without_detainer, figures.without_detainer)
    assert share > 0.95


def test_most_but_not_all_bookings_carry_their_timezone(figures: Figures) -> None:
    assert f_share(figures.with_timezone, figures.bookings) == approx(0.85, abs=0.03)


def test_skewed_jurisdictions_have_more_hits_and_more_low_priority_detainers(
    figures: Figures,
) -> None:
    skewed_bookings, skewed_hits, skewed_low, skewed_detainered = figures.skewed["skewed"]
    rest_bookings, rest_hits, rest_low, rest_detainered = figures.skewed["rest"]
    assert f_share(skewed_hits, skewed_bookings) > 1.5 * f_share(rest_hits, rest_bookings)
    skewed_low_share = f_share(skewed_low, skewed_detainered)
    rest_low_share = f_share(rest_low, rest_detainered)
    assert skewed_low_share > 0.58
    assert skewed_low_share - rest_low_share > 0.08


def test_about_half_a_percent_of_lines_are_exact_duplicates(figures: Figures) -> None:
    assert f_share(figures.lines - figures.unique_events, figures.lines) == approx(
        0.005, abs=0.0015
    )


def test_about_1_percent_of_events_are_slightly_out_of_order(figures: Figures) -> None:
    slight = f_share(figures.out_of_order_within_5min, figures.unique_events)
    assert slight == approx(0.01, abs=0.003)


def test_about_a_tenth_of_a_percent_of_events_are_hours_late(figures: Figures) -> None:
    assert f_share(figures.hours_late, figures.unique_events) == approx(0.001, abs=0.0007)
    assert figures.hours_late > 0


def test_a_few_bookings_have_events_before_their_booking_event(figures: Figures) -> None:
    assert f_share(figures.booking_after_own_event, figures.bookings) == approx(0.005, abs=0.003)


def f_share(part: int, whole: int) -> float:
    assert whole > 0
    return part / whole
