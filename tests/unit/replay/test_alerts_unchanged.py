"""Restructuring the rules changed no alert: the bytes ``holdwatch replay`` writes are the ones
the starting main of issue 14 wrote (digests computed there with the same commands).

The Kafka engine is held to the in-process one by the equality suites (tests/integration/
streaming, the demo's check), so the in-process bytes pin both. A deliberate change of an alert
(a new rule that fires on these logs, a new detail) changes these digests: recompute them with
the commands in each test and say why in the commit.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from streams.cli.main import main

#: sha256 of ``holdwatch replay -q <bundled sample> --alerts-out FILE`` (90 alerts).
SAMPLE_ALERTS = "7ff942ac2491bbfab422128eba80856b3256412246105b7b0a033662ae8d9b0d"
#: ``holdwatch generate --bookings 63600 --seed 14``: 201,628 events.
GENERATED_LOG = "c254aa58648503fd891806cdbb8771a953f8eb449ff9f48e4a3c009a1c3df030"
#: sha256 of its replay's alerts (2,420 alerts).
GENERATED_ALERTS = "1717185436dc7827e18fae11f02def9fea2e40f9ac58fd0a780d9d667c9b5dab"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replayed(log: Path, out: Path) -> Path:
    assert main(["replay", "-q", str(log), "--alerts-out", str(out)]) == 0
    return out


def test_the_bundled_sample_gives_the_same_alert_bytes(tmp_path: Path) -> None:
    sample = Path(str(resources.files("streams.data").joinpath("sample.jsonl.gz")))
    assert sha256(replayed(sample, tmp_path / "alerts.jsonl")) == SAMPLE_ALERTS


def test_a_generated_200k_event_log_gives_the_same_alert_bytes(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    assert main(["generate", "--bookings", "63600", "--seed", "14", "--out", str(log)]) == 0
    assert sha256(log) == GENERATED_LOG  # the same input as on the starting main
    assert sha256(replayed(log, tmp_path / "alerts.jsonl")) == GENERATED_ALERTS
