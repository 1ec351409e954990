"""docker-compose.yml's Holdwatch services, run for real without Docker.

No Docker engine runs here, so the compose stack is exercised piece by piece as far as a
machine without one allows: the ``kafka`` service's configuration starts Apache Kafka
(``streams/kafka/apache.py``); the ``topics``, ``worker``, ``replay-worker`` and ``replay``
services' commands then run verbatim as processes, with only what Docker would provide mapped
to this machine: the host name ``kafka`` to the test broker, ``/run/secrets/*`` to key files made
by the documented one-liner, ``/data`` and ``/out`` to temporary files (``/data/sample.jsonl.gz``
made by the Dockerfile's own ``holdwatch generate`` line), the metrics port to a free one. The
worker's healthcheck command runs verbatim against it too.
"""

from __future__ import annotations

import gzip
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streams.kafka.broker import BrokerProcess, free_port
from streams.policy.load import load_policy
from tests.integration.brokers import running_broker
from tests.support import alert_set, replay

from .conftest import COMPOSE_FILE, REPO_ROOT

pytestmark = pytest.mark.kafka

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"


def services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]  # type: ignore[no-any-return]


class Host:
    """What Docker would provide to a container, on this machine."""

    def __init__(self, broker: BrokerProcess, root: Path) -> None:
        self.broker = broker
        self.root = root
        self.secrets = root / "run-secrets"
        self.data = root / "data"
        self.out = root / "out"
        for folder in (self.data, self.out):
            folder.mkdir()
        self.metrics_port = free_port()

    def argv(self, service: str) -> list[str]:
        """The service's command, with the container's names mapped to this machine's."""
        return [self.map(str(arg)) for arg in services()[service]["command"]]

    def map(self, text: str) -> str:
        text = text.replace("kafka://kafka:9092", self.broker.url)
        text = text.replace("/run/secrets/", f"{self.secrets}/")
        text = text.replace("/data/", f"{self.data}/").replace("/out/", f"{self.out}/")
        text = text.replace("/var/lib/holdwatch/", f"{self.root}/var-lib-holdwatch/")
        return text.replace("9108", str(self.metrics_port))

    def env(self, service: str) -> dict[str, str]:
        declared = services()[service].get("environment") or {}
        mapped = {key: self.map(str(value)) for key, value in declared.items()}
        # Each container has a /tmp of its own (the worker's RocksDB lives there by default).
        tmp = self.root / "tmp" / service
        tmp.mkdir(parents=True, exist_ok=True)
        return {**os.environ, **mapped, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp)}

    def run(self, service: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams", *self.argv(service)],
            env=self.env(service),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def start(self, service: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{service}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", "streams", *self.argv(service)],
            env=self.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """By PID (its own process group), as every test here stops only what it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(10)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("compose")
    with running_broker("kafka", root) as broker:
        host = Host(broker, root)
        # The documented one-liner (docs/operations.md, compose header) makes the secrets.
        [line] = [
            x
            for x in (REPO_ROOT / "docs" / "operations.md").read_text().splitlines()
            if x.startswith("(umask 077; mkdir -p deploy/secrets")
        ]
        subprocess.run(["bash", "-c", line], cwd=root, check=True)
        host.secrets.mkdir()
        # The Holdwatch services' secrets (Alertmanager's receiver credentials are not theirs).
        declared = yaml.safe_load(COMPOSE_FILE.read_text())["secrets"]
        for name in services()["worker"]["secrets"]:
            (host.secrets / name).write_bytes((root / declared[name]["file"]).read_bytes())
        # The image's sample log, made by the Dockerfile's own command.
        [generate] = re.findall(r"holdwatch (generate [^&\n]+)", DOCKERFILE.read_text())
        made = subprocess.run(
            [sys.executable, "-m", "streams", *shlex.split(host.map(generate.strip()))],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stderr
        yield host


def test_topics_service_creates_the_topics_and_exits_0(host: Host) -> None:
    result = host.run("topics")
    assert result.returncode == 0, result.stderr[-2000:]
    again = host.run("topics")  # a restart of the one-shot service changes nothing
    assert again.returncode == 0, again.stderr[-2000:]


def test_the_worker_runs_in_production_and_its_healthcheck_passes(host: Host) -> None:
    assert host.run("topics").returncode == 0
    worker = host.start("worker")
    try:
        check = [host.map(str(arg)) for arg in services()["worker"]["healthcheck"]["test"][1:]]
        if check[0] == "holdwatch":  # the image's console script
            check = [sys.executable, "-m", "streams", *check[1:]]
        give_up = time.monotonic() + 90
        while True:
            assert worker.poll() is None, (host.root / "worker.log").read_text()[-3000:]
            done = subprocess.run(check, capture_output=True, timeout=30, env=host.env("worker"))
            if done.returncode == 0:
                break
            assert time.monotonic() < give_up, "the worker's healthcheck never passed"
            time.sleep(1)
        # the RocksDB state in the worker's slot on the data volume
        slots = sorted(p.name for p in (host.root / "var-lib-holdwatch" / "state").iterdir())
        assert slots == ["worker-0", "worker-0.lock"], slots
    finally:
        stop(worker)


def test_the_replay_profile_gives_the_in_process_alerts(host: Host) -> None:
    worker = host.start("replay-worker")
    try:
        result = host.run("replay", timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        stop(worker)
    sample = host.data / "sample.jsonl.gz"
    expected, _, _ = replay(load_policy(), gzip.decompress(sample.read_bytes()).splitlines())
    alerts = [orjson.loads(line) for line in (host.out / "alerts.jsonl").read_bytes().splitlines()]
    assert alerts and alert_set(alerts) == alert_set(expected)
