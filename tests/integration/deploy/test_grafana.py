"""Grafana provisioning and dashboards: valid JSON, unique ids, known data sources,
every PromQL expression accepted by a real Prometheus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import GRAFANA_DIR
from .promql import dashboard_expressions, dashboard_files, iter_panels

PROVISIONED_UIDS = {"holdwatch-prometheus", "holdwatch-alertmanager"}
DASHBOARDS = {p.name: p for p in dashboard_files()}


def _datasources() -> list[dict[str, Any]]:
    out = []
    for path in (GRAFANA_DIR / "provisioning" / "datasources").glob("*.y*ml"):
        out.extend(yaml.safe_load(path.read_text())["datasources"])
    return out


def _load(name: str) -> dict[str, Any]:
    return json.loads(DASHBOARDS[name].read_text())  # type: ignore[no-any-return]


def test_expected_dashboards_exist() -> None:
    assert {"overview.json", "hold-limit.json"} <= set(DASHBOARDS)


def test_datasources_have_the_fixed_uids() -> None:
    ds = {d["uid"]: d for d in _datasources()}
    assert set(ds) == PROVISIONED_UIDS
    assert ds["holdwatch-prometheus"]["type"] == "prometheus"
    assert ds["holdwatch-prometheus"]["url"] == "http://prometheus:9090"
    assert ds["holdwatch-prometheus"]["jsonData"]["alertmanagerUid"] == "holdwatch-alertmanager"
    assert ds["holdwatch-alertmanager"]["type"] == "alertmanager"
    assert ds["holdwatch-alertmanager"]["url"] == "http://alertmanager:9093"
    assert ds["holdwatch-alertmanager"]["jsonData"]["implementation"] == "prometheus"


def test_dashboard_provider_points_at_the_mounted_dir() -> None:
    (provider,) = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "holdwatch.yml").read_text()
    )["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((GRAFANA_DIR.parents[1] / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_structure(name: str) -> None:
    dash = _load(name)
    assert dash["uid"] and dash["title"]
    panels = list(iter_panels(dash["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}: {ids}"
    assert all(isinstance(i, int) for i in ids)
    ds_names = {d["name"] for d in _datasources()}
    for p in panels:
        where = f"{name} panel {p['id']} {p.get('title')!r}"
        ds = p.get("datasource")
        if p.get("targets"):
            assert ds, f"{where}: panel with targets and no datasource"
        if ds is not None:
            assert isinstance(ds, dict) and ds.get("uid") in PROVISIONED_UIDS, where
        for t in p.get("targets", []) or []:
            tds = t.get("datasource", ds)
            assert isinstance(tds, dict) and tds.get("uid") in PROVISIONED_UIDS, where
            assert t.get("expr"), f"{where}: target {t.get('refId')} without expr"
        if p["type"] == "alertlist":
            assert p["options"]["datasource"] in ds_names, where
    for var in dash.get("templating", {}).get("list", []):
        if "datasource" in var:
            assert var["datasource"]["uid"] in PROVISIONED_UIDS


def test_dashboard_uids_unique() -> None:
    uids = [_load(n)["uid"] for n in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_overview_covers_the_required_views() -> None:
    exprs = " ".join(e.expr for e in dashboard_expressions([DASHBOARDS["overview.json"]]))
    for needle in (
        "holdwatch:alerts:rate5m",  # alerts by rule
        "holdwatch:active_holds",  # holds open by jurisdiction
        "holdwatch:holds_past_deadline",  # holds past the limit by jurisdiction
        "holdwatch:events:rate1m",  # throughput
        "p50_5m",
        "p95_5m",
        "p99_5m",  # hot path
        "holdwatch:consumer_lag",  # lag
        "holdwatch:dead_letters",  # dead letters by reason
        "holdwatch_watermark_seconds",  # watermark
        "holdwatch_jurisdiction_low_priority_share",
        "holdwatch_low_priority_share_baseline",
    ):
        assert needle in exprs, needle


def test_hold_limit_dashboard_has_alert_list() -> None:
    dash = _load("hold-limit.json")
    types = {p["type"] for p in iter_panels(dash["panels"])}
    assert "alertlist" in types
    exprs = " ".join(e.expr for e in dashboard_expressions([DASHBOARDS["hold-limit.json"]]))
    assert "holdwatch:holds_past_deadline:sum_by_jurisdiction" in exprs
    assert 'ALERTS{alertname="HoldLimitExceeded"' in exprs


@pytest.mark.prometheus
@pytest.mark.parametrize("expr", dashboard_expressions(), ids=str)
def test_dashboard_expression_parses(prometheus_server, expr) -> None:  # type: ignore[no-untyped-def]
    result = prometheus_server.query(expr.query)
    assert result.get("status") == "success", f"{expr}\n-> {expr.query}\n-> {result}"


def test_files_are_valid_json() -> None:
    for path in Path(GRAFANA_DIR / "dashboards").glob("*"):
        json.loads(path.read_text())
