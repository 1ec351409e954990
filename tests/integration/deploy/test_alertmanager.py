"""Alertmanager config: amtool checks, routing, the webhook URL rendering, and a live
run of the real Alertmanager delivering to the bundled receiver, with inhibition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import (
    ALERTMANAGER_DIR,
    AM_CONFIG,
    PROMETHEUS_DIR,
    free_port,
    http_json,
    render_alertmanager,
    require_binary,
    run,
    running_alertmanager,
    stop,
    wait_http_ok,
)

CONFIG = AM_CONFIG
RECEIVER = ALERTMANAGER_DIR / "receiver.py"


def render(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return render_alertmanager(tmp_path / "rendered.yml", **env)


@pytest.mark.prometheus
def test_amtool_check_config() -> None:
    amtool = require_binary("amtool")
    res = run([amtool, "check-config", str(CONFIG)])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=HoldLimitExceeded", "severity=critical"], "holdwatch-critical"),
        (["alertname=WorkerDown", "severity=critical"], "holdwatch-critical"),
        (["alertname=ConsumerLagGrowing", "severity=warning"], "holdwatch-warning"),
        (["alertname=Something"], "holdwatch-warning"),
        (["alertname=Watchdog", "severity=none"], "holdwatch-watchdog"),
    ],
)
def test_routing_by_severity(labels: list[str], receiver: str) -> None:
    amtool = require_binary("amtool")
    res = run([amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == receiver


def test_default_render_keeps_the_sidecar_urls(tmp_path: Path) -> None:
    """As shipped, alertmanager.yml is the default rendering (HOLDWATCH_PAGER=log, the
    container's template path)."""
    res = render(tmp_path, AM_TEMPLATES_DIR="/etc/alertmanager/templates")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "rendered.yml").read_text() == CONFIG.read_text()


@pytest.mark.prometheus
def test_rendered_webhook_urls(tmp_path: Path) -> None:
    amtool = require_binary("amtool")
    crit = "https://hooks.example.org/holdwatch?token=a&b=c|d"
    res = render(
        tmp_path,
        HOLDWATCH_WEBHOOK_URL="https://relay.example.org/all",
        HOLDWATCH_WEBHOOK_URL_CRITICAL=crit,
        HOLDWATCH_WEBHOOK_URL_WATCHDOG="https://heartbeat.example.org/ping/holdwatch",
    )
    assert res.returncode == 0, res.stderr
    rendered = yaml.safe_load((tmp_path / "rendered.yml").read_text())
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in rendered["receivers"]}
    assert urls == {
        "holdwatch-critical": crit,
        "holdwatch-warning": "https://relay.example.org/all",
        # The dead man's switch goes to its own heartbeat service, never to the humans' URL.
        "holdwatch-watchdog": "https://heartbeat.example.org/ping/holdwatch",
    }
    check = run([amtool, "check-config", str(tmp_path / "rendered.yml")])
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("url", ["ftp://x", "http://a b", 'http://x"y', "not a url"])
def test_render_rejects_bad_urls(tmp_path: Path, url: str) -> None:
    res = render(tmp_path, HOLDWATCH_WEBHOOK_URL=url)
    assert res.returncode == 64, res.stderr
    assert not (tmp_path / "rendered.yml").exists()


def test_inhibition_targets_are_real_alerts() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    alert_names = set()
    for path in (PROMETHEUS_DIR / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            alert_names |= {r["alert"] for r in group["rules"] if "alert" in r}
    inhibit = config["inhibit_rules"]
    assert any('alertname="WorkerDown"' in r["source_matchers"] for r in inhibit)
    for rule in inhibit:
        for m in rule["source_matchers"] + rule["target_matchers"]:
            if m.startswith("alertname=~"):
                names = m.split("=~", 1)[1].strip('"')
            elif m.startswith("alertname="):
                names = m.split("=", 1)[1].strip('"')
            else:
                continue
            for name in names.split("|"):
                assert name in alert_names, f"inhibit rule names unknown alert {name}"
        # `cluster` comes from Prometheus' external_labels
        assert rule["equal"] == ["cluster"]
    prom = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert "cluster" in prom["global"]["external_labels"]


# ------------------------------------------------------------------ live run


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    out = tmp_path / "notifications.jsonl"
    env = {
        **os.environ,
        "HOLDWATCH_RECEIVER_HOST": "127.0.0.1",
        "HOLDWATCH_RECEIVER_PORT": str(port),
        "HOLDWATCH_RECEIVER_OUT": str(out),
    }
    proc = subprocess.Popen(
        [sys.executable, str(RECEIVER)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc)
        yield f"http://127.0.0.1:{port}", out
    finally:
        stop(proc)


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: tuple[str, Path]) -> Iterator[str]:
    base, _ = receiver
    with running_alertmanager(
        tmp_path / "alertmanager",
        HOLDWATCH_WEBHOOK_URL_CRITICAL=f"{base}/critical",
        HOLDWATCH_WEBHOOK_URL_WARNING=f"{base}/warning",
    ) as url:
        yield url


def _alert(name: str, severity: str, **labels: str) -> dict[str, object]:
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {"summary": f"test {name}"},
    }


@pytest.mark.prometheus
def test_alert_reaches_the_receiver_and_worker_down_inhibits_lag(
    alertmanager: str, receiver: tuple[str, Path]
) -> None:
    _, out = receiver
    alerts = [
        _alert("HoldLimitExceeded", "critical", cluster="holdwatch", rule="hold_limit_exceeded"),
        _alert("WorkerDown", "critical", cluster="holdwatch", instance="10.0.0.7:9108"),
        _alert("ConsumerLagGrowing", "warning", cluster="holdwatch", topic="holdwatch.bookings"),
        _alert("ConsumerLagGrowing", "warning", cluster="elsewhere", topic="holdwatch.bookings"),
    ]
    http_json(f"{alertmanager}/api/v2/alerts", data=json.dumps(alerts).encode())

    # Inhibition: only the lag alert of the cluster with a dead worker is suppressed.
    deadline = time.monotonic() + 30
    states: dict[tuple[str, str], str] = {}
    while time.monotonic() < deadline:
        got = http_json(f"{alertmanager}/api/v2/alerts")
        assert isinstance(got, list)
        states = {
            (a["labels"]["alertname"], a["labels"]["cluster"]): a["status"]["state"] for a in got
        }
        if states.get(("ConsumerLagGrowing", "holdwatch")) == "suppressed":
            break
        time.sleep(0.5)
    assert states == {
        ("HoldLimitExceeded", "holdwatch"): "active",
        ("WorkerDown", "holdwatch"): "active",
        ("ConsumerLagGrowing", "holdwatch"): "suppressed",
        ("ConsumerLagGrowing", "elsewhere"): "active",
    }

    # Delivery: critical alerts reach the webhook within the 5 s group_wait.
    deadline = time.monotonic() + 45
    seen: set[str] = set()
    while time.monotonic() < deadline and not {"HoldLimitExceeded", "WorkerDown"} <= seen:
        if out.exists():
            for line in out.read_text().splitlines():
                note = json.loads(line)
                if note["path"] == "/critical":
                    assert note["receiver"] == "holdwatch-critical"
                    seen |= {a["labels"]["alertname"] for a in note["alerts"]}
        time.sleep(0.5)
    assert {"HoldLimitExceeded", "WorkerDown"} <= seen, out.read_text() if out.exists() else ""
