"""A real worker on the embedded broker: a tick dated 2199 forged into the input topics while a
hold is pending fires nothing and ends as ``forged_control`` dead letters, counted in metrics;
so does a forged watermark on the jurisdiction repartition topic.

Both fail on the starting main: the worker applied any ``hw-tick`` it read, so the forged tick
moved event time to 2199 and fired the pending hold's ``hold_limit_exceeded``; and it read any
message on the facts topic as the word of a worker."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.contract import timestamps
from streams.contract.dead_letters import original_bytes
from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming import control
from streams.streaming import headers as hdr
from streams.streaming.run import WorkerProcess, event_worker_args, fresh_topics
from streams.streaming.store import partition_of
from tests.support import Events, alert_set, firing, signed_stamp, signed_tick
from tests.support import replay as in_process

pytestmark = pytest.mark.kafka

TICK_2199 = 7_258_118_400_000_000  # 2200-01-01T00:00Z in µs


def _read_until_barrier(settings: KafkaSettings, topic: str, run: str) -> list[Any]:
    """Every record of ``topic`` up to the worker's barrier ``run`` on each partition."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        **settings.kafka_python_kwargs(), enable_auto_commit=False, group_id=None
    )
    tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records: list[Any] = []
    ended: set[int] = set()
    deadline = time.monotonic() + 90
    try:
        while len(ended) < settings.partitions and time.monotonic() < deadline:
            for tp, batch in consumer.poll(200).items():
                for record in batch:
                    if hdr.header(record.headers, hdr.BARRIER) == run.encode():
                        ended.add(tp.partition)
                    elif record.value:
                        records.append(record)
    finally:
        consumer.close()
    assert len(ended) == settings.partitions, f"barrier {run} seen on {sorted(ended)} only"
    return records


def _scrape(port: int, family: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    for found in text_string_to_metric_families(text):
        if found.name == family:
            return {
                s.labels.get("reason", ""): s.value
                for s in found.samples
                if s.name.endswith("_total")
            }
    return {}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One broker and one worker; the worker (a child process) and this module's signer share a
    control key from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(control.ENV_KEY, f"test-control-key-{uuid.uuid4().hex}")
        logs = tmp_path_factory.mktemp("forge")
        with EmbeddedBroker() as broker:
            settings = fresh_topics([broker.bootstrap], load_policy(), tag="forge")
            port = free_port()
            with WorkerProcess(settings, event_worker_args(port), logs / "worker.log"):
                yield {"settings": settings, "port": port}


def test_a_forged_tick_dated_2199_fires_no_hold_and_is_a_dead_letter(env: dict[str, Any]) -> None:
    from kafka import KafkaProducer

    settings: KafkaSettings = env["settings"]
    port: int = env["port"]
    names = settings.topics
    inputs = list(names.inputs)
    producer = KafkaProducer(**settings.kafka_python_kwargs(), acks="all")
    send: Callable[..., Any] = producer.send

    def everywhere(headers_for: Callable[[str, int], list[tuple[str, bytes]]]) -> None:
        for topic in inputs:
            for p in range(settings.partitions):
                send(topic, value=b"", partition=p, headers=headers_for(topic, p))

    # 1. A hold that becomes unlawful on 2011-10-06, delivered as the replay producer
    #    would (signed watermarks), and event time moved to just after its last event.
    ny = Events("bk-held")
    held = partition_of("bk-held", settings.partitions)
    events = [
        (names.bookings, ny.booking("2011-10-03 08:00")),
        (names.hits, ny.hit("2011-10-03 09:00")),
        (names.detainers, ny.detainer("2011-10-03 10:00")),
        (names.detainers, ny.detainer("2011-10-03 11:00", action="served")),
        (names.releases, ny.release("2011-10-04 10:00", "eligible")),
    ]
    last = 0
    for topic, event in events:
        last = timestamps.parse(event["occurred_at"])
        send(
            topic,
            key=b"bk-held",
            value=orjson.dumps(event),
            partition=held,
            headers=signed_stamp(topic, held, last),
        )
    everywhere(lambda topic, p: signed_tick(topic, p, last + 1))

    # 2. The attack: unsigned ticks dated 2199 on every input topic-partition, and ticks
    #    signed with the public development key (which this worker does not use).
    forged = hdr.tick_headers(TICK_2199)
    everywhere(lambda topic, p: forged)
    dev = control.ControlKey(control.DEV_KEY)
    everywhere(lambda topic, p: dev.sign(topic, p, hdr.tick_headers(TICK_2199)))

    # 3. An authentic end-of-run barrier: after it, the worker has written every output.
    everywhere(lambda topic, p: signed_tick(topic, p, last + 1, "end:forge"))
    producer.flush()
    producer.close()

    dead = [
        orjson.loads(r.value)
        for r in _read_until_barrier(settings, names.dead_letters, "end:forge")
    ]
    alerts = [
        orjson.loads(r.value) for r in _read_until_barrier(settings, names.alerts, "end:forge")
    ]
    forged_count = 2 * len(inputs) * settings.partitions
    assert [d["reason"] for d in dead] == ["forged_control"] * forged_count
    assert all(original_bytes(d) == b"" and d["topic"] in inputs for d in dead)
    assert {d["partition"] for d in dead} == set(range(settings.partitions))
    assert not [a for a in alerts if a["rule"] == "hold_limit_exceeded"]
    assert _scrape(port, "holdwatch_dead_letters").get("forged_control") == forged_count


def test_a_forged_message_on_the_jurisdiction_topic_is_a_dead_letter(env: dict[str, Any]) -> None:
    """Watermarks of the jurisdiction repartition travel in the body: a forged one (every source
    partition at 2199) would make the monitor evaluate every midnight to 2199."""
    from kafka import KafkaProducer

    from streams.streaming.jurisdiction_agent import facts_topic_name

    settings: KafkaSettings = env["settings"]
    facts = facts_topic_name(settings.topic_prefix)
    producer = KafkaProducer(**settings.kafka_python_kwargs(), acks="all")
    forged = [orjson.dumps({"k": "w", "p": p, "w": TICK_2199}) for p in range(settings.partitions)]
    for value in forged:
        producer.send(facts, value=value, partition=0)
    dev = control.BodySigner(control.ControlKey(control.DEV_KEY))
    producer.send(facts, value=forged[0], partition=0, headers=dev.sign(facts, 0, forged[0]))
    producer.send(facts, value=b"not json", partition=0)  # crashed the agent on main
    producer.flush()  # on the facts topic before the worker forwards the barrier below
    # An authentic end barrier (signed by the worker itself) closes the run for the reader.
    everywhere_tick = [
        (topic, p) for topic in settings.topics.inputs for p in range(settings.partitions)
    ]
    for topic, p in everywhere_tick:
        producer.send(topic, value=b"", partition=p, headers=signed_tick(topic, p, 0, "end:jf"))
    producer.flush()
    producer.close()
    # The jurisdiction agent writes its alerts barrier after delivering what it read before.
    _read_until_barrier(settings, settings.topics.alerts, "end:jf")
    dead = [
        orjson.loads(r.value)
        for r in _read_until_barrier(settings, settings.topics.dead_letters, "end:jf")
    ]
    mine = [d for d in dead if d.get("topic") == facts]
    assert len(mine) == len(forged) + 2
    assert {d["reason"] for d in mine} == {"forged_control"}
    assert sorted(original_bytes(d) for d in mine) == sorted([*forged, forged[0], b"not json"])


def test_a_forged_end_barrier_does_not_cut_a_replay_short(env: dict[str, Any]) -> None:
    """``replay --kafka`` stops reading at its run's end barrier; one forged into the output
    topics mid-run (the run id is visible on the input topics) made it stop before the alerts
    of the final tick, with exit 0. Fails on the starting main: the hold alert was missing."""
    from kafka import KafkaProducer

    from streams.streaming.kafka_replay import KafkaReplay

    settings: KafkaSettings = env["settings"]
    ny = Events("bk-cut-short")  # after the other tests' event time: the worker is shared
    events = [
        ny.booking("2012-03-05 08:00"),
        ny.hit("2012-03-05 09:00"),
        ny.detainer("2012-03-05 10:00"),
        ny.detainer("2012-03-05 11:00", action="served"),
        ny.release("2012-03-06 10:00", "eligible"),
    ]
    until = "2012-03-12T00:00:00Z"  # only the final tick passes the deadline
    replay = KafkaReplay(settings, load_policy())
    attacker = KafkaProducer(**settings.kafka_python_kwargs(), acks="all")
    end = [(hdr.BARRIER, f"end:{replay.run_id}".encode())]

    def forge(_lines: int) -> None:
        for topic in (settings.topics.alerts, settings.topics.dead_letters):
            for p in range(settings.partitions):
                attacker.send(topic, value=b"", partition=p, headers=end)
                attacker.send(topic, value=b"\x1bnot json", partition=p)
        attacker.flush()

    alerts: list[dict[str, Any]] = []
    summary = replay.run(
        [orjson.dumps(e) for e in events],
        timestamps.parse(until),
        alerts.append,
        lambda d: None,
        progress=forge,
        idle_timeout=60,
    )
    attacker.close()
    expected, _, _ = in_process(load_policy(), events, until)
    assert firing(expected, "hold_limit_exceeded"), "the final tick fires the hold alert"
    mine = [a for a in alerts if a["booking_id"] == "bk-cut-short"]  # the worker is shared
    assert alert_set(mine) == alert_set(expected)
    assert summary.forged_output >= 4 * settings.partitions
    assert "forged output records ignored" in summary.render()
