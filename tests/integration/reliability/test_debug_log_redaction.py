"""A real worker at ``--log-level debug``: a rejected booking's raw ``person_id`` (rejected before
it could be pseudonymized) appears nowhere in its log, though the dead letter keeps the original.

Fails on the starting main, where aiokafka's and Faust's debug records carried the raw value."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from streams.contract.dead_letters import original_bytes
from streams.kafka.broker import EmbeddedBroker
from streams.policy.load import load_policy
from streams.streaming import headers as hdr
from streams.streaming.run import WorkerProcess, event_worker_args, fresh_topics
from tests.support import Events

pytestmark = pytest.mark.kafka

PERSON = "PERSON-RAW-DEBUG-91c2"


def test_debug_log_carries_no_raw_person_id(tmp_path: Path) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    log = tmp_path / "worker.log"
    with EmbeddedBroker() as broker:
        settings = fresh_topics([broker.bootstrap], load_policy(), tag="dbg", partitions=1)
        with WorkerProcess(settings, event_worker_args(None, "--log-level", "debug"), log):
            rejected = Events("bk-debug").booking("2018-03-05 08:00") | {
                "person_id": PERSON,
                "charges": "not a list",  # schema violation: a dead letter, never pseudonymized
            }
            raw = orjson.dumps(rejected)
            producer = KafkaProducer(**settings.kafka_python_kwargs())
            producer.send(settings.topics.bookings, key=b"bk-debug", value=raw).get(timeout=30)
            producer.close()

            consumer = KafkaConsumer(
                **settings.kafka_python_kwargs(), enable_auto_commit=False, group_id=None
            )
            tp = TopicPartition(settings.topics.dead_letters, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            letters: list[dict] = []
            deadline = time.monotonic() + 90
            while not letters and time.monotonic() < deadline:
                for batch in consumer.poll(200).values():
                    letters += [
                        orjson.loads(r.value)
                        for r in batch
                        if r.value and hdr.header(r.headers, hdr.BARRIER) is None
                    ]
            consumer.close()
            time.sleep(1.0)  # let the worker log what it did after sending
    [letter] = letters
    assert letter["reason"] == "schema_violation"
    assert original_bytes(letter) == raw  # the dead-letter topic keeps the original
    text = log.read_text("utf-8", "replace")
    assert text.count("\n") > 100  # debug records are there, so the check is not vacuous
    assert PERSON not in text
