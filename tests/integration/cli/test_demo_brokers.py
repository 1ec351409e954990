"""``holdwatch demo`` on its embedded broker (the default: nothing but pip) and, with
``--broker``, on a real Apache Kafka cluster: the same alerts as the in-process engine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.kafka.broker import free_port
from tests.integration.brokers import BROKERS, running_broker

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize("kind", BROKERS)
def test_the_demo_gives_the_in_process_alerts(kind: str) -> None:
    command = [sys.executable, "-m", "streams", "demo", "--quiet-alerts"]
    command += ["--metrics-port", str(free_port())]
    if kind == "tansu":
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    else:
        with running_broker(kind) as broker:
            result = subprocess.run(
                [*command, "--broker", broker.url], capture_output=True, text=True, timeout=300
            )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "identical to" in result.stdout
