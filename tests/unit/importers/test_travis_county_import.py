"""The Travis County mapping (dates only) on the hand-made fixture tests/fixtures/travis_county.

Each test here fails on the starting main, which had no ``travis-county`` format, no ``--bound``
and no ``precision``/``bound`` fields in the contract.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main
from streams.importers import MAPPINGS
from streams.importers.convert import Conversion, convert
from streams.importers.mapping import RowKind
from streams.importers.pierce_county import PIERCE_COUNTY
from streams.importers.reader import read_records
from streams.importers.travis_county import (
    EXCLUDED_DATA_ERROR,
    EXCLUDED_ESCAPE,
    EXCLUDED_OPEN_CHARGE,
    EXCLUDED_OPEN_DETAINER,
    EXCLUDED_OTHER_CUSTODY,
    EXCLUDED_SEVERAL,
    TRAVIS_COUNTY,
    booking_key,
    charge_of,
    row_kind,
)

REPO = Path(__file__).resolve().parents[3]
HISTORY = REPO / "tests" / "fixtures" / "travis_county" / "history.csv"


def key(n: int) -> str:
    return f"b{n}".rjust(20, "0")


def run(bound: str, form: str = "I-247A-2017") -> Conversion:
    records = read_records(HISTORY, TRAVIS_COUNTY.delimiter, TRAVIS_COUNTY.required_columns)
    return convert(records, TRAVIS_COUNTY, form, bound)  # type: ignore[arg-type]


@pytest.fixture(params=["lower", "upper"])
def bound(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def of(conversion: Conversion, booking_id: str) -> list[dict[str, Any]]:
    return [e for e in conversion.events if e["booking_id"] == booking_id]


def times(conversion: Conversion, booking_id: str) -> list[tuple[str, str, str]]:
    return [
        (
            e["event_id"].removeprefix(booking_id + "-"),
            e.get("action") or e.get("phase") or "",
            e["occurred_at"],
        )
        for e in of(conversion, booking_id)
    ]


def test_transfer_to_ice_lower_bound_is_the_shortest_hold() -> None:
    """Lower: eligible at the END of the charge's disposition day, custody ends at the START of
    the detainer's disposition day; booking and detainer at the start of the booking day."""
    assert times(run("lower"), key(1)) == [
        ("booking", "", "2014-06-10T00:00:00-05:00"),
        ("detainer", "issued", "2014-06-10T00:00:00-05:00"),
        ("eligible-lower", "eligible", "2014-06-12T00:00:00-05:00"),
        ("release", "transferred_to_ice", "2014-06-16T00:00:00-05:00"),
    ]


def test_transfer_to_ice_upper_bound_is_the_longest_hold() -> None:
    assert times(run("upper"), key(1)) == [
        ("booking", "", "2014-06-10T00:00:00-05:00"),
        ("detainer", "issued", "2014-06-10T00:00:00-05:00"),
        ("eligible-upper", "eligible", "2014-06-11T00:00:00-05:00"),
        ("release", "transferred_to_ice", "2014-06-17T00:00:00-05:00"),
    ]


def test_every_event_carries_precision_and_bound(
    bound: str, validate_event: Callable[[dict[str, Any]], None]
) -> None:
    """The precision is in the events (validated against schemas/), not only in the docs."""
    events = run(bound).events
    assert events
    for event in events:
        validate_event(event)
        assert event["precision"] == "day"
        assert event["bound"] == bound


def test_charges_severity_and_category_and_reasons() -> None:
    events = of(run("lower"), key(1))
    assert events[0]["charges"] == [
        {"code": "DRIVING WHILE INTOXICATED", "severity": "misdemeanor", "category": "traffic"}
    ]
    assert events[0]["person_id"] == "tc-" + key(1)[:16]
    assert events[0]["jurisdiction"] == "TX-Travis"
    assert events[0]["timezone"] == "America/Chicago"
    assert events[2]["reason"] == "bond_personal_recognizance"
    assert events[3]["reason"] == "released_to_ice"


def test_withdrawn_warrant_is_a_lift_and_the_person_leaves_when_nothing_holds_them() -> None:
    lower = times(run("lower"), key(2))
    assert lower[2:] == [
        ("eligible-lower", "eligible", "2014-06-11T00:00:00-05:00"),
        ("detainer-lifted", "lifted", "2014-06-12T00:00:00-05:00"),
        ("release", "released", "2014-06-12T00:00:00-05:00"),
    ]
    upper = times(run("upper"), key(2))
    assert upper[2:] == [
        ("eligible-upper", "eligible", "2014-06-10T00:00:00-05:00"),
        ("detainer-lifted", "lifted", "2014-06-13T00:00:00-05:00"),
        ("release", "released", "2014-06-13T00:00:00-05:00"),
    ]


def test_time_limit_reached_is_a_release_by_the_jail_and_other_holds_are_a_basis() -> None:
    events = of(run("lower"), key(11))
    charges = events[0]["charges"]
    assert charges == [
        {"code": "AGG ASSLT W/DEADLY WEAPON", "severity": "felony", "category": "violent"}
    ]  # the FEDERAL DETAINER row is another agency's hold, not a charge
    eligible, release = events[2], events[3]
    assert eligible["occurred_at"] == "2014-06-12T00:00:00-05:00"  # end of the 11th (dismissal)
    assert eligible["reason"] == "dismissal"
    assert release["phase"] == "released"
    assert release["reason"] == "ice_detainer_time_limit_reached"


def test_hold_only_booking_has_no_eligible_event() -> None:
    conversion = run("lower")
    assert [e["type"] for e in of(conversion, key(10))] == ["booking", "detainer", "release"]
    assert conversion.summary.no_eligible == {"no basis of custody besides the immigration hold": 1}


def test_every_booking_is_imported_excluded_by_reason_or_unmappable() -> None:
    s = run("lower").summary
    assert s.bookings_seen == 12
    assert s.bookings == 4  # b1, b2, b10, b11
    assert s.excluded == {
        EXCLUDED_OTHER_CUSTODY: 1,
        EXCLUDED_DATA_ERROR: 1,
        EXCLUDED_OPEN_DETAINER: 1,
        EXCLUDED_OPEN_CHARGE: 1,
        EXCLUDED_SEVERAL: 1,
        EXCLUDED_ESCAPE: 1,
    }
    assert s.bookings_unmappable == 2  # b8 (short row), b9 (no such date)
    assert s.bookings + s.excluded.total() + s.bookings_unmappable == s.bookings_seen
    report = "\n".join(s.lines())
    assert "bookings in file: 12 = imported 4 + excluded 6 + unmappable 2" in report
    assert "day precision, lower bound" in report


def test_malformed_rows_are_reported_with_their_line_numbers() -> None:
    s = run("upper").summary
    assert s.unmappable == {
        "malformed row (field count differs from header)": [17],
        "bad booking_date": [19],
        "another row of the booking is unmappable": [18, 20],
    }


def test_bounds_differ_only_in_resolved_times_and_marks() -> None:
    """Same events, ids and order apart from the eligible suffix; lower never lengthens a hold."""
    lower, upper = run("lower").events, run("upper").events
    assert len(lower) == len(upper)

    def ids(events: list[dict[str, Any]]) -> list[str]:
        return sorted(e["event_id"].removesuffix("-lower").removesuffix("-upper") for e in events)

    assert ids(lower) == ids(upper)


def test_bound_is_required_for_dates_and_refused_for_exact_times() -> None:
    records = read_records(HISTORY, TRAVIS_COUNTY.delimiter, TRAVIS_COUNTY.required_columns)
    with pytest.raises(ValueError, match="bound"):
        convert(records, TRAVIS_COUNTY)
    with pytest.raises(ValueError, match="bound"):
        convert([], PIERCE_COUNTY, bound="lower")


def test_cli_default_bound_is_lower_and_bound_is_refused_for_pierce(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert main(["import", "--format", "travis-county", str(HISTORY)]) == 0
    out, err = capfdbinary.readouterr()
    assert {orjson.loads(line)["bound"] for line in out.splitlines()} == {"lower"}
    assert b"lower bound" in err
    pierce = REPO / "tests" / "fixtures" / "pierce_county" / "holds.csv"
    args = ["import", "--format", "pierce-county", str(pierce), "--bound", "upper"]
    assert main(args) == 2
    assert b"--bound" in capfdbinary.readouterr().err


def test_row_kinds_and_texas_offence_levels() -> None:
    assert row_kind({"charge_code": "4200"}) is RowKind.IMMIGRATION_HOLD
    assert row_kind({"charge_code": "4206"}) is RowKind.OTHER_HOLD
    assert row_kind({"charge_code": "JWAR"}) is RowKind.OTHER_HOLD
    assert row_kind({"charge_code": "54040009"}) is RowKind.CHARGE
    levels = {
        "F1": "felony", "F2": "felony", "F3": "felony", "FS": "felony", "S": "felony",
        "3": "felony", "P": "felony", "FX": "felony", "F*": "felony",
        "MA": "misdemeanor", "MB": "misdemeanor", "A": "misdemeanor", "B": "misdemeanor",
        "M*": "misdemeanor", "MC": "infraction", "C": "infraction", "X": "infraction",
        "": "infraction",
    }  # fmt: skip
    for level, severity in levels.items():
        assert charge_of("1", "SOMETHING", level).severity == severity, level
    texts = {
        "CAPITAL MURDER": "violent",
        "AGG SEXUAL ASSLT CHILD": "violent",
        "Fel Asslt FV Strangulation (F3)": "violent",
        "DRIVING WHILE INTOXICATED 2ND": "traffic",
        "DRVNG W/LIC INV W/PREV CNV/SUSP/W/O FIN RE": "traffic",
        "POSS CS PG1<1G (FS)": "drug",
        "POSS MARIJ <2OZ (MB)": "drug",
        "BURGLARY OF VEHICLE": "property",
        "THEFT>=$50<$500(B)": "property",
        "PUBLIC INTOXICATION": "other",
        "FAIL TO ID GIVING FALSE/FICTIOUS INFO (MB)": "other",
    }
    for text, category in texts.items():
        assert charge_of("1", text, "MA").category == category, text
    assert charge_of("4200", "ICE DETAINER", "F*").category == "immigration"


def test_booking_key_is_the_extracts_hash() -> None:
    assert booking_key("12345") == booking_key("12345") != booking_key("12346")
    assert len(booking_key("12345")) == 20


def test_unobserved_rules_match_the_default_policy() -> None:
    policy = tomllib.loads((REPO / "streams/policy/default.toml").read_text(encoding="utf-8"))
    entry = policy["jurisdictions"][TRAVIS_COUNTY.jurisdiction]
    assert entry["timezone"] == TRAVIS_COUNTY.timezone == "America/Chicago"
    assert sorted(entry["disabled_rules"]) == sorted(TRAVIS_COUNTY.unobserved_rules)
    assert MAPPINGS["travis-county"] is TRAVIS_COUNTY
    assert "release_date" not in TRAVIS_COUNTY.required_columns  # derived, not in the header


def test_alerts_say_which_bound_produced_them(bound: str) -> None:
    """A hold-limit alert's evidence names the eligible event, whose id ends with the bound."""
    from streams.policy.load import load_policy
    from tests.support import firing, replay

    bounds = REPO / "tests" / "fixtures" / "travis_county" / "bounds.csv"
    records = read_records(bounds, TRAVIS_COUNTY.delimiter, TRAVIS_COUNTY.required_columns)
    events = convert(records, TRAVIS_COUNTY, bound=bound).events  # type: ignore[arg-type]
    alerts, _, dead = replay(load_policy(), events)
    assert not dead
    exceeded = firing(alerts, "hold_limit_exceeded")
    assert exceeded
    for alert in exceeded:
        assert f"{alert['booking_id']}-eligible-{bound}" in alert["details"]["evidence"]


def test_mixing_the_two_bound_logs_is_refused_by_the_engine() -> None:
    """Same event ids, different content: the second log's shared events are dead letters."""
    from streams.policy.load import load_policy
    from tests.support import replay

    lower, upper = run("lower").events, run("upper").events
    _, _, dead = replay(load_policy(), lower + upper)
    conflicting = {
        d["detail"].split("'")[1] for d in dead if d["reason"] == "conflicting_duplicate"
    }
    shared = {e["event_id"] for e in lower} & {e["event_id"] for e in upper}
    assert shared and conflicting == shared
