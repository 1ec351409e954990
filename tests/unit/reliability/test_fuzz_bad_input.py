"""Fuzzed bad input at both engines: no crash, every bad message a dead letter with the right
reason and its original bytes, and the accounting identity holds.

* the in-process replay (``InProcessReplay.feed``): summary identity ``events_read = accepted +
  duplicates + dead letters``;
* the worker's pure core (``PartitionDriver.on_message``, exactly what the Faust agent calls per
  message): one outcome per message, counted, and the same identity on the worker's Prometheus
  counters fed by those outcomes.

Each test draws whole batches (good events, their repeats and every kind of bad message mixed),
so the two tests together push well over 10,000 generated bad messages (each asserts its share).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from prometheus_client import CollectorRegistry

from streams.contract.dead_letters import encode_bytes, original_bytes
from streams.contract.decode import Decoder
from streams.observability.metrics import WorkerMetrics
from streams.policy.load import load_policy
from streams.replay.runner import InProcessReplay
from streams.streaming.partition import PartitionDriver
from tests.unit.reliability import strategies as S

REPO = Path(__file__).resolve().parents[3]
DEAD_LETTER = Draft202012Validator(
    orjson.loads((REPO / "schemas" / "dead_letter.schema.json").read_bytes())
)
POLICY = load_policy(None)
DECODER = Decoder()  # compiled once, as in a worker
FAR_FUTURE = 7_258_118_400_000_000  # 2200-01-01: every pending deadline fires
TOPIC = {kind: f"hw.{kind}s" for kind in S.TYPES}
TYPE_OF_TOPIC = {topic: kind for kind, topic in TOPIC.items()}

# A schema-valid event the engine may still refuse, for what its case already holds (too old,
# same id with other content, unknown jurisdiction, time before its anchor, over a case bound).
ENGINE_REASONS = frozenset(
    {"expired", "conflicting_duplicate", "unknown_jurisdiction", "inconsistent_time", "case_limit"}
)
BATCHES = int(__import__("os").environ.get("HOLDWATCH_FUZZ_BATCHES", "120"))
BATCH = st.lists(S.body_messages(), min_size=55, max_size=70)
KAFKA_BATCH = st.lists(S.kafka_messages(), min_size=55, max_size=70)
FUZZ = settings(
    max_examples=BATCHES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a failing batch is reported as drawn
)


def _with_repeats(batch: list[S.Msg], rnd: random.Random) -> list[S.Msg]:
    """Good events delivered twice (at-least-once): the second time is a duplicate, not an error."""
    out = list(batch)
    for msg in batch:
        if msg.reason is None and rnd.random() < 0.3:
            out.insert(rnd.randrange(len(out) + 1), msg)
    return out


def _check_dead_letter(record: dict[str, Any], msg: S.Msg) -> None:
    DEAD_LETTER.validate(record)
    assert record["reason"] == msg.reason, (msg.kind, record["reason"], record["detail"])
    assert original_bytes(record) == msg.raw


def test_in_process_replay_survives_fuzzed_input() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(batch=BATCH, seed=st.integers(0, 2**32))
    def run(batch: list[S.Msg], seed: int) -> None:
        batch = _with_repeats(batch, random.Random(seed))
        dead: list[dict[str, Any]] = []
        replay = InProcessReplay(POLICY, lambda alert: None, dead.append, DECODER)
        replay.feed(m.raw for m in batch)  # one message per element: no line splitting here
        summary = replay.finish(FAR_FUTURE)

        by_line = {record["line"]: record for record in dead}
        assert len(by_line) == len(dead)
        assert summary.events_read == len(batch)
        assert summary.balanced()
        assert summary.dead_letter_total == len(dead)
        for line, msg in enumerate(batch, 1):
            record = by_line.get(line)
            if msg.reason is not None:
                assert record is not None, msg
                _check_dead_letter(record, msg)
            elif record is not None:  # a good event the engine refuses: the engine's own reason
                assert record["reason"] in ENGINE_REASONS
                assert original_bytes(record) == msg.raw
        seen.update(m.kind for m in batch if m.reason is not None)

    run()
    kinds = {k.__name__ for k in S.BODY_KINDS}
    assert set(seen) == kinds, kinds - set(seen)
    assert sum(seen.values()) >= 5000


def test_partition_driver_survives_fuzzed_input() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(batch=KAFKA_BATCH, seed=st.integers(0, 2**32))
    def run(batch: list[S.Msg], seed: int) -> None:
        rnd = random.Random(seed)
        batch = _with_repeats(batch, rnd)
        metrics = WorkerMetrics(CollectorRegistry(), POLICY)
        driver = PartitionDriver(
            3,
            TOPIC.values(),
            POLICY,
            lambda alert: None,
            decoder=DECODER,
            type_of_topic=TYPE_OF_TOPIC,
        )
        outcomes = []
        for offset, msg in enumerate(batch):
            topic = TOPIC[msg.topic_type] if msg.topic_type else TOPIC[rnd.choice(S.TYPES)]
            settled, barriers = driver.on_message(
                topic, msg.key, msg.raw, None, offset, token=(offset, msg, topic)
            )
            assert barriers == []
            outcomes.extend(settled)
        outcomes.extend(driver.advance_all(FAR_FUTURE))  # live events settle at once; nothing held
        for outcome in outcomes:
            metrics.observe(outcome, 0.0, False)

        # every message settled exactly once, in order
        assert [o.token[0] for o in outcomes] == list(range(len(batch)))
        results = Counter(o.result for o in outcomes)
        bad = [o for o in outcomes if o.token[1].reason is not None]
        expired = [o for o in outcomes if o.token[1].reason is None and o.result == "dead_letter"]
        assert all(
            o.dead_letter is not None and o.dead_letter["reason"] in ENGINE_REASONS for o in expired
        )
        assert results["dead_letter"] == len(bad) + len(expired)
        assert results["accepted"] + results["duplicate"] + results["dead_letter"] == len(batch)
        for outcome in bad:
            offset, msg, topic = outcome.token
            assert outcome.dead_letter is not None
            _check_dead_letter(outcome.dead_letter, msg)
            assert (
                outcome.dead_letter["topic"],
                outcome.dead_letter["partition"],
                outcome.dead_letter["offset"],
            ) == (topic, 3, offset)
            assert outcome.dead_letter["key"] == (
                None if msg.key is None else encode_bytes(msg.key)[0]
            )

        # the same identity on the worker's metrics
        events = {
            tuple(s.labels.values()): s.value
            for m in metrics.registry.collect()
            if m.name == "holdwatch_events"
            for s in m.samples
            if s.name.endswith("_total")
        }
        dead = {
            s.labels["reason"]: s.value
            for m in metrics.registry.collect()
            if m.name == "holdwatch_dead_letters"
            for s in m.samples
            if s.name.endswith("_total")
        }
        assert sum(events.values()) == len(batch)
        assert (
            sum(v for (_, outcome), v in events.items() if outcome == "dead_letter")
            == sum(dead.values())
            == len(bad) + len(expired)
        )
        expected = Counter(o.token[1].reason for o in bad) + Counter(
            o.dead_letter["reason"] for o in expired if o.dead_letter is not None
        )
        assert Counter({r: int(v) for r, v in dead.items()}) == expected
        seen.update(o.token[1].kind for o in bad)

    run()
    kinds = {k.__name__ for k in (*S.BODY_KINDS, *S.KAFKA_KINDS)}
    assert set(seen) == kinds, kinds - set(seen)
    assert sum(seen.values()) >= 5000


@pytest.mark.parametrize("raw", [b"\xff" * 10, b"[]", b"{}", b"\x00", b"{" * 5000, b"x" * 70_000])
def test_known_nasties_at_the_driver(raw: bytes) -> None:
    driver = PartitionDriver(
        0, TOPIC.values(), POLICY, lambda alert: None, type_of_topic=TYPE_OF_TOPIC
    )
    (outcome,), _ = driver.on_message(TOPIC["booking"], b"bk-1", raw, None, 7)
    assert outcome.result == "dead_letter" and outcome.dead_letter is not None
    assert original_bytes(outcome.dead_letter) == raw
