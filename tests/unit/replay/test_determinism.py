"""Testers must get the same alerts every time: whatever the chunking, whatever the interleaving
of events within the allowed lateness, whatever duplicates the log carries."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract import timestamps
from streams.contract.vocabulary import FORMS
from streams.policy.model import Policy
from tests.support import Events, alert_set, replay

START = timestamps.parse("2011-11-04T08:00:00-04:00")  # a Friday before the DST change
MINUTE = timestamps.MINUTE
maybe_minutes = st.one_of(st.none(), st.integers(0, 6 * 24 * 60))


@st.composite
def booking_events(draw: st.DrawFn, index: int) -> list[dict[str, Any]]:
    """One booking's events with random times, kinds and gaps: enough to reach every rule."""
    zone = draw(st.sampled_from(["America/New_York", "America/Phoenix", "America/Chicago"]))
    ev = Events(f"bk-{index}", zone)
    at = lambda minutes: timestamps.isoformat(START + minutes * MINUTE)  # noqa: E731
    booked = draw(st.integers(0, 3 * 24 * 60))
    category = draw(st.sampled_from(["traffic", "drug"]))
    events = [ev.booking(at(booked), charges=[("misdemeanor", category)])]
    if draw(st.booleans()):
        events.append(
            ev.hit(
                at(booked + draw(st.integers(0, 600))),
                status=draw(
                    st.sampled_from(["no_lawful_status", "us_citizen", "lawful_permanent_resident"])
                ),
                level=draw(st.sampled_from(["L1", "L3", "none"])),
            )
        )
    if draw(st.booleans()):
        issued = booked + draw(st.integers(0, 900))
        events.append(ev.detainer(at(issued), form=draw(st.sampled_from(FORMS))))
        served = draw(maybe_minutes)
        if served is not None:
            events.append(ev.detainer(at(issued + served), action="served"))
        lifted = draw(maybe_minutes)
        if lifted is not None and draw(st.booleans()):
            events.append(ev.detainer(at(issued + lifted), action="lifted"))
    eligible = draw(maybe_minutes)
    if eligible is not None:
        events.append(ev.release(at(booked + eligible), "eligible"))
        held = draw(maybe_minutes)
        if held is not None:
            events.append(ev.release(at(booked + eligible + held), "transferred_to_ice"))
    return events


@st.composite
def logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    events = [e for i in range(count) for e in draw(booking_events(i))]
    events.sort(key=lambda e: timestamps.parse(e["occurred_at"]))
    return events


def shuffled_within(events: list[dict[str, Any]], lateness: int, seed: int) -> list[dict[str, Any]]:
    """Delay each event by less than the lateness and deliver in delayed order: no event is then
    ever older than the watermark when it arrives."""
    rng = random.Random(seed)
    keyed = [
        (timestamps.parse(e["occurred_at"]) + rng.randrange(lateness), i, e)
        for i, e in enumerate(events)
    ]
    return [e for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1]))]


UNTIL = timestamps.isoformat(START + 20 * 24 * 60 * MINUTE)
common = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(events=logs(), chunk=st.integers(1, 7))
def test_chunk_size_does_not_change_the_alerts(
    policy: Policy, events: list[dict[str, Any]], chunk: int
) -> None:
    whole, _, _ = replay(policy, events, until=UNTIL)
    pieces, _, _ = replay(policy, events, until=UNTIL, chunk=chunk)
    assert pieces == whole


@common
@given(events=logs(), seed=st.integers(0, 2**32))
def test_reordering_within_the_allowed_lateness_does_not_change_the_alerts(
    policy: Policy, events: list[dict[str, Any]], seed: int
) -> None:
    ordered, _, _ = replay(policy, events, until=UNTIL)
    reordered, summary, _ = replay(
        policy, shuffled_within(events, policy.allowed_lateness, seed), until=UNTIL
    )
    assert summary.late == 0
    assert alert_set(reordered) == alert_set(ordered)


@common
@given(events=logs(), seed=st.integers(0, 2**32))
def test_duplicates_do_not_change_the_alerts(
    policy: Policy, events: list[dict[str, Any]], seed: int
) -> None:
    rng = random.Random(seed)
    noisy = [copy for e in events for copy in ([e, e] if rng.random() < 0.3 else [e])]
    clean, _, _ = replay(policy, events, until=UNTIL)
    repeated, summary, _ = replay(policy, noisy, until=UNTIL)
    assert repeated == clean
    assert summary.duplicates == len(noisy) - len(events)
    assert summary.balanced()
