"""Issue 12 §1: two wild timestamps anywhere in a log change no other booking's alerts, in either
engine, and are accounted for (applied once corroborated, or a dead letter).

Each test fails on the engine before issue 12, whose watermark followed the newest event time:
one event dated 2199 moved it 188 years ahead (expired dead letters, lost and false alerts).
"""

from __future__ import annotations

import gzip
from importlib import resources
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract.dead_letters import original_bytes
from streams.policy.model import Policy
from tests.support import alert_set, replay, stream
from tests.unit.replay.test_determinism import UNTIL, booking_events

common = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def wild_time(draw: st.DrawFn) -> str:
    """Any year up to 9999 (most in or near the contract's 1900..2200, the rest rejected by it)."""
    year = draw(st.one_of(st.integers(2011, 2200), st.integers(1900, 9999)))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z"


@st.composite
def logs_with_two_wild_times(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """A clean log (time order) and the same log with two events of two different bookings
    re-dated to wild times, in place."""
    from streams.contract import timestamps

    count = draw(st.integers(2, 8))
    clean = [e for i in range(count) for e in draw(booking_events(i))]
    clean.sort(key=lambda e: timestamps.parse(e["occurred_at"]))
    first = draw(st.integers(0, len(clean) - 1))
    others = [i for i, e in enumerate(clean) if e["booking_id"] != clean[first]["booking_id"]]
    second = draw(st.sampled_from(others))
    wild = list(clean)
    for index in (first, second):
        wild[index] = clean[index] | {"occurred_at": draw(wild_time())}
    return clean, wild, {clean[first]["booking_id"], clean[second]["booking_id"]}


def of_others(alerts: list[dict[str, Any]], excluded: set[str]) -> set[bytes]:
    """The alerts of every other booking (the jurisdiction monitor's have no booking)."""
    return alert_set([a for a in alerts if a["booking_id"] and a["booking_id"] not in excluded])


@common
@given(case=logs_with_two_wild_times(), seed=st.integers(0, 2**16))
def test_two_wild_timestamps_change_no_other_bookings_alerts_in_either_engine(
    policy: Policy,
    case: tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]],
    seed: int,
) -> None:
    clean, wild, wild_bookings = case
    expected, _, _ = replay(policy, clean, until=UNTIL)
    alerts, summary, dead = replay(policy, wild, until=UNTIL)
    assert of_others(alerts, wild_bookings) == of_others(expected, wild_bookings)
    # Accounted for: every line is accepted, a duplicate or a dead letter, and the only dead
    # letters are wild events (``future``, or out of the contract's range).
    assert summary.balanced()
    assert all(orjson.loads(original_bytes(d))["booking_id"] in wild_bookings for d in dead)
    # The Kafka path, too. (A wild booking's own alerts may differ between engines: a booking
    # dated years back is ``expired`` or not depending on whether another topic's event of that
    # booking, stamped with the same watermark, was applied first.)
    streamed, _ = stream(policy, wild, until=UNTIL, seed=seed)
    assert of_others(streamed, wild_bookings) == of_others(expected, wild_bookings)


def sample() -> list[bytes]:
    data = resources.files("streams.data").joinpath("sample.jsonl.gz").read_bytes()
    return [line for line in gzip.decompress(data).splitlines() if line.strip()]


def redated(lines: list[bytes], index: int, when: str) -> tuple[list[bytes], str]:
    """The log with line ``index`` re-dated to ``when``; and that line's booking."""
    body = orjson.loads(lines[index])
    out = list(lines)
    out[index] = orjson.dumps(body | {"occurred_at": when})
    return out, body["booking_id"]


@pytest.fixture(scope="module")
def clean_sample_alerts() -> list[dict[str, Any]]:
    from streams.policy.load import load_policy

    alerts, _, _ = replay(load_policy(), sample())
    return alerts


@pytest.mark.parametrize("index", [10, 500])
def test_the_sample_with_one_event_dated_2199_keeps_every_other_alert(
    policy: Policy, clean_sample_alerts: list[dict[str, Any]], index: int
) -> None:
    lines, booking = redated(sample(), index, "2199-10-05T12:00:00Z")
    alerts, summary, dead = replay(policy, lines)
    assert of_others(alerts, {booking}) == of_others(clean_sample_alerts, {booking})
    assert summary.dead_letters == {"future": 1}
    assert [d["line"] for d in dead] == [index + 1]
    assert summary.to_dict()["future"] == 1 and summary.held >= 1
    assert "future (dead letters)" in summary.render()
