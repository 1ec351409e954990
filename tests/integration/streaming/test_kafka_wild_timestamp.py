"""Issue 12 §1 through a real broker and worker: one event of the bundled sample dated 2199
early in the log changes no other booking's alert under ``replay --kafka``, and is the producer's
dead letter ``future``.

Fails before issue 12: the producer stamped the watermark from the wild event, so the worker fired
every pending deadline and expired the rest of the log.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.kafka_replay import KafkaReplay
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import alert_set, replay
from tests.unit.replay.test_wild_timestamps import redated, sample

pytestmark = pytest.mark.kafka


def test_a_2199_event_early_in_the_sample_keeps_every_other_alert_through_kafka(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    start_worker("--clock", "event")
    clean = sample()
    lines, booking = redated(clean, 10, "2199-10-05T12:00:00Z")
    expected, _, _ = replay(load_policy(), clean)
    in_process, _, _ = replay(load_policy(), lines)

    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    summary = KafkaReplay(settings, load_policy()).run(lines, None, alerts.append, dead.append)

    def others(found: list[dict[str, Any]]) -> set[bytes]:
        return alert_set([a for a in found if a["booking_id"] and a["booking_id"] != booking])

    assert others(alerts) == others(expected)
    assert alert_set([a for a in alerts if a["booking_id"]]) == alert_set(
        [a for a in in_process if a["booking_id"]]
    )
    assert [(d["reason"], d["line"]) for d in dead] == [("future", 11)]
    assert summary.held > 0 and "future (dead letters)" in summary.render()
