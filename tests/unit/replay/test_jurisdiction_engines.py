"""The jurisdiction monitor gives the same alerts in-process and through the streaming path.

The streaming path is simulated with its pure parts, no broker: the replay producer's stamps,
one :class:`PartitionDriver` per partition, the :class:`Forwarder` repartition by jurisdiction
and one :class:`JurisdictionPartition` per facts partition, with messages of different source
partitions interleaved at random (as Kafka may deliver them).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

import orjson
import pytest

from streams.engine.share_monitor import DetainerFact
from streams.generate import generate
from streams.kafka.topics import TYPE_TO_TOPIC
from streams.policy.model import Policy
from streams.streaming.jurisdiction_agent import Forwarder, JurisdictionPartition
from streams.streaming.partition import PartitionDriver
from streams.streaming.stamp import Stamped, Stamper
from streams.streaming.store import partition_of
from tests.support import alert_set, firing, replay, signed, signed_tick

RULE = "jurisdiction_low_priority_share"


def monitor_policy(policy: Policy) -> Policy:
    """Small windows and counts: a few thousand bookings light up the skewed jurisdictions."""
    return replace(policy, monitor=replace(policy.monitor, window_days=30, min_detainers=10))


@pytest.fixture(scope="module")
def log() -> list[bytes]:
    # 6,000 bookings at 150 a day: 40 days, with duplicates, reordering and late events.
    return list(generate(6000, 5, date(2011, 10, 1), 150))


def simulated_streaming(
    policy: Policy, lines: list[bytes], partitions: int, seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    alerts: list[dict[str, Any]] = []
    topics = list(TYPE_TO_TOPIC.values())
    queues: list[list[tuple[int, bytes]]] = [
        [] for _ in range(partitions)
    ]  # facts topic partitions

    def send(key: bytes | None, value: bytes, partition: int) -> None:
        queues[partition].append((len(queues[partition]), value))

    forwarder = Forwarder(send, partitions, policy)
    drivers = []
    for p in range(partitions):

        def on_fact(fact: DetainerFact, p: int = p) -> None:
            forwarder.fact(p, fact)

        def on_watermark(at: int, p: int = p) -> None:
            forwarder.watermark(p, at)

        drivers.append(
            PartitionDriver(
                p,
                topics,
                policy,
                alerts.append,
                type_of_topic={t: k for k, t in TYPE_TO_TOPIC.items()},
                on_fact=on_fact,
                on_watermark=on_watermark,
            )
        )
    receivers = [JurisdictionPartition(q, partitions, policy) for q in range(partitions)]
    stamper = Stamper(policy)
    offset = 0

    def drain(everything: bool = False) -> None:
        forwarder.flush()  # the end of the rules agents' delivery run
        # Deliver a random prefix of each facts partition (order within a partition is kept).
        for q, queue in enumerate(queues):
            take = len(queue) if everything else rng.randrange(len(queue) + 1)
            for _, value in queue[:take]:
                got, _ = receivers[q].handle(value)
                alerts.extend(got)
            del queue[:take]

    def tick(at: int) -> None:
        for driver in drivers:
            for topic in topics:
                driver.on_message(topic, None, b"", signed_tick(topic, driver.partition, at), 0)

    def send(stamped: list[Stamped]) -> None:
        nonlocal offset
        for item in stamped:
            if item.event_type is None or item.key is None:
                continue
            p = partition_of(item.key.decode(), partitions)
            offset += 1
            topic = TYPE_TO_TOPIC[item.event_type]
            headers = signed(topic, p, item.headers())
            drivers[p].on_message(topic, item.key, item.value, headers, offset)

    for number, line in enumerate(lines, 1):
        send(stamper.stamp(line, number))
        if number % 200 == 0:
            tick(stamper.watermark)
            drain()
    released, end = stamper.finish()
    send(released)
    tick(end)
    drain(everything=True)
    for p, driver in enumerate(drivers):
        forwarder.barrier(p, "end", driver.engine.watermark.value)
    drain(everything=True)
    return alerts


def test_the_generated_log_lights_up_the_skewed_jurisdictions_in_process(
    policy: Policy, log: list[bytes]
) -> None:
    alerts, summary, _ = replay(monitor_policy(policy), log)
    fired = {a["jurisdiction"] for a in firing(alerts, RULE)}
    assert "LA-JeffersonParish" in fired  # 87% low priority against a 70% threshold
    assert fired <= {"LA-JeffersonParish", "GA-Gwinnett", "CA-Alameda", "AZ-Maricopa"}
    assert summary.jurisdiction_facts["facts"] > 0
    for alert in firing(alerts, RULE):
        d = alert["details"]
        assert alert["booking_id"] == "" and d["count"] >= 10 and d["share"] > 0.70
        assert d["window_days"] == 30


@pytest.mark.parametrize(("partitions", "seed"), [(1, 0), (3, 1), (4, 2)])
def test_the_streaming_path_gives_the_in_process_alerts(
    policy: Policy, log: list[bytes], partitions: int, seed: int
) -> None:
    test_policy = monitor_policy(policy)
    expected, _, _ = replay(test_policy, log)
    assert firing(expected, RULE)
    got = simulated_streaming(test_policy, log, partitions, seed)
    ours = [a for a in got if a["rule"] == RULE]
    theirs = [a for a in expected if a["rule"] == RULE]
    assert alert_set(ours) == alert_set(theirs)
    assert alert_set(got) == alert_set(expected)


def test_chunking_does_not_change_the_jurisdiction_alerts(policy: Policy, log: list[bytes]) -> None:
    test_policy = monitor_policy(policy)
    whole, _, _ = replay(test_policy, log)
    pieces, _, _ = replay(test_policy, log, chunk=997)
    assert pieces == whole


def test_the_facts_topic_carries_one_message_per_partition_per_run(policy: Policy) -> None:
    """Issue 15 §2: a run's facts and watermarks in one message per facts partition, not one
    per fact and per midnight. Fails on main: each fact was sent at once, with no ``flush``."""
    sent: list[tuple[bytes | None, bytes, int]] = []
    forwarder = Forwarder(lambda k, v, p: sent.append((k, v, p)), 4, policy)
    forwarder.watermark(2, 100)  # a first watermark: announced to every partition
    forwarder.flush()
    assert [(p, orjson.loads(v)) for _, v, p in sent] == [
        (q, {"k": "r", "f": [], "w": {"2": 100}}) for q in range(4)
    ]
    sent.clear()
    cook = partition_of("IL-Cook", 4)
    forwarder.fact(2, DetainerFact("b\x1fd", "IL-Cook", 10, 12, "L3"))
    forwarder.fact(3, DetainerFact("b\x1fe", "IL-Cook", 11, 12, "L1"))
    forwarder.watermark(2, 101)  # same day: only with the facts
    assert sent == []  # nothing before the run's end
    forwarder.flush()
    assert [(p, orjson.loads(v)) for _, v, p in sent] == [
        (
            cook,
            {
                "k": "r",
                "f": [
                    [2, ["b\x1fd", "IL-Cook", 10, 12, "L3"]],
                    [3, ["b\x1fe", "IL-Cook", 11, 12, "L1"]],
                ],
                "w": {"2": 101},
            },
        )
    ]
    sent.clear()
    forwarder.flush()
    assert sent == []  # an empty run sends nothing


def test_a_facts_partition_still_reads_per_fact_messages(policy: Policy) -> None:
    """A facts topic written before issue 15 may hold per-fact and per-midnight messages at an
    upgrade: they are applied as before."""
    old = JurisdictionPartition(0, 1, policy)
    new = JurisdictionPartition(0, 1, policy)
    fact = ["b\x1fd", "IL-Cook", 10, 12, "L3"]
    old.handle(orjson.dumps({"k": "f", "p": 0, "f": fact}))
    old.handle(orjson.dumps({"k": "w", "p": 0, "w": 100}))
    new.handle(orjson.dumps({"k": "r", "f": [[0, fact]], "w": {"0": 100}}))
    assert old.watermark == new.watermark == 100
    assert old.dirty_entries() == new.dirty_entries()


def test_the_replay_consults_the_monitor_only_when_a_midnight_is_due(
    policy: Policy, log: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between local midnights the monitor has nothing to evaluate: the replay notes the
    watermark and does not call it (on the starting main of issue 15 it was called on nearly
    every event, 98% of them returning at once). Its alerts are those of a monitor called at
    every watermark step."""
    from streams.engine.share_monitor import ShareMonitor

    policy = monitor_policy(policy)
    calls: list[int] = []
    real = ShareMonitor.advance_to

    def counted(self: ShareMonitor, watermark: int) -> list[dict[str, Any]]:
        calls.append(watermark)
        return real(self, watermark)

    monkeypatch.setattr(ShareMonitor, "advance_to", counted)
    alerts, summary, _ = replay(policy, log)
    assert firing(alerts, RULE)
    days = len(log) / 150 / 3  # about 3 events per booking, 150 bookings a day
    assert len(calls) < 20 * days < summary.events_read / 10
