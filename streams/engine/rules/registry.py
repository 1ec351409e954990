"""Every rule declared once: its name, defaults, legal basis, what it reads and how it runs.

A rule module calls :func:`declare` at import; ``streams/engine/rules/__init__.py`` imports every
rule module, so ``RULES`` is complete once ``streams.engine.rules`` is imported. Everything that
must name the rules derives from this table instead of keeping a list of its own: the policy
loader (which rules ``[rules]`` and ``disabled_rules`` may name, the severity and basis of one a
policy file leaves out), the metrics' label sets, the demo's table, the rule lists of the schemas
(``python -m streams.engine.rules --write-schemas``) and the checks of the Prometheus alerting
rules (``tests/unit/engine/rules/test_registry.py``).

Layering: this package imports ``streams.policy.model`` (plain data) and the engine's case;
``streams.policy.load`` imports this package to know the rules. ``streams.policy.model`` never
imports the engine, so there is no import cycle: model <- engine <- policy loader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from streams.policy.model import RuleInfo

if TYPE_CHECKING:
    from streams.engine.case import Case
    from streams.engine.rules.context import Context, Finding

Severity = Literal["critical", "warning"]
#: ``detainer``: one finding per detainer (the detainer id is part of the alert id);
#: ``booking``: one per booking (no detainer id); ``jurisdiction``: evaluated by the jurisdiction
#: monitor (``streams/engine/share_monitor.py``) over many bookings, never per case.
Scope = Literal["detainer", "booking", "jurisdiction"]
Evaluate = Callable[["Context"], Iterator["Finding"]]
#: Adds the rule's own keys to a resolved alert's details (after ``resolved_at``): the case, the
#: details being built, the finding's occurred_at and its end.
Resolved = Callable[["Case", dict[str, Any], int, int], None]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule, as the policy, the alerts, the metrics and the deploy files know it."""

    name: str
    severity: Severity  # the default; a policy's [rules.<name>] may override it
    basis: str  # the default legal or policy basis, in words (the alert's ``policy``)
    settings: tuple[str, ...]  # the policy settings it reads (documentation, the demo)
    scope: Scope
    evaluate: Evaluate | None = None  # None: evaluated by the jurisdiction monitor
    resolved: Resolved | None = None
    #: The Prometheus alert in deploy/prometheus/rules/alerts.yml that pages on this rule by name;
    #: None: the catch-all ``PolicyAlertsRate`` covers it. Checked by a test both ways.
    page: str | None = None
    #: A policy file's [rules] must list it (the rules of the first policy files). A rule added
    #: later is optional there: a policy that leaves it out gets ``severity`` and ``basis``.
    required: bool = False

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.severity, self.basis)


#: Every declared rule by name, in declaration order (the order of the schemas' lists).
RULES: dict[str, Rule] = {}


def declare(rule: Rule) -> Rule:
    """Add ``rule`` to the registry (once: a name declared twice is a programming error)."""
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is declared twice")
    if (rule.evaluate is None) != (rule.scope == "jurisdiction"):
        raise ValueError(f"rule {rule.name!r}: a case rule needs evaluate, a jurisdiction one not")
    RULES[rule.name] = rule
    return rule


@contextmanager
def declared(rule: Rule) -> Iterator[Rule]:
    """``rule`` in the registry for the duration of a ``with`` block (tests: a throwaway rule)."""
    declare(rule)
    try:
        yield rule
    finally:
        RULES.pop(rule.name, None)


def case_rules() -> Iterator[Rule]:
    """The rules evaluated on a case (per detainer or per booking), in declaration order."""
    return (rule for rule in RULES.values() if rule.evaluate is not None)
