"""Every line is a valid event of the contract, and each booking tells a coherent story."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from streams.contract.vocabulary import DETAINER_ACTIONS, PHASES
from streams.generate import calibration as cal
from streams.generate import generate

from .measure import CUSTODY_ENDS, Log, when

RFC3339_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def test_every_line_is_valid_against_its_schema(
    small_log: Log, validators: dict[str, Draft202012Validator]
) -> None:
    for line, event in zip(small_log.lines, small_log.events, strict=True):
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        errors = list(validators[event["type"]].iter_errors(event))
        assert not errors, (line, [e.message for e in errors])


def test_all_four_kinds_and_all_their_phases_occur(small_log: Log) -> None:
    seen = Counter((e["type"], e.get("phase") or e.get("action")) for e in small_log.events)
    for kind in ("booking", "hit"):
        assert any(k == kind for k, _ in seen)
    for action in DETAINER_ACTIONS:
        assert seen["detainer", action] > 0
    for phase in PHASES:
        assert seen["release", phase] > 0


def test_timestamps_carry_the_jurisdictions_local_offset(small_log: Log) -> None:
    zones = {name: ZoneInfo(spec[0]) for name, spec in cal.JURISDICTIONS.items()}
    jurisdiction = {
        e["booking_id"]: e["jurisdiction"] for e in small_log.events if e["type"] == "booking"
    }
    for event in small_log.events:
        stamp = event["occurred_at"]
        assert RFC3339_WITH_OFFSET.match(stamp), stamp
        instant = datetime.fromisoformat(stamp)
        local = instant.astimezone(zones[jurisdiction[event["booking_id"]]])
        assert local.isoformat() == stamp


def test_offsets_follow_daylight_saving_time_changes() -> None:
    # Two weeks across the end of DST (6 Nov 2011) at a high rate.
    lines = generate(3_000, seed=3, start=date(2011, 10, 30), per_day=300)
    offsets = Counter(line.split(b'"occurred_at":"')[1][19:25] for line in lines)
    assert offsets[b"-04:00"] and offsets[b"-05:00"]  # New York before and after
    assert offsets[b"-07:00"] and offsets[b"-08:00"]  # Los Angeles (and Phoenix all along)


def test_a_date_start_means_no_event_before_that_date_anywhere(small_log: Log) -> None:
    assert min(when(e).date() for e in small_log.events) == cal.DEFAULT_START


def test_an_aware_start_is_taken_as_is() -> None:
    start = datetime(2012, 3, 1, 12, tzinfo=UTC)
    first = next(generate(10, seed=1, start=start))
    assert when_line(first) >= start


def test_jurisdictions_are_the_policy_table_without_pierce(small_log: Log) -> None:
    used = {e["jurisdiction"] for e in small_log.events if e["type"] == "booking"}
    assert used == set(cal.JURISDICTIONS)
    assert not used & cal.RESERVED_JURISDICTIONS


def test_each_booking_tells_a_coherent_story(small_log: Log) -> None:
    for booking_id, events in small_log.by_booking().items():
        kinds = Counter(e["type"] for e in events)
        assert kinds["booking"] == 1 and kinds["hit"] <= 1, booking_id
        assert events[0]["type"] == "booking"
        assert [e["event_id"] for e in events] == [f"{booking_id}-{k}" for k in range(len(events))]
        phases = [e["phase"] for e in events if e["type"] == "release"]
        assert phases[0] == "eligible" and len(phases) == 2 and phases[1] in CUSTODY_ENDS
        detainer = [e for e in events if e["type"] == "detainer"]
        if detainer:
            assert detainer[0]["action"] == "issued"
            assert len({e["detainer_id"] for e in detainer}) == 1
            assert [e["action"] for e in detainer].count("issued") == 1
            eligible = next(e for e in events if e.get("phase") == "eligible")
            assert when(detainer[0]) < when(eligible)


@pytest.mark.parametrize(
    ("start", "form"), [(date(2017, 3, 20), "I-247-2011"), (date(2017, 4, 3), "I-247A-2017")]
)
def test_the_form_follows_the_issue_date(start: date, form: str) -> None:
    lines = list(generate(1_500, seed=4, start=start, per_day=2_000))
    issued = [Log([line]).events[0] for line in lines if b'"action":"issued"' in line]
    assert issued
    for event in issued:
        expected = "I-247A-2017" if when(event).date() >= date(2017, 4, 3) else "I-247-2011"
        assert event["form"] == expected
    assert any(e["form"] == form for e in issued)


def test_an_empty_log_has_no_lines() -> None:
    assert list(generate(0, seed=1)) == []


def when_line(line: bytes) -> datetime:
    return when(Log([line]).events[0])
