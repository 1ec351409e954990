"""What a page says (issue 13 §3): the jurisdiction, the rule, how many holds are past their
deadline, and where to look, as absolute links built from one setting, HOLDWATCH_PUBLIC_URL:
the Hold limit dashboard filtered to the jurisdiction (``var-jurisdiction=``) and the runbook.

On the starting main the runbook links were relative ("docs/operations.md#...") and no alert had
a dashboard link, so every test here failed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from .conftest import (
    ALERTMANAGER_DIR,
    COMPOSE_FILE,
    GRAFANA_DIR,
    PROMETHEUS_DIR,
    Capture,
    compose_prometheus_flags,
    free_port,
    running_alertmanager,
    running_prometheus,
    shipped_prometheus_config,
)
from .promql import iter_panels

PUBLIC_URL = "https://holdwatch.example.org"
LINK_PREFIX = "{{ $externalLabels.public_url }}/"


def _alert_rules() -> dict[str, dict[str, Any]]:
    rules = {}
    for path in (PROMETHEUS_DIR / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules |= {r["alert"]: r for r in group["rules"] if "alert" in r}
    return rules


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


# ------------------------------------------------------------------ one setting


def test_every_runbook_link_is_built_from_the_public_url() -> None:
    for name, rule in _alert_rules().items():
        url = rule["annotations"]["runbook_url"]
        assert url == f"{LINK_PREFIX}docs/operations.md#{name.lower()}", name
        dashboard = rule["annotations"].get("dashboard_url")
        assert dashboard is None or dashboard.startswith(f"{LINK_PREFIX}grafana/d/"), name


def test_public_url_is_one_setting_for_prometheus_and_grafana() -> None:
    """Prometheus expands ${HOLDWATCH_PUBLIC_URL} into the external label the links use
    (only with the feature flag); Grafana serves itself under the same URL's /grafana/; both
    fall back to the same loopback demo address."""
    prometheus = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert prometheus["global"]["external_labels"]["public_url"] == "${HOLDWATCH_PUBLIC_URL}"
    services = _compose()["services"]
    assert "--enable-feature=expand-external-labels" in compose_prometheus_flags()
    setting = services["prometheus"]["environment"]["HOLDWATCH_PUBLIC_URL"]
    assert setting == "${HOLDWATCH_PUBLIC_URL:-http://127.0.0.1:3000}"
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SERVER_ROOT_URL"] == f"{setting}/grafana/"
    assert grafana["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"


def test_the_dashboard_link_selects_the_jurisdiction_on_the_hold_limit_dashboard() -> None:
    """The link names the Hold limit dashboard's uid and its `jurisdiction` variable, and every
    panel of that dashboard that can be split by jurisdiction honours the variable."""
    link = _alert_rules()["HoldLimitExceeded"]["annotations"]["dashboard_url"]
    path, _, query = link.removeprefix(LINK_PREFIX).partition("?")
    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "hold-limit.json").read_text())
    assert path == f"grafana/d/{dashboard['uid']}"
    assert query == "var-jurisdiction={{ $labels.jurisdiction | urlquery }}"
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "jurisdiction"]
    assert variable["type"] == "query" and "jurisdiction" in variable["query"]["query"]
    per_jurisdiction = ("holdwatch_holds_past_deadline", "holds_past_deadline:", "ALERTS{")
    for panel in iter_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = target["expr"]
            if any(m in expr for m in per_jurisdiction):
                assert 'jurisdiction=~"$jurisdiction"' in expr, (panel["title"], expr)


# ------------------------------------------------------------------ rendered, for real


class StaticWorker:
    """Stands in for a worker's /metrics: two jurisdictions, one with holds past the limit."""

    BODY = (
        b"# TYPE holdwatch_holds_past_deadline gauge\n"
        b'holdwatch_holds_past_deadline{jurisdiction="TX-Travis"} 2\n'
        b'holdwatch_holds_past_deadline{jurisdiction="IL-Cook"} 0\n'
    )

    def __init__(self) -> None:
        body = self.BODY

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def static_worker() -> Iterator[StaticWorker]:
    worker = StaticWorker()
    try:
        yield worker
    finally:
        worker.close()


@pytest.mark.prometheus
def test_a_hold_limit_page_says_where_and_how_many_with_absolute_links(
    tmp_path: Any, capture: Capture, static_worker: StaticWorker
) -> None:
    """Prometheus 2.42 as compose starts it (shipped config and rules, its feature flags,
    HOLDWATCH_PUBLIC_URL) fires HoldLimitExceeded for the jurisdiction with holds past the
    limit; the shipped Alertmanager config and templates, with HOLDWATCH_PAGER=slack, post it
    to a local Slack stand-in. The message names the jurisdiction, the rule and the count,
    and links to the filtered dashboard and the runbook, both absolute."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "holdwatch_slack_api_url").write_text(f"{capture.url}/slack")
    prom_port = free_port()
    with running_alertmanager(
        tmp_path / "am",
        HOLDWATCH_PAGER="slack",
        HOLDWATCH_SECRETS_DIR=str(secrets),
        HOLDWATCH_WEBHOOK_URL_WATCHDOG=f"{capture.url}/watchdog",
        AM_TEMPLATES_DIR=str(ALERTMANAGER_DIR / "templates"),
    ) as alertmanager:
        config = shipped_prometheus_config(
            static_worker.address,
            alertmanager.removeprefix("http://"),
            f"127.0.0.1:{prom_port}",
        )
        with running_prometheus(tmp_path / "prometheus", config, prom_port, PUBLIC_URL):
            slack = capture.wait_for("/slack", timeout=150)["body"]

    [attachment] = slack["attachments"]
    dashboard = f"{PUBLIC_URL}/grafana/d/holdwatch-hold-limit?var-jurisdiction=TX-Travis"
    runbook = f"{PUBLIC_URL}/docs/operations.md#holdlimitexceeded"
    assert attachment["title"] == "[FIRING:1] HoldLimitExceeded in TX-Travis"
    assert attachment["title_link"] == dashboard
    text = attachment["text"]
    print(f"--- the Slack message ---\n{attachment['title']}\n{text}")
    assert text.startswith("2 detainer hold(s) past the 48-hour limit in TX-Travis\n")
    assert "2 person(s) in TX-Travis are held" in text
    assert "Rule: hold_limit_exceeded | Severity: critical | Jurisdiction: TX-Travis" in text
    assert f"Dashboard: {dashboard}\n" in text
    assert f"Runbook: {runbook}\n" in text
    assert "IL-Cook" not in text  # no holds past the limit there: no page
    links = re.findall(r"https?://\S+", text)
    assert links == [dashboard, runbook]
    assert parse_qs(urlsplit(dashboard).query) == {"var-jurisdiction": ["TX-Travis"]}


def test_grafana_healthcheck_asks_under_its_sub_path() -> None:
    """Grafana (10.x) may answer a request outside its sub-path with a redirect to the public
    URL, which the container cannot reach: the healthcheck asks under /grafana/ itself."""
    test = _compose()["services"]["grafana"]["healthcheck"]["test"]
    assert test[-1] == "http://127.0.0.1:3000/grafana/api/health"
