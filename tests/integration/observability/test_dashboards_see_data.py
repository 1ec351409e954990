"""Real components end to end: a worker on the embedded broker, the real Prometheus scraping it
with the repository's rule files, a replay through Kafka, then every PromQL expression of the
dashboards and rules through Prometheus' HTTP API. Keeps dashboards from drifting away from the
metrics the code really exports."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import date

import orjson
import pytest

from streams.generate import generate
from streams.kafka.broker import EmbeddedBroker
from streams.policy.load import load_policy
from streams.streaming.kafka_replay import KafkaReplay
from streams.streaming.run import WorkerProcess, event_worker_args, fresh_topics
from tests.integration.deploy.conftest import (
    PrometheusServer,
    free_port,
    require_binary,
    stop,
    wait_http_ok,
)
from tests.integration.deploy.promql import RULES_DIR, all_expressions
from tests.support import Events

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

# Alerting rules only return series while they fire; these must fire after this replay.
MUST_FIRE = {"HoldLimitExceeded", "DeadLettersAppearing"}


def held_past_the_limit() -> list[bytes]:
    """A person still held when the log ends, long past the deadline: the hold gauges see them."""
    ev = Events("bk-still-held", "America/Phoenix")
    events = [
        ev.booking("2011-11-30 08:00", jurisdiction="AZ-Maricopa"),
        ev.hit("2011-11-30 09:00"),
        ev.detainer("2011-11-30 10:00", form="I-247-2011"),
        ev.detainer("2011-11-30 11:00", action="served"),
        ev.release("2011-11-30 23:00", "eligible"),
    ]
    return [orjson.dumps(e) for e in events]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    binary = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("observability")
    metrics_port = free_port()
    with EmbeddedBroker() as broker:
        settings = fresh_topics([broker.bootstrap], load_policy(), tag="o")
        worker = WorkerProcess(
            settings, event_worker_args(metrics_port), tmp / "worker.log"
        ).start()
        prom_port = free_port()
        rules = "\n".join(f"  - {path}" for path in sorted(RULES_DIR.glob("*.yml")))
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n{rules}\n"
            "scrape_configs:\n  - job_name: holdwatch-worker\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
        )
        log = (tmp / "prometheus.log").open("wb")
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{prom_port}"
            wait_http_ok(f"{base}/-/ready", prometheus)
            server = PrometheusServer(base)
            deadline = time.monotonic() + 60
            # A monitor that starts after the alerts cannot see them increase: scrape first.
            while (
                time.monotonic() < deadline
                and not server.query("up{job='holdwatch-worker'} == 1")["data"]["result"]
            ):  # type: ignore[index]
                time.sleep(0.5)
            lines = [
                *held_past_the_limit(),
                *generate(1500, 5, date(2011, 12, 1), 150),
                b"{not json",
                b'{"type": "hit"}',
            ]
            KafkaReplay(settings, load_policy()).run(lines, None, lambda a: None, lambda d: None)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:  # gauges refresh every 2 s; rules evaluate every 1 s
                # ... and the recording group (its own, longer interval) has evaluated with data.
                ready = server.query(
                    "sum(holdwatch_holds_past_deadline) > 0 and sum(increase(holdwatch_alerts_total[1m])) > 0"
                    " and on() count(holdwatch:events:rate1m) > 0"
                    " and on() max(holdwatch:holds_past_deadline:sum_by_jurisdiction) > 0"
                )
                if ready["data"]["result"]:  # type: ignore[index]
                    break
                time.sleep(1)
            time.sleep(3)
            yield server
        finally:
            stop(prometheus)
            log.close()
            worker.stop()


@pytest.mark.parametrize(
    "expression", all_expressions(), ids=lambda e: f"{e.source.split('/')[-1]}:{e.where}"[:90]
)
def test_every_expression_returns_data(scraped: PrometheusServer, expression) -> None:  # type: ignore[no-untyped-def]
    answer = scraped.query(expression.query)
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]  # type: ignore[index]
    if expression.kind != "alerting" or any(name in expression.where for name in MUST_FIRE):
        assert result, f"{expression.where}: no data for {expression.query}"
