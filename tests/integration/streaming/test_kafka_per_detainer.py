"""One alert per detainer through Kafka (issue 12 §3): ``replay --kafka`` and a real worker give
the in-process engine's two alerts for a booking held on two detainers with one deadline."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.kafka_replay import KafkaReplay
from tests.integration.streaming.conftest import WorkerFactory
from tests.support import Events, alert_set, firing, replay, resolved, two_detainers

pytestmark = pytest.mark.kafka


def test_the_kafka_path_gives_one_hold_limit_alert_per_detainer(
    settings: KafkaSettings, start_worker: WorkerFactory
) -> None:
    """Fails on the old main: one alert for both detainers, resolved with the first's 10 h."""
    start_worker("--clock", "event")
    events = two_detainers(
        Events("bk-2d-kafka"), lift_first="2011-10-06 20:00", custody_end="2011-10-10 20:00"
    )
    lines = [orjson.dumps(e) for e in events]
    expected, _, _ = replay(load_policy(), lines)

    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    KafkaReplay(settings, load_policy()).run(lines, None, alerts.append, dead.append)

    assert dead == []
    assert alert_set(alerts) == alert_set(expected)
    fired = firing(alerts, "hold_limit_exceeded")
    assert sorted(a["details"]["detainer_id"] for a in fired) == ["dt-1", "dt-2"]
    assert len({a["alert_id"] for a in fired}) == 2
    hours = {
        a["details"]["detainer_id"]: a["details"]["hours_over"]
        for a in resolved(alerts, "hold_limit_exceeded")
    }
    assert hours == {"dt-1": 10.0, "dt-2": 106.0}
