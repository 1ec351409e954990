"""The per-partition driver: merge by watermark, and what each outcome says about its timing."""

from __future__ import annotations

import time

import orjson

from streams.contract import timestamps
from streams.engine.watermark import NEVER
from streams.policy.load import load_policy
from streams.streaming import headers as hdr
from streams.streaming.partition import PartitionDriver
from tests.support import Events

TOPICS = ("bookings", "hits", "detainers", "releases")
TYPE_OF_TOPIC = {
    "bookings": "booking",
    "hits": "hit",
    "detainers": "detainer",
    "releases": "release",
}


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
        [(hdr.WATERMARK, hdr.encode_time(stamp))],
        0,
        "token",
        received,
    )
    assert held == []  # the other topics have not moved past its watermark yet
    time.sleep(0.05)
    settled: list = []
    for topic in ("hits", "detainers", "releases", "bookings"):
        settled += driver.on_message(topic, None, b"", hdr.tick_headers(stamp + 1), 1)[0]
    [outcome] = [o for o in settled if o.token == "token"]
    decided = time.perf_counter()
    assert outcome.result == "accepted"
    assert decided - outcome.received >= 0.05  # "decided" includes the wait
    assert 0 < outcome.processed < 0.05  # "processed" does not


def test_a_live_event_ahead_of_the_wall_clock_is_the_dead_letter_future() -> None:
    """Issue 12 §1, live mode (fails before it: the event was applied and moved the watermark)."""
    from streams.engine.clock import ManualClock

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
    soon = ev.hit(timestamps.format(now + policy.max_clock_skew))
    [outcome], _ = driver.on_message("hits", b"bk-live", orjson.dumps(soon), None, 1)
    assert outcome.result == "accepted"
    assert driver.floors["hits"] == now - policy.allowed_lateness
    clock.advance(2 * 3600)
    later = ev.hit(timestamps.format(now + 2 * policy.max_clock_skew))
    [outcome], _ = driver.on_message("hits", b"bk-live", orjson.dumps(later), None, 2)
    assert outcome.result == "accepted"  # the wall clock caught up
