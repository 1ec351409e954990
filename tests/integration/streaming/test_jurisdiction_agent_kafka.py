"""Through a real broker: the jurisdiction repartition gives the in-process engine's alerts."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from streams.generate import generate
from streams.kafka.broker import BrokerProcess
from streams.kafka.settings import KafkaSettings
from streams.policy.load import default_policy_text, parse_policy
from streams.streaming.kafka_replay import KafkaReplay
from tests.support import REPO, alert_set, firing, replay

pytestmark = pytest.mark.kafka

RULE = "jurisdiction_low_priority_share"
TEST_MONITOR = 'window = "30d"', "min_detainers = 10"


def monitor_policy_text() -> str:
    return (
        default_policy_text()
        .replace('window = "90d"', TEST_MONITOR[0])
        .replace("min_detainers = 50", TEST_MONITOR[1])
    )


def test_jurisdiction_alerts_match_the_in_process_replay(
    broker: BrokerProcess, settings: KafkaSettings, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(monitor_policy_text())
    policy = parse_policy(policy_file.read_text())
    lines = list(generate(6000, 5, date(2011, 10, 1), 150))
    expected, _, _ = replay(policy, lines)
    assert firing(expected, RULE)

    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.streaming.jurisdiction_worker",
            broker.bootstrap,
            settings.topic_prefix,
            str(settings.partitions),
            str(policy_file),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        alerts: list[dict[str, Any]] = []
        KafkaReplay(settings, policy).run(
            lines, None, alerts.append, lambda d: None, start_timeout=120, idle_timeout=120
        )
    finally:
        proc.terminate()
        proc.wait(20)
    ours = [a for a in alerts if a["rule"] == RULE]
    assert alert_set(ours) == alert_set([a for a in expected if a["rule"] == RULE])
    assert alert_set(alerts) == alert_set(expected)
