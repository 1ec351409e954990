"""The rules: pure functions from a case (and the policy) to findings, each declared once.

A finding says *when* a violation became true in event time and, if known, when it ended. Rules
look at everything the case knows, never at the clock or the arrival order; the alert lifecycle
(``alerts.py``) decides when a finding is old enough (watermark) to be emitted. That split is
what makes the alert set independent of how events interleave within the allowed lateness.

One module per rule family declares its rules (``registry.declare``); this is the one place that
imports them all, so importing ``streams.engine.rules`` registers every rule. To add a rule, see
"How to add a rule" in docs/architecture.md.
"""

from __future__ import annotations

from streams.engine.case import Case

# The rule families, in the order their rules are listed everywhere (schemas, metrics, demo).
# isort: off
from streams.engine.rules import hold_limit  # noqa: F401
from streams.engine.rules import detainer  # noqa: F401
from streams.engine.rules import local  # noqa: F401
from streams.engine.rules import jurisdiction_share  # noqa: F401

# isort: on
from streams.engine.rules.context import Context, Finding, Place, Places
from streams.engine.rules.registry import RULES, Rule, case_rules, declare, declared
from streams.policy.model import Policy


def evaluate(case: Case, policy: Policy, places: Places | None = None) -> list[Finding]:
    """Every finding the case supports now, in occurred_at order; empty without a detainer.

    ``places`` (the engine's, for ``policy``) saves looking the case's place up in the policy.
    """
    if not case.detainers:
        return []
    place = (
        places.get(case.jurisdiction, case.timezone)
        if places is not None
        else Place(policy, case.jurisdiction, case.timezone)
    )
    ctx = Context(case, policy, place)
    findings = [finding for rule in place.rules for finding in rule(ctx)]
    findings.sort(key=lambda f: (f.at, f.rule, f.detainer))
    return findings


__all__ = [
    "RULES",
    "Context",
    "Finding",
    "Place",
    "Places",
    "Rule",
    "case_rules",
    "declare",
    "declared",
    "evaluate",
]
