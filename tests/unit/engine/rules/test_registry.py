"""A rule is declared once, and everything that names rules follows the declaration.

On the starting main the rule names were four hand-kept lists (policy/model.py, engine/rules.py,
the schemas, policy/load.py's defaults) and nothing checked the Prometheus rules: each test here
fails there (no registry to declare into, nothing derived from it, no check of deploy/).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.cli.demo import rule_table
from streams.contract.decode import Decoder, Rejected
from streams.engine.case import Case, apply
from streams.engine.rules import RULES, Rule, declare, evaluate
from streams.engine.rules.schemas import stale
from streams.observability.metrics import WorkerMetrics
from streams.policy.load import KEYS, load_policy
from tests.support import REPO, Events, firing, replay, resolved, two_detainers

SCHEMAS = REPO / "schemas"
ALERTS_YML = REPO / "deploy" / "prometheus" / "rules" / "alerts.yml"
CATCH_ALL = "PolicyAlertsRate"
# rule="x", rule=~"a|b", rule!~"a|b" in PromQL (also JSON-escaped in dashboards), rule: x as a label.
_SELECTOR = re.compile(r'rule\s*(?:=~|!~|!=|=)\s*\\?"([^"\\]*)\\?"')
_LABEL = re.compile(r"^\s*rule:\s*([a-z_]+)\s*$", re.MULTILINE)


def deploy_files() -> list[Path]:
    deploy = REPO / "deploy"
    return sorted(
        [*deploy.glob("prometheus/**/*.yml"), *deploy.glob("grafana/**/*.json")],
        key=str,
    )


def names_in(text: str) -> set[str]:
    """Every rule name a PromQL selector or a ``rule:`` label of ``text`` mentions."""
    found = {name for match in _SELECTOR.findall(text) for name in match.split("|") if name}
    return found | set(_LABEL.findall(text))


def policy_alerts() -> dict[str, str]:
    """Alert name -> its expression and labels as text, of the policy group of alerts.yml."""
    groups = yaml.safe_load(ALERTS_YML.read_text(encoding="utf-8"))["groups"]
    [policy] = [g for g in groups if g["name"] == "holdwatch.policy"]
    return {
        rule["alert"]: rule["expr"] + "".join(f"\n{k}: {v}" for k, v in rule["labels"].items())
        for rule in policy["rules"]
    }


def prometheus_problems() -> list[str]:
    """What alerts.yml gets wrong about the declared rules (empty: nothing)."""
    alerts = policy_alerts()
    problems = []
    for name, rule in RULES.items():
        if rule.page is None:
            continue
        if rule.page not in alerts:
            problems.append(f"{name}: no alert {rule.page} in {ALERTS_YML.name}")
        elif name not in names_in(alerts[rule.page]):
            problems.append(f"{name}: alert {rule.page} does not name it")
    excluded = set(re.findall(r'rule!~"([^"]*)"', alerts[CATCH_ALL])[0].split("|"))
    paged = {name for name, rule in RULES.items() if rule.page is not None}
    if excluded != paged:
        problems.append(
            f"{CATCH_ALL} must exclude exactly the rules with their own page: {sorted(paged)}, "
            f"not {sorted(excluded)}"
        )
    return problems


class TestOneDeclarationFlowsEverywhere:
    def test_the_policy_knows_a_declared_rule_with_its_default_severity_and_basis(
        self, throwaway_rule: Rule
    ) -> None:
        policy = load_policy()
        assert policy.rules[throwaway_rule.name] == throwaway_rule.info

    def test_the_engine_evaluates_it_and_alerts_with_the_declared_severity(
        self, throwaway_rule: Rule
    ) -> None:
        ev = Events("bk-two", "America/New_York")
        alerts, _, _ = replay(load_policy(), two_detainers(ev, None, "2011-10-05 09:00"))
        [fired] = firing(alerts, throwaway_rule.name)
        [ended] = resolved(alerts, throwaway_rule.name)
        assert fired["severity"] == "warning"
        assert fired["policy"] == throwaway_rule.basis
        assert fired["alert_id"] == ended["alert_id"]
        assert "detainer_id" not in fired["details"]  # per booking: one alert, not one per detainer

    def test_the_metrics_create_its_label_sets_at_zero(self, throwaway_rule: Rule) -> None:
        registry = CollectorRegistry()
        WorkerMetrics(registry, load_policy())
        labels = {"rule": throwaway_rule.name, "severity": "warning", "state": "firing"}
        assert registry.get_sample_value("holdwatch_alerts_total", labels) == 0

    def test_the_demo_table_lists_it_even_when_it_did_not_fire(self, throwaway_rule: Rule) -> None:
        table = rule_table({("hold_limit_exceeded", "firing"): 2}, load_policy(), "t")
        rules = list(table.columns[0].cells)
        assert rules == list(RULES)
        assert throwaway_rule.name in rules
        assert list(table.columns[2].cells)[rules.index("hold_limit_exceeded")] == "2"


class TestTheListsThatMustNameARule:
    def test_the_schemas_name_every_declared_rule(self) -> None:
        """Out of date: run ``python -m streams.engine.rules --write-schemas``."""
        assert stale(SCHEMAS) == []

    def test_a_rule_missing_from_the_schemas_is_found(self, throwaway_rule: Rule) -> None:
        assert {p.name for p in stale(SCHEMAS)} == {"alert.schema.json", "policy.schema.json"}

    def test_every_rule_deploy_names_is_declared(self) -> None:
        """A renamed or misspelt rule in a Prometheus rule, promtool test or dashboard."""
        for path in deploy_files():
            unknown = names_in(path.read_text(encoding="utf-8")) - set(RULES)
            assert not unknown, f"{path.relative_to(REPO)} names undeclared rule(s) {unknown}"

    def test_every_declared_rule_pages_by_name_or_through_the_catch_all(self) -> None:
        assert prometheus_problems() == []

    def test_a_rule_declared_to_page_without_its_alert_is_found(
        self, throwaway_rule: Rule, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(RULES, throwaway_rule.name, replace(throwaway_rule, page="Several"))
        assert prometheus_problems() == [
            "several_detainers: no alert Several in alerts.yml",
            f"{CATCH_ALL} must exclude exactly the rules with their own page: "
            "['detainer_on_citizen', 'hold_limit_exceeded', 'several_detainers'], "
            "not ['detainer_on_citizen', 'hold_limit_exceeded']",
        ]


class TestTheDeclarations:
    def test_the_shipped_policy_sets_each_rule_as_declared(self) -> None:
        """default.toml may word the basis differently, never change the severity silently."""
        policy = load_policy()
        for name, rule in RULES.items():
            assert policy.rules[name].severity == rule.severity, name

    @pytest.mark.parametrize("name", list(RULES))
    def test_the_settings_a_rule_reads_are_policy_settings(self, name: str) -> None:
        for setting in RULES[name].settings:
            table, _, key = setting.rpartition(".")
            assert key in KEYS[table], f"{name}: {setting} is no policy setting"

    def test_a_rule_names_the_detainer_exactly_when_it_is_per_detainer(self) -> None:
        """The scope is part of the alert's identity (the detainer id is in the alert id)."""
        decoder = Decoder()
        cases: dict[str, Case] = {}
        sample = resources.files("streams.data").joinpath("sample.jsonl.gz").read_bytes()
        for line in gzip.decompress(sample).splitlines():
            try:
                event = decoder.decode(line)
            except Rejected:
                continue
            case = cases.setdefault(event.booking_id, Case(event.booking_id))
            if event.event_id not in case.seen:
                apply(case, event)
        policy = load_policy()
        found = [f for case in cases.values() for f in evaluate(case, policy)]
        assert {f.rule for f in found} >= {"hold_limit_exceeded", "detainer_copy_not_served"}
        for finding in found:
            assert bool(finding.detainer) == (RULES[finding.rule].scope == "detainer"), finding

    def test_a_rule_cannot_be_declared_twice(self) -> None:
        with pytest.raises(ValueError, match="declared twice"):
            declare(RULES["hold_limit_exceeded"])
