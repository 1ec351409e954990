"""The per-partition driver: merge by watermark, and what each outcome says about its timing."""

from __future__ import annotations

import time

import orjson

from streams.contract import timestamps
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
