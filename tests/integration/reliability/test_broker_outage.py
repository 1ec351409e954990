"""The broker goes away for 30 seconds and comes back on the same port.

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
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig
from streams.streaming.kafka_replay import KafkaReplay
from streams.streaming.run import WorkerProcess, create_topics, event_worker_args, fresh_topics
from tests.integration.streaming.checkpoints import wait_until_checkpointed
from tests.support import Events, alert_set, replay

pytestmark = pytest.mark.kafka

OUTAGE_SECONDS = 30.0
UNTIL = 1_600_000_000_000_000  # 2020-09-13: every deadline of these 2018 cases has passed


def _case(booking_id: str) -> list[bytes]:
    ev = Events(booking_id, "America/Chicago")
    return [
        orjson.dumps(e)
        for e in (
            ev.booking("2018-03-05 08:00", jurisdiction="IL-Cook"),
            ev.hit("2018-03-05 09:00"),
            ev.detainer("2018-03-05 10:00", form="I-247A-2017"),
            ev.release("2018-03-06 10:00", "eligible"),
        )
    ]


def _kafka_alerts(settings: KafkaSettings, lines: list[bytes]) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    KafkaReplay(settings, load_policy()).run(
        lines, UNTIL, alerts.append, lambda d: None, start_timeout=90, idle_timeout=90
    )
    return alerts


def test_worker_and_replay_tool_through_a_30_second_broker_outage(tmp_path: Path) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    settings = fresh_topics([broker.bootstrap], load_policy(), tag="o")
    log = tmp_path / "worker.log"
    worker = WorkerProcess(
        settings, event_worker_args(None, "--checkpoint-interval", "0.5"), log
    ).start()
    try:
        before = _case("bk-before")
        assert alert_set(_kafka_alerts(settings, before)) == alert_set(
            replay(load_policy(), before, until="2020-09-13T12:26:40Z")[0]
        )

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

        broker = EmbeddedBroker(port=port).start()
        create_topics(WorkerConfig(settings, load_policy()))
        after = _case("bk-after")
        expected = replay(load_policy(), after, until="2020-09-13T12:26:40Z")[0]
        assert expected
        assert alert_set(_kafka_alerts(settings, after)) == alert_set(expected)
        assert worker.running
    finally:
        worker.stop()
        broker.stop()
