"""The policy as the engine sees it: immutable, validated, durations in microseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Counting = Literal["business", "elapsed"]

RULES = (
    "hold_limit_exceeded",
    "hold_limit_approaching",
    "detainer_on_citizen",
    "detainer_without_hit",
    "non_priority_detainer",
    "detainer_copy_not_served",
)


@dataclass(frozen=True, slots=True)
class HoldLimit:
    """The hold-limit definition of one detainer form."""

    hours: int
    counting: Counting


@dataclass(frozen=True, slots=True)
class RuleInfo:
    severity: Literal["critical", "warning"]
    basis: str


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    timezone: str
    state: str
    disabled_rules: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NonPriority:
    conviction_levels: frozenset[str]
    charge_categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class Calendar:
    country: str = "US"
    # "" federal only; a state code for all; "jurisdiction" for each jurisdiction's own state.
    subdivision: str = ""


@dataclass(frozen=True)
class Policy:
    allowed_lateness: int
    closed_case_retention: int
    default_timezone: str
    calendar: Calendar
    forms: dict[str, HoldLimit]
    approaching_warning: int
    copy_service_deadline: int
    non_priority: NonPriority
    rules: dict[str, RuleInfo]
    jurisdictions: dict[str, Jurisdiction] = field(default_factory=dict)
    source: str = "<default>"

    def timezone_for(self, jurisdiction: str | None, explicit: str | None = None) -> str:
        """Event's own zone, else the jurisdiction table's, else the default."""
        if explicit:
            return explicit
        entry = self.jurisdictions.get(jurisdiction) if jurisdiction else None
        return entry.timezone if entry else self.default_timezone

    def rule_enabled(self, rule: str, jurisdiction: str | None) -> bool:
        entry = self.jurisdictions.get(jurisdiction) if jurisdiction else None
        return entry is None or rule not in entry.disabled_rules

    def holiday_subdivision(self, jurisdiction: str | None) -> str:
        if self.calendar.subdivision != "jurisdiction":
            return self.calendar.subdivision
        entry = self.jurisdictions.get(jurisdiction) if jurisdiction else None
        return entry.state if entry else ""
