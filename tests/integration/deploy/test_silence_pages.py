"""Silence pages: a live worker on a real broker, the broker stopped (by PID).

While the broker is up, ``holdwatch health`` (the compose worker's healthcheck) passes and no
paging rule of silence fires. Once it is stopped, the health check fails within its configured
time, naming the broker, and a real Prometheus scraping the worker fires ``BrokerUnreachable``
and ``WatermarkStalled``: the rules are the shipped ones (deploy/prometheus/rules/alerts.yml,
read and written to a test copy with only their ``for:`` set to 0, so the test waits for the
expression's own 60 s threshold, not the extra minute). On main none of this exists: the
worker exported no broker contact, the health check only fetched /metrics (which still answers
without a broker), and no rule could fire during an outage.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.policy.load import load_policy
from streams.streaming.run import WorkerProcess, fresh_topics
from tests.integration.brokers import BROKERS, running_broker, worker_flags

from .conftest import PROMETHEUS_DIR, free_port, http_json, require_binary, stop, wait_http_ok

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

SILENCE = ("BrokerUnreachable", "WatermarkStalled")
HEALTH_LIMIT = 10.0  # --broker-timeout and --watermark-timeout of the health check here
REFRESH = 2.0  # the worker refreshes its gauges this often (streams/streaming/app.py)


def silence_rules(tmp: Path) -> Path:
    """The shipped silence rules, ``for:`` set to 0 (expressions untouched)."""
    shipped = yaml.safe_load((PROMETHEUS_DIR / "rules" / "alerts.yml").read_text())
    rules = [r for g in shipped["groups"] for r in g["rules"] if r.get("alert") in SILENCE]
    assert {r["alert"] for r in rules} == set(SILENCE)
    for rule in rules:
        rule["for"] = "0s"
    path = tmp / "silence.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "silence", "rules": rules}]}))
    return path


def health(port: int) -> subprocess.CompletedProcess[str]:
    """The compose healthcheck's command, against this test's worker."""
    limit = str(HEALTH_LIMIT)
    return subprocess.run(
        [sys.executable, "-m", "streams", "health", "--url", f"http://127.0.0.1:{port}/metrics",
         "--broker-timeout", limit, "--watermark-timeout", limit],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def firing(base: str) -> dict[str, dict[str, Any]]:
    answer = http_json(f"{base}/api/v1/alerts")
    assert isinstance(answer, dict)
    alerts = answer["data"]["alerts"]
    return {a["labels"]["alertname"]: a for a in alerts if a["state"] == "firing"}


@pytest.mark.parametrize("kind", BROKERS)
def test_a_lost_broker_fails_the_healthcheck_and_pages(kind: str, tmp_path: Path) -> None:
    binary = require_binary("prometheus")
    with running_broker(kind, tmp_path) as broker:
        settings = fresh_topics([broker.bootstrap], load_policy(), tag="s")
        port = free_port()
        worker = WorkerProcess(
            settings,
            ["--clock", "wall", "--store", "memory", "--metrics-port", str(port),
             *worker_flags(kind)],
            tmp_path / "worker.log",
        ).start()  # fmt: skip
        prom_port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(silence_rules(tmp_path))],
                    "scrape_configs": [
                        {
                            "job_name": "holdwatch-worker",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                        }
                    ],
                }
            )
        )
        log = (tmp_path / "prometheus.log").open("wb")
        prometheus = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{prom_port}"
        worker_log = tmp_path / "worker.log"
        try:
            wait_http_ok(f"{base}/-/ready", prometheus)
            give_up = time.monotonic() + 120
            # healthy, and its live clock known (its first ticks came back)
            while (check := health(port)).returncode != 0 or "live watermark" not in check.stdout:
                assert worker.running, worker_log.read_text()[-3000:]
                assert time.monotonic() < give_up, check.stdout + worker_log.read_text()[-3000:]
                time.sleep(1)
            assert check.stdout.startswith("healthy: Kafka answered"), check.stdout
            time.sleep(3)  # a few scrapes and evaluations with the broker up
            assert not set(firing(base)) & set(SILENCE)

            broker.stop()
            lost = time.monotonic()
            while (check := health(port)).returncode == 0:
                assert time.monotonic() - lost < HEALTH_LIMIT + REFRESH + 15, check.stdout
                time.sleep(0.5)
            assert check.returncode == 1
            print(f"{kind}: unhealthy {time.monotonic() - lost:.1f} s after the broker stopped")
            # Both reasons, whichever crossed its limit first: the broker gone, the clock stopped.
            while not ("no answer from Kafka for" in check.stdout and "stalled" in check.stdout):
                assert time.monotonic() - lost < HEALTH_LIMIT + 2 * REFRESH + 20, check.stdout
                time.sleep(0.5)
                check = health(port)
            assert check.returncode == 1

            give_up = lost + 60 + 60
            while not set(SILENCE) <= set(now := firing(base)):
                assert worker.running, worker_log.read_text()[-3000:]
                assert time.monotonic() < give_up, now
                time.sleep(1)
            print(f"{kind}: {', '.join(SILENCE)} firing {time.monotonic() - lost:.0f} s after")
            for name in SILENCE:
                assert now[name]["labels"]["instance"] == f"127.0.0.1:{port}"
                assert now[name]["labels"]["severity"] == "critical"
        finally:
            stop(prometheus)
            log.close()
            worker.stop()
