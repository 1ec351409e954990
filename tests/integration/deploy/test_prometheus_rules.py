"""Prometheus config, rules and their promtool unit tests; rule conventions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .conftest import PROMETHEUS_DIR, require_binary, run
from .promql import all_expressions, rule_expressions, rule_files

RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))

#: The worker metrics contract (base names, without _total/_bucket/_sum/_count).
CONTRACT_METRICS = {
    "holdwatch_events",
    "holdwatch_late_events",
    "holdwatch_dead_letters",
    "holdwatch_alerts",
    "holdwatch_stage_latency_seconds",
    "holdwatch_event_time_lag_seconds",
    "holdwatch_deadline_alert_lag_seconds",
    "holdwatch_open_cases",
    "holdwatch_active_holds",
    "holdwatch_holds_past_deadline",
    "holdwatch_jurisdiction_low_priority_share",
    "holdwatch_low_priority_share_baseline",
    "holdwatch_consumer_lag",
    "holdwatch_watermark_seconds",
    "holdwatch_bookings_unlisted_jurisdiction",
    "holdwatch_inconsistent_facts_ignored",
    "holdwatch_live_mode",
    "holdwatch_broker_last_fetch_timestamp_seconds",
    "holdwatch_messages_received",
    "holdwatch_rebalances",
    "holdwatch_input_reread",
}
REQUIRED_ALERTS = {
    "HoldLimitExceeded",
    "DetainerOnCitizen",
    "PolicyAlertsRate",
    "HotPathLatencyHigh",
    "ConsumerLagGrowing",
    "DeadLettersAppearing",
    "WorkerDown",
    "Watchdog",
    "AlertmanagerNotificationsFailing",
    "DeadlineAlertLate",
    "BrokerUnreachable",
    "WatermarkStalled",
    "InputRecordsLost",
}
#: Always firing by design (a dead man's switch): it has no quiet case, and its severity is
#: "none" (its own route, never a human's receiver).
ALWAYS_FIRING = {"Watchdog"}


def _rules() -> list[dict[str, object]]:
    out = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            out.extend(group["rules"])
    return out


def _alerts() -> list[dict[str, object]]:
    return [r for r in _rules() if "alert" in r]


# ------------------------------------------------------------------ promtool


@pytest.mark.prometheus
def test_promtool_check_config() -> None:
    promtool = require_binary("promtool")
    res = run([promtool, "check", "config", "prometheus.yml"], cwd=PROMETHEUS_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(rule_files())} rule files found" in res.stdout + res.stderr


@pytest.mark.prometheus
def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    res = run([promtool, "check", "rules", *map(str, rule_files())])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.prometheus
def test_promtool_unit_tests() -> None:
    promtool = require_binary("promtool")
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests"
    res = run(
        [promtool, "test", "rules", *(p.name for p in RULE_TESTS)], cwd=PROMETHEUS_DIR / "tests"
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.prometheus
def test_every_expression_parses_in_a_real_prometheus(prometheus_server) -> None:  # type: ignore[no-untyped-def]
    """Rules and dashboard expressions, through /api/v1/query (see test_grafana too)."""
    failures = []
    for e in all_expressions():
        result = prometheus_server.query(e.query)
        if result.get("status") != "success":
            failures.append(f"{e}\n    -> {result.get('error')}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------ conventions


def test_required_alerts_exist() -> None:
    names = {a["alert"] for a in _alerts()}
    assert names >= REQUIRED_ALERTS, REQUIRED_ALERTS - names


@pytest.mark.parametrize("rule", _alerts(), ids=lambda r: str(r["alert"]))
def test_alert_has_severity_and_annotations(rule: dict[str, object]) -> None:
    labels = rule.get("labels") or {}
    assert isinstance(labels, dict)
    allowed = {"none"} if rule["alert"] in ALWAYS_FIRING else {"critical", "warning"}
    assert labels.get("severity") in allowed
    annotations = rule.get("annotations") or {}
    assert isinstance(annotations, dict)
    for key in ("summary", "description", "runbook_url"):
        assert annotations.get(key), f"{rule['alert']}: annotation {key} missing"
    anchor = str(annotations["runbook_url"]).split("#", 1)[1]
    ops = (PROMETHEUS_DIR.parents[1] / "docs" / "operations.md").read_text()
    assert re.search(rf"^#+ .*\b{re.escape(str(rule['alert']))}\b", ops, re.M), (
        f"docs/operations.md has no heading for {rule['alert']} (runbook #{anchor})"
    )
    # The link lands on it: GitHub's anchor of a heading is its text, lower case, spaces -> '-'.
    anchors = {
        re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", ops, re.M)
    }
    assert anchor in anchors, f"runbook_url #{anchor} names no heading of docs/operations.md"


def test_critical_policy_alerts() -> None:
    by_name = {a["alert"]: a for a in _alerts()}
    for name in ("HoldLimitExceeded", "DetainerOnCitizen", "WorkerDown"):
        assert by_name[name]["labels"]["severity"] == "critical"  # type: ignore[index]


def _unit_tests() -> list[dict[str, object]]:
    tests: list[dict[str, object]] = []
    for path in RULE_TESTS:
        tests.extend(yaml.safe_load(path.read_text())["tests"])
    return tests


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for t in _unit_tests():
        for case in t.get("alert_rule_test", []) or []:  # type: ignore[union-attr]
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {str(a["alert"]) for a in _alerts()}
    assert names - firing == set(), f"never tested firing: {names - firing}"
    assert names - quiet - ALWAYS_FIRING == set(), f"never tested not firing: {names - quiet}"


def test_every_recording_rule_is_unit_tested() -> None:
    tested = set()
    for t in _unit_tests():
        for case in t.get("promql_expr_test", []) or []:  # type: ignore[union-attr]
            tested.update(re.findall(r"holdwatch:[\w:]+", case["expr"]))
    recorded = {str(r["record"]) for r in _rules() if "record" in r}
    assert recorded - tested == set(), f"recording rules without a test: {recorded - tested}"


def test_expressions_use_only_contract_metrics_and_defined_recordings() -> None:
    """A typo in a metric name would make a panel or an alert silently empty."""
    recorded = {str(r["record"]) for r in _rules() if "record" in r}
    problems = []
    for e in all_expressions():
        for name in re.findall(r"\bholdwatch_[a-z_]+", e.expr):
            base = re.sub(r"_(total|bucket|sum|count)$", "", name)
            if base not in CONTRACT_METRICS:
                problems.append(f"{e.where}: {name} is not in the metrics contract")
        for name in re.findall(r"holdwatch:[\w:]+", e.expr):
            if name not in recorded:
                problems.append(f"{e.where}: recording rule {name} is not defined")
    assert not problems, "\n".join(problems)


def test_rule_expressions_found() -> None:
    kinds = {e.kind for e in rule_expressions()}
    assert kinds == {"recording", "alerting"}


def test_scrape_config_discovers_every_worker_replica() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    worker = jobs["holdwatch-worker"]
    assert worker.get("metrics_path", "/metrics") == "/metrics"
    (sd,) = worker["dns_sd_configs"]
    assert sd == {**sd, "names": ["worker"], "type": "A", "port": 9108}
    assert "prometheus" in jobs
    targets = [
        t
        for am in config["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    assert config["rule_files"] == ["rules/*.yml"]
    assert Path(PROMETHEUS_DIR / "rules").is_dir()
