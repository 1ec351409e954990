"""Every PromQL expression of the Holdwatch deploy files, ready to send to Prometheus.

Sources: the Prometheus rule files (``deploy/prometheus/rules/*.yml``: recording and
alerting rules) and the Grafana dashboards (``deploy/grafana/dashboards/*.json``:
panel targets, including panels nested in collapsed rows, and query variables).

Grafana expressions contain macros and template variables (``$__rate_interval``,
``$jurisdiction``); :func:`render` replaces them with values Prometheus accepts, so
``expr.query`` can go straight to ``/api/v1/query``. A ``label_values(...)`` variable
query is turned into the selector whose series it lists.

Typical use (a real-component test that must see data for every expression)::

    from tests.integration.deploy.promql import all_expressions
    for e in all_expressions():
        if e.kind == "alerting":      # only returns series while the alert fires
            continue
        result = query(e.query)       # your HTTP call
        assert result, f"{e.where}: no data for {e.query}"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY_DIR = REPO_ROOT / "deploy"
RULES_DIR = DEPLOY_DIR / "prometheus" / "rules"
DASHBOARDS_DIR = DEPLOY_DIR / "grafana" / "dashboards"

#: Grafana's built-in interval macros, with values fit for a 15 s scrape interval.
GRAFANA_MACROS: Mapping[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
#: Value for dashboard template variables not given to :func:`render`: every
#: variable here is used as a regex matcher (``=~"$jurisdiction"``).
DEFAULT_VARIABLE_VALUE = ".*"

_VAR_RE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")
_LABEL_VALUES_RE = re.compile(r"^\s*label_values\((?:(.*),\s*)?(\w+)\s*\)\s*$", re.S)


@dataclass(frozen=True)
class PromQLExpr:
    """One expression and where it lives."""

    source: str  #: path relative to the repository root
    where: str  #: human-readable location (group/rule, or panel/target, or variable)
    kind: str  #: "recording" | "alerting" | "panel" | "variable"
    expr: str  #: as written in the file
    name: str | None = None  #: recorded metric / alert name / panel title / variable name

    @property
    def query(self) -> str:
        """The expression with Grafana macros and variables replaced (see :func:`render`)."""
        if self.kind == "variable":
            return variable_query_to_promql(self.expr)
        return render(self.expr)

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.expr.strip()}"


def render(expr: str, variables: Mapping[str, str] | None = None) -> str:
    """Replace Grafana macros (``$__rate_interval``...) and template variables.

    ``variables`` overrides values (e.g. ``{"jurisdiction": "TX"}``); unknown variables
    become :data:`DEFAULT_VARIABLE_VALUE`. Plain PromQL passes through unchanged.
    """
    values = {**GRAFANA_MACROS, **(variables or {})}

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, DEFAULT_VARIABLE_VALUE)

    return _VAR_RE.sub(sub, expr)


def variable_query_to_promql(query: str) -> str:
    """``label_values(metric, label)`` -> ``metric``; ``label_values(label)`` ->
    ``{label!=""}``; any other variable query is rendered as PromQL."""
    m = _LABEL_VALUES_RE.match(query)
    if not m:
        return render(query)
    metric, label = m.group(1), m.group(2)
    if metric and metric.strip():
        return render(metric.strip())
    return f'{{{label}!=""}}'


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml")) + sorted(RULES_DIR.glob("*.yaml"))


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def rule_expressions(paths: Iterable[Path] | None = None) -> list[PromQLExpr]:
    """Every recording and alerting rule expression."""
    out: list[PromQLExpr] = []
    for path in rule_files() if paths is None else paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for group in doc.get("groups", []):
            for i, rule in enumerate(group.get("rules", [])):
                if "record" in rule:
                    kind, name = "recording", rule["record"]
                else:
                    kind, name = "alerting", rule.get("alert")
                out.append(
                    PromQLExpr(
                        source=_rel(Path(path)),
                        where=f"group {group.get('name')!r} rule #{i} {name}",
                        kind=kind,
                        expr=str(rule["expr"]),
                        name=name,
                    )
                )
    return out


def iter_panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []) or [])


def dashboard_expressions(paths: Iterable[Path] | None = None) -> list[PromQLExpr]:
    """Every Prometheus panel target ``expr`` and every query variable."""
    out: list[PromQLExpr] = []
    for path in dashboard_files() if paths is None else paths:
        dash = json.loads(Path(path).read_text(encoding="utf-8"))
        src = _rel(Path(path))
        for panel in iter_panels(dash.get("panels", [])):
            for target in panel.get("targets", []) or []:
                expr = target.get("expr")
                if not expr:
                    continue
                out.append(
                    PromQLExpr(
                        source=src,
                        where=f"panel {panel.get('id')} {panel.get('title')!r} "
                        f"target {target.get('refId')}",
                        kind="panel",
                        expr=expr,
                        name=panel.get("title"),
                    )
                )
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            q = var.get("query")
            if isinstance(q, Mapping):
                q = q.get("query")
            if q:
                out.append(
                    PromQLExpr(
                        source=src,
                        where=f"variable {var.get('name')}",
                        kind="variable",
                        expr=str(q),
                        name=var.get("name"),
                    )
                )
    return out


def all_expressions() -> list[PromQLExpr]:
    """Rules first, then dashboards."""
    return rule_expressions() + dashboard_expressions()


if __name__ == "__main__":  # pragma: no cover - a listing for humans
    for e in all_expressions():
        print(f"[{e.kind}] {e.source} :: {e.where}\n    {e.query.strip()}")
