"""The questions every rule asks of a case, answered one way (on the starting main each rule, the
local policies, the jurisdiction facts and the report had their own copy: no module to test)."""

from __future__ import annotations

from streams.engine.case import Case, Detainer, Hit
from streams.engine.queries import booked_by, earliest_hit, first, hold_end, issued


def case_with_hits() -> Case:
    return Case(
        "bk-q",
        booked_at=100,
        hits=(
            Hit(30, "us_citizen", "none", "ev-b"),
            Hit(20, "no_lawful_status", "L3", "ev-z"),
            Hit(20, "no_lawful_status", "L1", "ev-a"),
        ),
    )


def test_the_earliest_hit_breaks_ties_by_event_id_not_by_arrival() -> None:
    hit = earliest_hit(case_with_hits())
    assert hit is not None and hit.event_id == "ev-a"


def test_the_earliest_hit_known_at_a_moment_ignores_later_hits() -> None:
    assert earliest_hit(case_with_hits(), at=19) is None
    hit = earliest_hit(case_with_hits(), at=20)
    assert hit is not None and hit.event_id == "ev-a"


def test_the_earliest_hit_with_a_status_or_level() -> None:
    citizen = earliest_hit(case_with_hits(), statuses={"us_citizen"})
    assert citizen is not None and citizen.event_id == "ev-b"
    low = earliest_hit(case_with_hits(), levels={"L3"})
    assert low is not None and low.event_id == "ev-z"


def test_a_hold_ends_at_custody_end_or_lift_whichever_is_first() -> None:
    detainer = Detainer("dt-1", issued_at=10, lifted_at=50)
    assert hold_end(Case("bk", custody_end_at=40), detainer) == 40
    assert hold_end(Case("bk", custody_end_at=60), detainer) == 50
    assert hold_end(Case("bk"), Detainer("dt-2", issued_at=10)) is None
    assert first(None, None) is None and first(None, 3, 2) == 2


def test_only_issued_detainers_count_and_the_booking_is_known_from_its_time() -> None:
    case = Case("bk", detainers=(Detainer("dt-1", issued_at=5), Detainer("dt-2", lifted_at=9)))
    assert [d.detainer_id for d in issued(case)] == ["dt-1"]
    assert booked_by(case_with_hits(), 100) and not booked_by(case_with_hits(), 99)
    assert not booked_by(case, 10**9)
