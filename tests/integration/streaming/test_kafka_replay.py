"""The Kafka path gives the in-process engine's alerts, with one worker or two, and keeps its
cases across a restart."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.generate import generate
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.kafka_replay import KafkaReplay
from streams.streaming.run import WorkerProcess, event_worker_args
from tests.integration.brokers import worker_flags
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import Events, alert_set, firing, replay

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def generated() -> list[bytes]:
    """2,000 bookings with the generator's noise: duplicates, out-of-order and late events."""
    return list(generate(2000, 11, date(2011, 10, 1), 200))


def kafka_replay(
    settings: KafkaSettings, lines: list[bytes], until: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    KafkaReplay(settings, load_policy()).run(lines, until, alerts.append, dead.append)
    return alerts, dead


@pytest.mark.parametrize("workers", [1, 2])
def test_the_kafka_path_gives_the_in_process_alerts(
    settings: KafkaSettings,
    start_worker: WorkerFactory,
    generated: list[bytes],
    workers: int,
) -> None:
    """With two workers the second one's join rebalances the first while events flow: the
    partitions it keeps are revoked, recovered and read again (docs/reliability.md, "Two
    workers: the rebalance at start")."""
    for _ in range(workers):
        start_worker("--clock", "event")
    expected, summary, _ = replay(load_policy(), generated)
    assert summary.late > 0 and summary.duplicates > 0  # the log exercises both
    alerts, _ = kafka_replay(settings, generated)
    assert len(firing(expected, "hold_limit_exceeded")) > 0
    assert alert_set(alerts) == alert_set(expected)


def test_bad_messages_end_in_dead_letters_with_their_bytes_and_position(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    start_worker("--clock", "event")
    good = Events("bk-dl").booking("2011-10-03T08:00:00-04:00")
    bad_lines = [
        orjson.dumps({**good, "charges": []}),  # routed to bookings, fails the schema there
        orjson.dumps({**good, "occurred_at": "2011-10-03T08:00:60Z"}),
        b"not json at all",  # unroutable: the replay tool dead-letters it with its line number
    ]
    _, dead = kafka_replay(settings, [orjson.dumps(good), *bad_lines])
    by_reason = {d["reason"]: d for d in dead}
    assert set(by_reason) == {"schema_violation", "bad_timestamp", "invalid_json"}
    assert by_reason["schema_violation"]["topic"] == settings.topics.bookings
    assert by_reason["schema_violation"]["original"].encode() == bad_lines[0]
    assert isinstance(by_reason["bad_timestamp"]["offset"], int)
    assert by_reason["invalid_json"]["line"] == 4

    # A message written straight to a topic, with a key that is not its booking id.
    producer = KafkaProducer(bootstrap_servers=list(settings.brokers))
    producer.send(
        settings.topics.hits,
        key=b"someone-else",
        value=orjson.dumps(Events("bk-x").hit("2011-10-03T09:00:00Z")),
    )
    producer.send(settings.topics.hits, key=b"bk-y", value=b"\xff\xfe")
    producer.flush()
    consumer = KafkaConsumer(
        settings.topics.dead_letters,
        bootstrap_servers=list(settings.brokers),
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    reasons = set()
    for record in consumer:
        if record.value:
            reasons.add(orjson.loads(record.value)["reason"])
        if {"key_mismatch", "invalid_utf8"} <= reasons:
            break
    consumer.close()
    assert {"key_mismatch", "invalid_utf8"} <= reasons


def test_a_restarted_worker_keeps_its_cases(
    settings: KafkaSettings, broker_kind: str, tmp_path: Path
) -> None:
    """SIGKILLed and started again, a worker recovers its cases from the changelog.

    On the module's broker, after the two-worker test: that sequence on one Tansu broker used to
    leave the restarted worker's next start barrier unanswered (docs/kafka-notes.md, a finding
    open until the rebalance fixes of issue 13: an input partition without a commit is read from
    its start after every rebalance, and no hole is applied). It ran on a broker of its own
    then; it now runs where that happened."""
    ev = Events("bk-restart", "America/Chicago")
    before = [
        ev.booking("2018-03-05 08:00", jurisdiction="IL-Cook"),
        ev.hit("2018-03-05 09:00"),
        ev.detainer("2018-03-05 10:00", form="I-247A-2017"),
        ev.detainer("2018-03-05 11:00", action="served"),
        ev.release("2018-03-06 10:00", "eligible"),
    ]
    args = [*event_worker_args(), *worker_flags(broker_kind), "--log-level", "info"]
    with WorkerProcess(settings, args, tmp_path / "first.log") as first:
        alerts, _ = kafka_replay(settings, [orjson.dumps(e) for e in before])
        assert firing(alerts, "hold_limit_exceeded") == []
        first.kill()  # a crash: SIGKILL, no clean shutdown
    with WorkerProcess(settings, args, tmp_path / "second.log"):
        later = Events("bk-other", "America/Chicago").booking(
            "2018-03-09 00:00", jurisdiction="IL-Cook"
        )
        alerts, _ = kafka_replay(settings, [orjson.dumps(later)])
    [alert] = firing(alerts, "hold_limit_exceeded")
    assert alert["booking_id"] == "bk-restart"
    assert alert["occurred_at"] == "2018-03-08T10:00:00-06:00"
