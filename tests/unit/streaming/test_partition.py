"""The per-partition driver: merge by watermark, and what each outcome says about its timing."""

from __future__ import annotations

import time

import orjson
import pytest

from streams.contract import timestamps
from streams.engine.clock import ManualClock
from streams.engine.watermark import NEVER
from streams.kafka.topics import INPUT_TOPICS, TYPE_TO_TOPIC
from streams.policy.load import load_policy
from streams.streaming import headers as hdr
from streams.streaming.partition import PartitionDriver
from tests.support import Events, signed_stamp, signed_tick

TOPICS = INPUT_TOPICS
TYPE_OF_TOPIC = {topic: kind for kind, topic in TYPE_TO_TOPIC.items()}


def test_processed_time_leaves_out_the_wait_for_the_watermark_merge() -> None:
    driver = PartitionDriver(
        0, TOPICS, load_policy(), lambda alert: None, type_of_topic=TYPE_OF_TOPIC
    )
    booking = Events("bk-merge").booking("2018-03-05 08:00")
    stamp = timestamps.parse(booking["occurred_at"])
    received = time.perf_counter()
    held, _ = driver.on_message(
        "bookings",
        b"bk-merge",
        orjson.dumps(booking),
        signed_stamp("bookings", 0, stamp),
        0,
        "token",
        received,
    )
    assert held == []  # the other topics have not moved past its watermark yet
    time.sleep(0.05)
    settled: list = []
    for topic in ("hits", "detainers", "releases", "bookings"):
        settled += driver.on_message(topic, None, b"", signed_tick(topic, 0, stamp + 1), 1)[0]
    [outcome] = [o for o in settled if o.token == "token"]
    decided = time.perf_counter()
    assert outcome.result == "accepted"
    assert decided - outcome.received >= 0.05  # "decided" includes the wait
    assert 0 < outcome.processed < 0.05  # "processed" does not


def test_a_live_event_ahead_of_the_wall_clock_is_the_dead_letter_future() -> None:
    """Issue 12 §1, live mode (fails before it: the event was applied and moved the watermark)."""
    now = timestamps.parse("2018-03-05T14:00:00Z")
    clock = ManualClock(now)
    policy = load_policy()
    driver = PartitionDriver(
        0, TOPICS, policy, lambda alert: None, type_of_topic=TYPE_OF_TOPIC, wall_clock=clock
    )
    ev = Events("bk-live", "UTC")
    wild = ev.booking("2199-03-05T14:00:00Z")
    [outcome], _ = driver.on_message("bookings", b"bk-live", orjson.dumps(wild), None, 0)
    assert outcome.result == "dead_letter"
    assert outcome.dead_letter is not None and outcome.dead_letter["reason"] == "future"
    assert driver.floors["bookings"] == NEVER  # it moved nothing
    # Within the skew it is applied, and raises the floor only to the wall clock minus lateness.
    soon = ev.hit(timestamps.isoformat(now + policy.max_clock_skew))
    [outcome], _ = driver.on_message("hits", b"bk-live", orjson.dumps(soon), None, 1)
    assert outcome.result == "accepted"
    assert driver.floors["hits"] == now - policy.allowed_lateness
    clock.advance(2 * 3600)
    later = ev.hit(timestamps.isoformat(now + 2 * policy.max_clock_skew))
    [outcome], _ = driver.on_message("hits", b"bk-live", orjson.dumps(later), None, 2)
    assert outcome.result == "accepted"  # the wall clock caught up


def _held_past_deadline(ev: Events) -> list[dict]:
    return [
        ev.booking("2011-10-03 08:00"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00"),
        ev.release("2011-10-04 10:00", "eligible"),
    ]


def _contradicting(ev: Events, reason: str) -> tuple[list[dict], dict]:
    """A clean case and one event that contradicts it, for each engine reason of issue 12 §4."""
    events = _held_past_deadline(ev)
    if reason == "conflicting_duplicate":
        return events, events[3] | {"occurred_at": "2011-10-05T10:00:00-04:00"}
    if reason == "inconsistent_time":
        return events, ev.release("2011-10-03 07:00")
    if reason == "unknown_jurisdiction":
        return events[1:], events[0] | {"jurisdiction": "ny-newyorkcity"}
    assert reason == "case_limit"
    events += [ev.hit(f"2011-10-03 09:{i:02d}") for i in range(1, 32)]
    return events, ev.hit("2011-10-03 09:59")


@pytest.mark.parametrize(
    "reason", ["conflicting_duplicate", "inconsistent_time", "unknown_jurisdiction", "case_limit"]
)
def test_the_worker_core_dead_letters_contradictory_input(reason: str) -> None:
    """The worker's per-partition core turns the engine's refusal into a dead letter with the
    original bytes and its place, and goes on (issue 12 §4; fails on main: no such reasons)."""
    driver = PartitionDriver(
        0, TOPICS, load_policy(), lambda alert: None, type_of_topic=TYPE_OF_TOPIC
    )
    ev = Events(f"bk-{reason}")
    events, bad = _contradicting(ev, reason)
    for offset, event in enumerate(events):
        topic = f"{event['type']}s"
        (outcome,), _ = driver.on_message(
            topic, ev.booking_id.encode(), orjson.dumps(event), None, offset
        )
        assert outcome.result in ("accepted", "dead_letter")
    topic = f"{bad['type']}s"
    (outcome,), _ = driver.on_message(topic, ev.booking_id.encode(), orjson.dumps(bad), None, 99)
    assert outcome.result == "dead_letter" and outcome.dead_letter is not None
    assert outcome.dead_letter["reason"] == reason
    assert outcome.dead_letter["original"] == orjson.dumps(bad).decode()
    assert (outcome.dead_letter["topic"], outcome.dead_letter["offset"]) == (topic, 99)


def test_the_worker_core_counts_unlisted_jurisdictions_and_ignored_facts() -> None:
    """An unlisted jurisdiction with its own zone is accepted and flagged for the metric; a
    release before a booking that arrives later is applied, then dropped, and counted."""
    from prometheus_client import CollectorRegistry

    from streams.observability.metrics import WorkerMetrics

    policy = load_policy()
    metrics = WorkerMetrics(CollectorRegistry(), policy)
    driver = PartitionDriver(0, TOPICS, policy, lambda alert: None, type_of_topic=TYPE_OF_TOPIC)
    ev = Events("bk-unlisted", "America/Chicago")
    early = ev.release("2011-10-03 07:00")
    booking = ev.booking(
        "2011-10-03 08:00", jurisdiction="XX-Elsewhere", timezone="America/Chicago"
    )
    outcomes = []
    for offset, event in enumerate([early, booking]):
        outcomes += driver.on_message(
            f"{event['type']}s", b"bk-unlisted", orjson.dumps(event), None, offset
        )[0]
    assert [o.result for o in outcomes] == ["accepted", "accepted"]
    assert [o.unlisted for o in outcomes] == [False, True]
    assert [o.ignored for o in outcomes] == [0, 1]
    for outcome in outcomes:
        metrics.observe(outcome, 0.0, False)
    assert metrics.registry.get_sample_value("holdwatch_bookings_unlisted_jurisdiction_total") == 1
    assert metrics.registry.get_sample_value("holdwatch_inconsistent_facts_ignored_total") == 1


TICK_2199 = 7_258_118_400_000_000  # 2200-01-01T00:00Z in µs


def _pending_hold(driver: PartitionDriver, alerts: list[dict]) -> int:
    """A detainer hold that becomes unlawful on 2011-10-06 10:00; returns the watermark reached."""
    ny = Events("bk-held")
    events = [
        ("bookings", ny.booking("2011-10-03 08:00")),
        ("hits", ny.hit("2011-10-03 09:00")),
        ("detainers", ny.detainer("2011-10-03 10:00")),
        ("detainers", ny.detainer("2011-10-03 11:00", action="served")),
        ("releases", ny.release("2011-10-04 10:00", "eligible")),
    ]
    last = 0
    for offset, (topic, event) in enumerate(events):
        last = timestamps.parse(event["occurred_at"])
        driver.on_message(
            topic, b"bk-held", orjson.dumps(event), signed_stamp(topic, 0, last), offset
        )
    for topic in TOPICS:
        driver.on_message(topic, None, b"", signed_tick(topic, 0, last + 1), 100)
    assert driver.held == 0 and alerts == []
    return last + 1


def test_a_forged_tick_is_a_dead_letter_and_fires_nothing() -> None:
    """Fails on the starting main: an unsigned tick dated 2199 fired every pending deadline."""
    alerts: list[dict] = []
    driver = PartitionDriver(0, TOPICS, load_policy(), alerts.append, type_of_topic=TYPE_OF_TOPIC)
    mark = _pending_hold(driver, alerts)
    forged = hdr.tick_headers(TICK_2199, "end:forged")
    outcomes = []
    for offset, topic in enumerate(TOPICS, 200):
        settled, barriers = driver.on_message(topic, None, b"", forged, offset, token=offset)
        assert barriers == []
        outcomes += settled
    assert alerts == []
    assert driver.watermark == mark  # no floor moved
    assert [o.result for o in outcomes] == ["dead_letter"] * 4
    letter = outcomes[0].dead_letter
    assert letter is not None
    assert letter["reason"] == "forged_control"
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("bookings", 0, 200)
    assert "hw-tick=7258118400000000" in letter["detail"]
    # The same tick, signed (as the replay producer or a live worker writes it), does fire.
    for topic in TOPICS:
        driver.on_message(topic, None, b"", signed_tick(topic, 0, TICK_2199), 300)
    assert "hold_limit_exceeded" in {a["rule"] for a in alerts if a["state"] == "firing"}


def test_a_tick_signed_for_another_partition_is_forged() -> None:
    alerts: list[dict] = []
    driver = PartitionDriver(0, TOPICS, load_policy(), alerts.append, type_of_topic=TYPE_OF_TOPIC)
    mark = _pending_hold(driver, alerts)
    for topic in TOPICS:
        [outcome], _ = driver.on_message(topic, None, b"", signed_tick(topic, 1, TICK_2199), 400)
        assert outcome.dead_letter is not None
        assert outcome.dead_letter["reason"] == "forged_control"
    assert alerts == [] and driver.watermark == mark


def test_an_event_with_a_forged_watermark_is_a_dead_letter_as_a_whole() -> None:
    """Fails on the starting main: an unsigned ``hw-wm`` raised its topic's floor. The event is
    not applied "live" instead either: its forged stamp would still decide when it applies."""
    alerts: list[dict] = []
    driver = PartitionDriver(0, TOPICS, load_policy(), alerts.append, type_of_topic=TYPE_OF_TOPIC)
    mark = _pending_hold(driver, alerts)
    other = Events("bk-forger").booking("2011-10-05 08:00")
    raw = orjson.dumps(other)
    forged = [(hdr.WATERMARK, hdr.encode_time(TICK_2199))]
    [outcome], _ = driver.on_message("bookings", b"bk-forger", raw, forged, 500)
    assert outcome.result == "dead_letter"
    assert outcome.event_type == "booking"
    assert outcome.dead_letter is not None
    assert outcome.dead_letter["reason"] == "forged_control"
    assert outcome.dead_letter["original"] == raw.decode()
    assert driver.floors["bookings"] == mark
    assert "bk-forger" not in driver.engine.cases
    assert alerts == []
