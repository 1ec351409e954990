"""The Pierce County mapping on the hand-made fixture (tests/fixtures/pierce_county/README.md)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from streams.importers import MAPPINGS
from streams.importers.convert import (
    DST_AMBIGUOUS,
    DST_NONEXISTENT,
    Conversion,
    convert,
    local_time,
)
from streams.importers.mapping import RowKind, slug
from streams.importers.pierce_county import PIERCE_COUNTY, charge, row_kind
from streams.importers.reader import read_records

REPO = Path(__file__).resolve().parents[3]
LA = ZoneInfo("America/Los_Angeles")

A, B, C, D, E, F, L = ("a1" * 20, "b2" * 20, "c3" * 20, "d4" * 20, "e5" * 20, "f6" * 20, "3d" * 20)


def run(fixtures: Path, form: str = "I-247A-2017") -> Conversion:
    records = read_records(
        fixtures / "holds.csv", PIERCE_COUNTY.delimiter, PIERCE_COUNTY.required_columns
    )
    return convert(records, PIERCE_COUNTY, form)


@pytest.fixture
def conversion(fixtures: Path) -> Conversion:
    return run(fixtures)


def of(conversion: Conversion, booking_id: str) -> list[dict[str, Any]]:
    return [e for e in conversion.events if e["booking_id"] == booking_id]


def booking(bid: str, at: str, *charges: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "type": "booking",
        "event_id": f"{bid}-booking",
        "booking_id": bid,
        "occurred_at": at,
        "person_id": f"pc-{bid[:16]}",
        "jurisdiction": "WA-Pierce",
        "timezone": "America/Los_Angeles",
        "charges": [{"code": c, "severity": s, "category": k} for c, s, k in charges],
    }


def issued(bid: str, at: str, form: str = "I-247A-2017") -> dict[str, Any]:
    return {
        "type": "detainer",
        "event_id": f"{bid}-detainer",
        "booking_id": bid,
        "occurred_at": at,
        "detainer_id": f"{bid}-detainer",
        "action": "issued",
        "form": form,
    }


def release(bid: str, at: str, phase: str, reason: str) -> dict[str, Any]:
    suffix = "eligible" if phase == "eligible" else "release"
    return {
        "type": "release",
        "event_id": f"{bid}-{suffix}",
        "booking_id": bid,
        "occurred_at": at,
        "phase": phase,
        "reason": reason,
    }


def test_normal_booking_transferred_to_ice(conversion: Conversion) -> None:
    # felony/misdemeanor flags say "felony" on both rows (booking-level): severity comes from
    # the row's statutory class instead, so UPCS (gross misdemeanor) stays a misdemeanor.
    assert of(conversion, A) == [
        booking(
            A,
            "2017-04-21T11:43:00-07:00",
            ("ASLT 2", "felony", "violent"),
            ("UPCS", "misdemeanor", "drug"),
        ),
        issued(A, "2017-04-21T11:43:00-07:00"),
        release(A, "2017-06-15T14:00:00-07:00", "eligible", "credit_for_time_served"),
        release(A, "2017-07-11T08:00:00-07:00", "transferred_to_ice", "immigration"),
    ]


def test_hold_only_booking_gets_the_hold_as_charge_and_no_eligible(
    conversion: Conversion,
) -> None:
    assert of(conversion, B) == [
        booking(B, "2017-06-28T10:39:00-07:00", ("HOLD IMMIGRAT", "infraction", "immigration")),
        issued(B, "2017-06-28T10:39:00-07:00"),
        release(B, "2017-07-12T16:55:00-07:00", "transferred_to_ice", "immigration"),
    ]


def test_other_agency_hold_is_a_basis_of_custody_but_not_a_charge(
    conversion: Conversion,
) -> None:
    # public_order -> other; the US Marshal hold ends last and sets the eligible time.
    assert of(conversion, C) == [
        booking(
            C,
            "2018-01-24T13:28:00-08:00",
            ("THEFT 3", "misdemeanor", "property"),
            ("OBSTRUCT", "misdemeanor", "other"),
        ),
        issued(C, "2018-01-24T13:28:00-08:00"),
        release(C, "2018-01-30T09:00:00-08:00", "eligible", "us_marshall"),
        release(C, "2018-01-30T09:00:00-08:00", "released", "us_marshall"),
    ]


def test_cancelled_detainer_is_lifted_and_late_charge_end_is_clamped(
    conversion: Conversion,
) -> None:
    # sex -> violent; the charge ended (22:00) after the person left (17:35): clamped.
    assert of(conversion, D) == [
        booking(D, "2017-03-20T13:50:00-07:00", ("CHILD MOLEST 2", "felony", "violent")),
        issued(D, "2017-03-20T13:50:00-07:00"),
        {
            "type": "detainer",
            "event_id": f"{D}-detainer-lifted",
            "booking_id": D,
            "occurred_at": "2017-03-21T12:00:00-07:00",
            "detainer_id": f"{D}-detainer",
            "action": "lifted",
        },
        release(D, "2017-03-21T17:35:00-07:00", "eligible", "dismissed"),
        release(D, "2017-03-21T17:35:00-07:00", "released", "cancel_detainer"),
    ]
    assert conversion.summary.clamped == {"eligible after release_dt -> release time": 1}


def test_charge_without_release_time_means_no_eligible_event(conversion: Conversion) -> None:
    # An unknown `type` (vehicular) -> other.
    assert of(conversion, E) == [
        booking(
            E,
            "2016-02-10T08:00:00-08:00",
            ("DUI", "misdemeanor", "other"),
            ("BURGLARY 2", "felony", "property"),
        ),
        issued(E, "2016-02-10T08:00:00-08:00"),
        release(E, "2016-02-20T12:00:00-08:00", "transferred_to_ice", "immigration"),
    ]


def test_dst_ambiguous_and_nonexistent_local_times(conversion: Conversion) -> None:
    # 2017-11-05 01:30 happened twice: first occurrence (PDT). 2018-03-11 02:15 and 02:30 never
    # happened: read with PST, i.e. 03:15 and 03:30 PDT.
    assert of(conversion, F) == [
        booking(F, "2017-11-05T01:30:00-07:00", ("ROBBERY 1", "felony", "violent")),
        issued(F, "2017-11-05T01:30:00-07:00"),
        release(F, "2018-03-11T03:15:00-07:00", "eligible", "time_served"),
        release(F, "2018-03-11T03:30:00-07:00", "released", "time_served"),
    ]
    assert conversion.summary.dst == {
        DST_AMBIGUOUS: {"2017-11-05 01:30:00"},
        DST_NONEXISTENT: {"2018-03-11 02:15:00", "2018-03-11 02:30:00"},
    }


def test_booking_still_in_custody_has_no_release(conversion: Conversion) -> None:
    assert of(conversion, L) == [
        booking(L, "2018-07-20T10:00:00-07:00", ("ASSAULT 4", "misdemeanor", "violent")),
        release(L, "2018-07-25T10:00:00-07:00", "eligible", "pr"),
    ]


def test_unmappable_rows_are_reported_by_reason_with_lines(conversion: Conversion) -> None:
    s = conversion.summary
    assert s.unmappable == {
        "bad booking_dt": [5],
        "another row of the booking is unmappable": [6],
        "missing booking_id": [12],
        "inconsistent booking_dt within booking": [18, 19],
        "malformed row (field count differs from header)": [20],
    }
    assert (s.rows, s.unmappable_rows) == (22, 6)
    rejected = {"0a" * 20, "1b" * 20, "2c" * 20}
    assert not rejected & {e["booking_id"] for e in conversion.events}


def test_summary_counts_and_report(conversion: Conversion) -> None:
    s = conversion.summary
    counts = (s.bookings, s.detainers, s.detainers_lifted, s.eligible, s.releases, s.transfers)
    assert counts == (7, 6, 1, 5, 6, 3)
    assert s.open_bookings == 1
    assert s.events == len(conversion.events) == 25
    assert s.no_eligible == {
        "no basis of custody besides the immigration hold": 1,
        "a basis of custody without charge_release_dt": 1,
    }
    report = "\n".join(s.lines())
    assert "unmappable: 6" in report
    assert "bookings: 7, detainers: 6" in report
    assert "rules not applicable to this source" in report
    assert "detainer_without_hit, detainer_copy_not_served" in report


def test_events_sorted_by_instant_unique_ids_and_valid(
    conversion: Conversion, validate_event: Callable[[dict[str, Any]], None]
) -> None:
    instants = [datetime.fromisoformat(e["occurred_at"]) for e in conversion.events]
    assert instants == sorted(instants)
    ids = [e["event_id"] for e in conversion.events]
    assert len(ids) == len(set(ids))
    for event in conversion.events:
        validate_event(event)


def test_form_is_recorded_on_every_issued_detainer(fixtures: Path) -> None:
    forms = {e.get("form") for e in run(fixtures, "I-247-2011").events if e["type"] == "detainer"}
    assert forms == {"I-247-2011", None}  # None: the lifted event carries no form


def test_conversion_is_deterministic(fixtures: Path) -> None:
    assert run(fixtures).events == run(fixtures).events


@pytest.mark.parametrize(
    ("text", "expected", "dst"),
    [
        ("2017-07-01 12:00:00", "2017-07-01T12:00:00-07:00", None),
        ("2017-01-01 12:00:00", "2017-01-01T12:00:00-08:00", None),
        ("2017-11-05 01:00:00", "2017-11-05T01:00:00-07:00", DST_AMBIGUOUS),
        ("2017-11-05 01:59:00", "2017-11-05T01:59:00-07:00", DST_AMBIGUOUS),
        ("2017-11-05 02:00:00", "2017-11-05T02:00:00-08:00", None),
        ("2017-03-12 02:00:00", "2017-03-12T03:00:00-07:00", DST_NONEXISTENT),
        ("2017-03-12 03:00:00", "2017-03-12T03:00:00-07:00", None),
    ],
)
def test_local_time(text: str, expected: str, dst: str | None) -> None:
    moment, flag = local_time(text, "%Y-%m-%d %H:%M:%S", LA)
    assert moment.astimezone(LA).isoformat() == expected
    assert flag == dst


def test_row_kind_and_charge() -> None:
    def row(desc: str, category: str = "other", type_: str = "other") -> dict[str, str]:
        return {"booking_charge_desc": desc, "category": category, "type": type_}

    assert row_kind(row("HOLD IMMIGRAT")) is RowKind.IMMIGRATION_HOLD
    assert row_kind(row("HOLD US MARSHAL")) is RowKind.OTHER_HOLD
    assert row_kind(row("HOLDING STOLEN PROPERTY")) is RowKind.CHARGE
    assert charge(row("RAPE 2", "class A felony", "sex")).to_event() == {
        "code": "RAPE 2",
        "severity": "felony",
        "category": "violent",
    }
    assert charge(row("LITTERING", "civil infraction", "public_order")).severity == "infraction"
    assert charge(row("BAIL JUMP", "other", "other")).severity == "infraction"
    assert charge(row("THEFT 3", "misdemeanor", "property")).severity == "misdemeanor"


def test_slug() -> None:
    assert slug("NCF, Pending Inv") == "ncf_pending_inv"
    assert slug("Sheriff's Office") == "sheriffs_office"
    assert slug("  ") == ""
    assert len(slug("x " * 100)) <= 64


def test_unobserved_rules_match_the_default_policy() -> None:
    """The summary's "not applicable" list and the policy's disabled_rules must not drift."""
    policy = tomllib.loads((REPO / "streams/policy/default.toml").read_text(encoding="utf-8"))
    entry = policy["jurisdictions"][PIERCE_COUNTY.jurisdiction]
    assert entry["timezone"] == PIERCE_COUNTY.timezone
    assert sorted(entry["disabled_rules"]) == sorted(PIERCE_COUNTY.unobserved_rules)


def test_registry() -> None:
    assert MAPPINGS["pierce-county"] is PIERCE_COUNTY
    assert set(PIERCE_COUNTY.required_columns) >= {"booking_id", "charge_release_dt", "category"}
