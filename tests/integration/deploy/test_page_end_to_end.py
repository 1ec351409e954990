"""From a deadline to a page, with the shipped configuration and real components.

Apache Kafka as docker-compose.yml configures it, a live worker (wall clock), Prometheus started
with deploy/prometheus/prometheus.yml (its shipped intervals and rule files; only the targets
rewritten from compose's service names to this test's processes), and Alertmanager with
deploy/alertmanager/alertmanager.yml rendered by its entry point for a webhook receiver. A hold
whose 48 hours end ``LEAD`` seconds from now is produced into the input topics; nothing else
happens. The page must reach the receiver within :data:`BUDGET` seconds of the deadline and say
what is wrong and where: the rule, the jurisdiction, how many holds, and absolute links to the
filtered dashboard and the runbook (Prometheus started with compose's flags and
HOLDWATCH_PUBLIC_URL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from streams.contract import timestamps
from streams.kafka.broker import BrokerProcess
from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.run import WorkerProcess, fresh_topics
from tests.integration.brokers import running_broker, worker_flags
from tests.support import Events

from .conftest import free_port, running_prometheus, shipped_prometheus_config
from .test_alertmanager import alertmanager, receiver  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

PUBLIC_URL = "https://holdwatch.example.org"
LEAD = 20.0  # seconds from the start of the test to the deadline
BUDGET = 60.0  # deadline -> notification, with the shipped intervals (issue 13)


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[BrokerProcess]:
    with running_broker("kafka", tmp_path) as broker:
        yield broker


def test_a_passed_deadline_pages_within_a_minute(
    kafka: BrokerProcess,
    alertmanager: str,  # noqa: F811  (the fixture imported above)
    receiver: tuple[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    settings: KafkaSettings = fresh_topics([kafka.bootstrap], load_policy(), tag="p")
    metrics_port = free_port()
    worker = WorkerProcess(
        settings,
        ["--clock", "wall", "--store", "memory", "--metrics-port", str(metrics_port),
         "--metrics-host", "127.0.0.1", *worker_flags("kafka")],
        tmp_path / "worker.log",
    ).start()  # fmt: skip
    prom_port = free_port()
    am_host = alertmanager.removeprefix("http://")
    config = shipped_prometheus_config(
        f"127.0.0.1:{metrics_port}", am_host, f"127.0.0.1:{prom_port}"
    )
    _, out = receiver
    with ExitStack() as stack:
        stack.callback(worker.stop)
        server = stack.enter_context(
            running_prometheus(tmp_path / "prometheus", config, prom_port, PUBLIC_URL)
        )
        give_up = time.monotonic() + 60
        while not server.query("up{job='holdwatch-worker'} == 1")["data"]["result"]:  # type: ignore[index]
            assert time.monotonic() < give_up, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(1)

        now = time.time_ns() // 1000
        deadline = now + int(LEAD * timestamps.MICROS)
        eligible = deadline - 48 * timestamps.HOUR  # the 2017 form: 48 elapsed hours
        ev = Events("bk-page", "America/New_York")
        at = timestamps.isoformat
        topics = settings.topics
        producer = KafkaProducer(bootstrap_servers=list(settings.brokers))
        for topic, event in [
            (topics.bookings, ev.booking(at(eligible - 30 * timestamps.HOUR))),
            (topics.hits, ev.hit(at(eligible - 29 * timestamps.HOUR))),
            (
                topics.detainers,
                ev.detainer(at(eligible - 28 * timestamps.HOUR), form="I-247A-2017"),
            ),
            (topics.detainers, ev.detainer(at(eligible - 27 * timestamps.HOUR), action="served")),
            (topics.releases, ev.release(at(eligible), "eligible")),
        ]:
            producer.send(topic, key=b"bk-page", value=orjson.dumps(event))
        producer.flush()
        producer.close()

        page: dict[str, Any] | None = None
        give_up = time.monotonic() + LEAD + BUDGET + 30
        while page is None and time.monotonic() < give_up:
            if out.exists():
                for line in out.read_text().splitlines():
                    note = json.loads(line)
                    for alert in note["alerts"]:
                        if alert["labels"]["alertname"] == "HoldLimitExceeded":
                            page = {"note": note, "alert": alert, "at": time.time_ns() // 1000}
            time.sleep(0.5)
        assert page is not None, (tmp_path / "worker.log").read_text()[-2000:]
        seconds = (page["at"] - deadline) / timestamps.MICROS
        print(f"deadline -> notification: {seconds:.1f} s")
        assert 0 < seconds <= BUDGET
        alert = page["alert"]
        assert page["note"]["receiver"] == "holdwatch-critical"
        assert alert["labels"]["jurisdiction"] == "NY-NewYorkCity"
        assert alert["labels"]["rule"] == "hold_limit_exceeded"
        assert alert["annotations"]["summary"].startswith("1 detainer hold(s) past")
        assert "NY-NewYorkCity" in alert["annotations"]["description"]
        assert alert["annotations"]["dashboard_url"] == (
            f"{PUBLIC_URL}/grafana/d/holdwatch-hold-limit?var-jurisdiction=NY-NewYorkCity"
        )
        assert alert["annotations"]["runbook_url"] == (
            f"{PUBLIC_URL}/docs/operations.md#holdlimitexceeded"
        )
