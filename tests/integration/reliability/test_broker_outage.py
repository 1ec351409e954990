"""The broker goes away for 30 seconds and comes back on the same port, on Tansu and on Apache
Kafka.

Apache Kafka keeps its log, committed offsets and the changelog on disk: the worker keeps its
state and event clock through the outage, so the second replay continues the log (its case is
dated after the first run's end). Fails on the starting main on Apache Kafka: the replay after the
restart timed out waiting for the start barrier (kafka-python's ``seek_to_end`` is lazy, and a
restarted broker answers ListOffsets late, so the reader began after the worker's answer).

Tansu runs with memory storage here, so a restart loses every topic, message and committed
offset: an outage of the embedded broker is also a loss of the data on it (real Kafka keeps its
log on disk and has none of this). What must hold anyway:

* the worker does not crash; its log names the broker address it cannot reach, and it carries
  on by itself when the broker is back: a new replay gets exactly the in-process alerts;
* the replay tool, started while the broker is down, fails with an error naming the address it
  could not bootstrap from (it does not hang, and does not produce to nowhere).

The test recreates the topics after the restart (4 partitions, the same count Tansu's
auto-creation would give, so it does not matter who comes first).
"""

from __future__ import annotations

import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.contract import timestamps
from streams.kafka.broker import BrokerProcess, EmbeddedBroker, free_port
from streams.kafka.settings import KafkaSettings
from streams.kafka.topics import TYPE_TO_TOPIC
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.kafka_replay import KafkaReplay
from streams.streaming.run import WorkerProcess, create_topics, event_worker_args, fresh_topics
from tests.integration.brokers import BROKERS, kafka_available, worker_flags
from tests.integration.streaming.checkpoints import read_keys, wait_until_checkpointed
from tests.support import Events, alert_set, firing, replay

pytestmark = pytest.mark.kafka

OUTAGE_SECONDS = 30.0
# Each run ends past every deadline of its case; the second case is dated after the first run's
# end, as it would be in one continuous log (Apache Kafka keeps the worker's state and clock).
BEFORE = ("2018-03-05", "2019-03-01T00:00:00Z")
AFTER = ("2019-06-03", "2020-09-13T12:26:40Z")


def _case(booking_id: str, day: str) -> list[bytes]:
    ev = Events(booking_id, "America/Chicago")
    released = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return [
        orjson.dumps(e)
        for e in (
            ev.booking(f"{day} 08:00", jurisdiction="IL-Cook"),
            ev.hit(f"{day} 09:00"),
            ev.detainer(f"{day} 10:00", form="I-247A-2017"),
            ev.release(f"{released} 10:00", "eligible"),
        )
    ]


def _kafka_alerts(
    settings: KafkaSettings, lines: list[bytes], until: str, start_timeout: float = 90
) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    KafkaReplay(settings, load_policy()).run(
        lines,
        timestamps.parse(until),
        alerts.append,
        lambda d: None,
        start_timeout=start_timeout,
        idle_timeout=90,
    )
    return alerts


def _same_as_in_process(
    settings: KafkaSettings, name: str, run: tuple[str, str], start_timeout: float = 90
) -> None:
    day, until = run
    lines = _case(name, day)
    expected = replay(load_policy(), lines, until=until)[0]
    assert expected
    assert alert_set(_kafka_alerts(settings, lines, until, start_timeout)) == alert_set(expected)


def _broker(kind: str, port: int, tmp_path: Path) -> BrokerProcess:
    """A broker that ``stop()`` then ``start()`` brings back on the same port (Apache Kafka with
    its data, Tansu empty)."""
    log = tmp_path / f"{kind}.log"
    if kind == "kafka":
        reason = kafka_available()
        if reason is not None:
            pytest.skip(reason)
        from streams.kafka.apache import ApacheKafka

        return ApacheKafka(port=port, log_path=log)
    return EmbeddedBroker(port=port, log_path=log)


@pytest.mark.parametrize("kind", BROKERS)
def test_worker_and_replay_tool_through_a_30_second_broker_outage(
    tmp_path: Path, kind: str
) -> None:
    port = free_port()
    broker = _broker(kind, port, tmp_path).start()
    settings = fresh_topics([broker.bootstrap], load_policy(), tag="o")
    log = tmp_path / "worker.log"
    flags = [*event_worker_args(None, "--checkpoint-interval", "0.5"), *worker_flags(kind)]
    worker = WorkerProcess(settings, flags, log).start()
    try:
        _same_as_in_process(settings, "bk-before", BEFORE)

        # Tansu keeps nothing across a restart, so the test starts the outage with the worker
        # quiet: its state checkpointed, nothing in flight that would land in the new topics.
        assert wait_until_checkpointed(settings, 30) == {}
        broker.stop()
        down_at = time.monotonic()
        # the replay tool, started during the outage: a clear error naming the address, no hang
        with pytest.raises(Exception, match=f"127.0.0.1:{port}"):
            KafkaReplay(settings, load_policy())
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        assert worker.running, "the worker died during the outage"
        outage_log = log.read_text("utf-8", "replace")
        assert f"127.0.0.1', {port})" in outage_log or f"127.0.0.1:{port}" in outage_log

        broker.start()
        create_topics(WorkerConfig(settings, load_policy()))  # Tansu lost them; Kafka kept them
        # The wait for the worker's answer is generous: on a starved machine (both cores busy
        # with other work) a worker once took 120 s to see a restarted Tansu (docs/reliability.md,
        # "Broker outage"); only a worker that never answers fails here.
        _same_as_in_process(settings, "bk-after", AFTER, start_timeout=240)
        assert worker.running
    finally:
        worker.stop()
        broker.close()


def _reread_counts(port: int) -> dict[str, float]:
    """``holdwatch_input_reread_total`` by reason, from the worker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "holdwatch_input_reread"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_an_input_log_lost_under_a_running_worker_is_read_again_from_its_start(
    tmp_path: Path,
) -> None:
    """The deterministic form of the Tansu restart finding: the input topics are deleted and
    created again while the worker runs, so every partition the first replay wrote to now ends
    before the worker's position. Tansu answers a fetch there with no records and no error, and
    Faust drops every record below the offset it last read, so without
    ``HoldwatchConsumer.rewind_lost`` the worker never saw those partitions again (the second
    replay's start barriers went unanswered).

    Tansu only: Apache Kafka keeps its log, and a topic deleted under a running consumer leaves
    the group's subscription until the consumer's next metadata refresh (``metadata.max.age.ms``,
    5 minutes), so the same steps there test Kafka's metadata cadence, not a lost log (one run of
    two timed out waiting for it). On Kafka a fetch past the end is ``OffsetOutOfRange``; every
    Kafka test runs with the guard on."""
    kind = "tansu"
    from kafka.admin import KafkaAdminClient

    port = free_port()
    broker = _broker(kind, port, tmp_path).start()
    settings = fresh_topics([broker.bootstrap], load_policy(), tag="l")
    log = tmp_path / "worker.log"
    metrics_port = free_port()
    flags = [
        *event_worker_args(metrics_port, "--checkpoint-interval", "0.5"),
        *worker_flags(kind),
    ]
    worker = WorkerProcess(settings, flags, log).start()
    try:
        _same_as_in_process(settings, "bk-before", BEFORE)
        assert wait_until_checkpointed(settings, 30) == {}

        admin = KafkaAdminClient(**settings.kafka_python_kwargs())
        try:
            inputs = list(settings.topics.inputs)
            admin.delete_topics(inputs)
            deadline = time.monotonic() + 60
            while set(inputs) & set(admin.list_topics()):
                assert time.monotonic() < deadline, "the input topics were not deleted"
                time.sleep(0.5)
        finally:
            admin.close()
        create_topics(WorkerConfig(settings, load_policy()))

        _same_as_in_process(settings, "bk-after", AFTER)
        assert worker.running
        assert "lost its log" in log.read_text("utf-8", "replace")
        # and it pages (InputRecordsLost): the records it had not acknowledged went with the log
        reread = _reread_counts(metrics_port)
        assert reread["lost_log"] >= 1
        assert set(reread) == {"hole", "retention", "lost_log"}
    finally:
        worker.stop()
        broker.close()


@pytest.mark.parametrize("kind", BROKERS)
def test_a_deadline_that_passes_during_an_outage_fires_when_the_broker_is_back(
    tmp_path: Path, kind: str
) -> None:
    """Issue 13 §3, on the worker's side: a live worker has a hold whose deadline passes while
    the broker is down; once the broker is back the worker's ticks flow again and the alert
    fires, the same alert as the in-process engine's. (Paging *during* the outage is the
    BrokerUnreachable alert's job.) The worker needs nothing for this: it passes on the starting
    main too, with this outage (about 45 s) and with one of over 5 minutes (run by hand: aiokafka
    rejoins the same group generation once the restarted broker's coordinator has loaded). What
    failed on Apache Kafka was the replay tool (the test above)."""
    from kafka import KafkaConsumer, KafkaProducer

    port = free_port()
    broker = _broker(kind, port, tmp_path).start()
    settings = fresh_topics([broker.bootstrap], load_policy(), tag="d")
    flags = ["--clock", "wall", "--store", "memory", "--metrics-port", "0"]
    flags += ["--checkpoint-interval", "0.5", *worker_flags(kind)]
    worker = WorkerProcess(settings, flags, tmp_path / "worker.log").start()
    try:
        # The deadline falls inside the outage: the worker applies the case and checkpoints it
        # first (its key in the changelog), then the broker stops until well past the deadline.
        deadline = time.time_ns() // 1000 + 60 * timestamps.MICROS
        lines = _live_case("bk-outage", deadline)
        producer = KafkaProducer(**settings.kafka_python_kwargs(), acks="all")
        topics = settings.topics
        for line in lines:
            kind_of = orjson.loads(line)["type"]
            producer.send(topics.name(TYPE_TO_TOPIC[kind_of]), key=b"bk-outage", value=line)
        producer.flush()
        producer.close()
        changelog = WorkerConfig(settings, load_policy()).changelog_topic
        while not any(b"bk-outage" in keys for keys in read_keys(settings, changelog).values()):
            assert time.time_ns() // 1000 < deadline - 10 * timestamps.MICROS, "case not applied"
            time.sleep(1.0)

        broker.stop()
        time.sleep(max(0.0, (deadline - time.time_ns() // 1000) / timestamps.MICROS + 15.0))
        assert worker.running, "the worker died during the outage"
        broker.start()
        create_topics(WorkerConfig(settings, load_policy()))  # Tansu lost them; Kafka kept them

        consumer = KafkaConsumer(
            settings.topics.alerts,
            **settings.kafka_python_kwargs(),
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
        )
        fired: list[dict[str, Any]] = []
        give_up = time.monotonic() + 120
        while not fired and time.monotonic() < give_up:
            for record in consumer:
                if record.value:
                    fired += firing([orjson.loads(record.value)], "hold_limit_exceeded")
        consumer.close()
        expected = firing(
            replay(load_policy(), lines, until=timestamps.isoformat(deadline + timestamps.MICROS))[
                0
            ],
            "hold_limit_exceeded",
        )
        assert expected and timestamps.parse(expected[0]["occurred_at"]) == deadline
        assert alert_set(fired) == alert_set(expected)
    finally:
        worker.stop()
        broker.close()


def _live_case(booking_id: str, deadline: int) -> list[bytes]:
    """A hold (the 2017 form: 48 elapsed hours after eligibility) whose limit ends at
    ``deadline`` (µs), every event already in the past."""
    ev = Events(booking_id, "America/New_York")
    eligible = deadline - 48 * timestamps.HOUR
    at = timestamps.isoformat
    return [
        orjson.dumps(e)
        for e in (
            ev.booking(at(eligible - 30 * timestamps.HOUR)),
            ev.hit(at(eligible - 29 * timestamps.HOUR)),
            ev.detainer(at(eligible - 28 * timestamps.HOUR), form="I-247A-2017"),
            ev.detainer(at(eligible - 27 * timestamps.HOUR), action="served"),
            ev.release(at(eligible), "eligible"),
        )
    ]
