"""The policy as the engine sees it: immutable, validated, durations in microseconds."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.contract.vocabulary import AlertSeverity, Counting

# The rules themselves (names, default severity and basis) are declared in
# streams/engine/rules/: this module is plain data and imports nothing of the engine.


@dataclass(frozen=True, slots=True)
class HoldLimit:
    """The hold-limit definition of one detainer form."""

    hours: int
    counting: Counting


@dataclass(frozen=True, slots=True)
class RuleInfo:
    severity: AlertSeverity
    basis: str


@dataclass(frozen=True, slots=True)
class HonorClause:
    """One alternative of a local policy's "honor a detainer only when ..." criteria.

    Every constraint given must hold (None: no constraint). ``conviction_levels`` is read on the
    booking's earliest hit at or before the hold starts; the charge constraints need one charge of
    the booking that has a listed severity *and* a listed category.
    """

    conviction_levels: frozenset[str] | None = None
    charge_severities: frozenset[str] | None = None
    charge_categories: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class LocalPolicy:
    """A jurisdiction's own detainer policy, layered over the federal hold limit.

    Clauses (any combination): ``decline_all`` (no detainer hold at all: custody past eligibility
    plus ``grace`` is a violation), ``honor_when`` (hold only when one clause holds, else the same),
    ``max_hold`` (a shorter limit in elapsed time after eligibility). ``effective_from`` (local
    midnight, microseconds) limits it to holds that start on or after the policy took effect.
    """

    name: str
    adopted: str = ""
    effective_from: int | None = None
    illustration: bool = False
    summary: str = ""
    decline_all: bool = False
    honor_when: tuple[HonorClause, ...] = ()
    max_hold: int | None = None
    grace: int = 0


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    timezone: str
    state: str
    disabled_rules: frozenset[str] = frozenset()
    local_policy: LocalPolicy | None = None


@dataclass(frozen=True, slots=True)
class ShareMonitorSettings:
    """The rolling low-priority share monitor (rule jurisdiction_low_priority_share)."""

    window_days: int = 90
    baseline: float = 0.55
    margin: float = 0.15
    min_detainers: int = 50
    low_priority_levels: frozenset[str] = frozenset({"L3", "none"})

    @property
    def threshold(self) -> float:
        return self.baseline + self.margin


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
    monitor: ShareMonitorSettings = field(default_factory=ShareMonitorSettings)
    # The event clock (engine/watermark.py): the watermark follows the clock_quorum-th newest
    # event time over distinct bookings; an event more than max_clock_skew ahead of that is held
    # (at most max_held_events) until corroborated, else it ends as the dead letter "future".
    clock_quorum: int = 3
    max_clock_skew: int = 3600 * 1_000_000
    max_held_events: int = 100_000
    # Per-case state bounds: input beyond them is the dead letter "case_limit".
    max_events_per_case: int = 256
    max_hits_per_case: int = 32
    max_detainers_per_case: int = 16

    def local_policy(self, jurisdiction: str | None) -> LocalPolicy | None:
        entry = self.jurisdictions.get(jurisdiction) if jurisdiction else None
        return entry.local_policy if entry else None

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
