"""The rules: pure functions from a case (and the policy) to findings.

A finding says *when* a violation became true in event time and, if known, when it ended. Rules
look at everything the case knows, never at the clock or the arrival order; the alert lifecycle
(``alerts.py``) decides when a finding is old enough (watermark) to be emitted. That split is
what makes the alert set independent of how events interleave within the allowed lateness.

Rule names are part of the contract (alert.schema.json).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from streams.contract.timestamps import HOUR, isoformat
from streams.contract.vocabulary import ImmigrationStatus
from streams.engine import calendar, local_policy
from streams.engine.case import Case, Detainer
from streams.policy.model import Policy

CITIZEN_STATUSES: frozenset[ImmigrationStatus] = frozenset({"us_citizen", "naturalized_citizen"})


@dataclass(frozen=True, slots=True)
class Finding:
    """Details hold only facts known at ``at``: anything later would make a firing alert depend
    on whether a later event happened to arrive before the watermark reached ``at``.

    ``detainer`` names the detainer of a per-detainer rule (every booking rule today): it is part
    of the alert's identity, so two detainers of one booking with the same ``at`` are two alerts
    with their own lifecycle, not one alert that the first lift resolves. Empty for a rule about
    the booking as a whole."""

    rule: str
    at: int  # occurred_at: when the violation became true
    resolved_at: int | None  # when it stopped (custody ended, detainer lifted, ...), if known
    details: dict[str, Any]
    detainer: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        """The alert's identity within its case (``Case.emitted``): rule, at, detainer."""
        return (self.rule, self.at, self.detainer)


def _first(*moments: int | None) -> int | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def _issued(case: Case) -> Iterator[Detainer]:
    return (d for d in case.detainers if d.issued_at is not None)


class Place:
    """What the rules read from the policy for one (jurisdiction, booking time zone): the zone,
    the holiday subdivision and the rules enabled there. Looked up once per place (``Places``)."""

    __slots__ = ("rules", "subdivision", "zone", "zone_name")

    def __init__(self, policy: Policy, jurisdiction: str | None, timezone: str | None) -> None:
        self.zone_name = policy.timezone_for(jurisdiction, timezone)
        self.zone = calendar.zone(self.zone_name)
        self.subdivision = policy.holiday_subdivision(jurisdiction)
        self.rules = tuple(
            rule for name, rule in RULES.items() if policy.rule_enabled(name, jurisdiction)
        )


class Places:
    """``Place`` per (jurisdiction, time zone) of one policy; bounded (the keys come from input)."""

    MAX = 4096

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._places: dict[tuple[str | None, str | None], Place] = {}

    def get(self, jurisdiction: str | None, timezone: str | None) -> Place:
        key = (jurisdiction, timezone)
        place = self._places.get(key)
        if place is None:
            if len(self._places) >= self.MAX:
                self._places.clear()
            place = self._places[key] = Place(self.policy, jurisdiction, timezone)
        return place


class Context:
    """What every rule needs besides the case: the policy and the case's local time zone."""

    __slots__ = ("case", "place", "policy", "zone", "zone_name")

    def __init__(self, case: Case, policy: Policy, place: Place | None = None) -> None:
        self.case = case
        self.policy = policy
        if place is None:
            place = Place(policy, case.jurisdiction, case.timezone)
        self.place = place
        self.zone_name = place.zone_name
        self.zone = place.zone

    def ts(self, moment: int | None) -> str | None:
        return None if moment is None else isoformat(moment, self.zone)

    def deadline(self, detainer: Detainer) -> int:
        assert self.case.eligible_at is not None and detainer.form is not None
        return calendar.deadline(
            self.case.eligible_at,
            self.policy.forms[detainer.form],
            self.zone_name,
            self.policy.calendar.country,
            self.place.subdivision,
        )


def _hold_details(ctx: Context, detainer: Detainer, deadline: int) -> dict[str, Any]:
    case = ctx.case
    assert case.eligible_at is not None and detainer.form is not None
    limit = ctx.policy.forms[detainer.form]
    return {
        "deadline": ctx.ts(deadline),
        "eligible_at": ctx.ts(case.eligible_at),
        "form": detainer.form,
        "limit_hours": limit.hours,
        "counting": limit.counting,
        "timezone": ctx.zone_name,
        "detainer_id": detainer.detainer_id,
        "evidence": [e for e in (case.eligible_event, detainer.issued_event) if e],
    }


def hold_limit_exceeded(ctx: Context) -> Iterator[Finding]:
    """Held on a detainer past the form's limit after becoming release-eligible.

    The clock starts at eligibility, also when the detainer comes later; a detainer issued after
    the deadline makes the hold unlawful from its issue time, so occurred_at is the later of the two.
    """
    case = ctx.case
    if case.eligible_at is None:
        return
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        deadline = ctx.deadline(detainer)
        at = max(deadline, detainer.issued_at)
        ended = _first(case.custody_end_at, detainer.lifted_at)
        if ended is not None and ended <= at:
            continue
        details = _hold_details(ctx, detainer, deadline)
        details["hours_held_after_eligible"] = round((at - case.eligible_at) / HOUR, 2)
        yield Finding("hold_limit_exceeded", at, ended, details, detainer.detainer_id)


def hold_limit_approaching(ctx: Context) -> Iterator[Finding]:
    """Early warning ``approaching_warning`` before the deadline, while still held."""
    case = ctx.case
    warning = ctx.policy.approaching_warning
    if case.eligible_at is None or warning <= 0:
        return
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        deadline = ctx.deadline(detainer)
        at = max(deadline - warning, detainer.issued_at, case.eligible_at)
        ended = _first(case.custody_end_at, detainer.lifted_at)
        if at >= deadline or (ended is not None and ended <= at):
            continue
        yield Finding(
            "hold_limit_approaching",
            at,
            _first(ended, deadline),
            _hold_details(ctx, detainer, deadline),
            detainer.detainer_id,
        )


def detainer_on_citizen(ctx: Context) -> Iterator[Finding]:
    """A detainer and a hit saying citizen, in either order: occurred_at is the later one."""
    case = ctx.case
    citizens = [h for h in case.hits if h.status in CITIZEN_STATUSES]
    if not citizens:
        return
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        hit = min(citizens, key=lambda h: (h.at, h.event_id))
        at = max(detainer.issued_at, hit.at)
        ended = _first(case.custody_end_at, detainer.lifted_at)
        details = {
            "status": hit.status,
            "detainer_id": detainer.detainer_id,
            "issued_at": ctx.ts(detainer.issued_at),
            "hit_at": ctx.ts(hit.at),
            "evidence": [e for e in (hit.event_id, detainer.issued_event) if e],
        }
        yield Finding(
            "detainer_on_citizen",
            at,
            None if ended is None else max(ended, at),
            details,
            detainer.detainer_id,
        )


def detainer_without_hit(ctx: Context) -> Iterator[Finding]:
    """No database hit at or before the detainer's issue time."""
    case = ctx.case
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        issued = detainer.issued_at
        if any(h.at <= issued for h in case.hits):
            continue
        ended = _first(case.custody_end_at, detainer.lifted_at)
        details = {
            "detainer_id": detainer.detainer_id,
            "issued_at": ctx.ts(issued),
            "evidence": [detainer.issued_event] if detainer.issued_event else [],
        }
        yield Finding(
            "detainer_without_hit",
            issued,
            None if ended is None else max(ended, issued),
            details,
            detainer.detainer_id,
        )


def non_priority_detainer(ctx: Context) -> Iterator[Finding]:
    """No conviction (per policy) and every charge a minor-traffic one (per policy)."""
    case = ctx.case
    criteria = ctx.policy.non_priority
    if case.booked_at is None or not case.charges:
        return
    if not all(category in criteria.charge_categories for _, category in case.charges):
        return
    hits = [h for h in case.hits if h.level in criteria.conviction_levels]
    if not hits:
        return
    hit = min(hits, key=lambda h: (h.at, h.event_id))
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        at = max(detainer.issued_at, hit.at, case.booked_at)
        ended = _first(case.custody_end_at, detainer.lifted_at)
        details = {
            "detainer_id": detainer.detainer_id,
            "conviction_level": hit.level,
            "charge_categories": sorted({category for _, category in case.charges}),
            "evidence": [e for e in (case.booking_event, hit.event_id, detainer.issued_event) if e],
        }
        yield Finding(
            "non_priority_detainer",
            at,
            None if ended is None else max(ended, at),
            details,
            detainer.detainer_id,
        )


def detainer_copy_not_served(ctx: Context) -> Iterator[Finding]:
    """No copy served within the policy's deadline of issue while the person is still held."""
    case = ctx.case
    for detainer in _issued(case):
        assert detainer.issued_at is not None
        at = detainer.issued_at + ctx.policy.copy_service_deadline
        ended = _first(detainer.served_at, case.custody_end_at, detainer.lifted_at)
        if ended is not None and ended <= at:
            continue
        details = {
            "detainer_id": detainer.detainer_id,
            "issued_at": ctx.ts(detainer.issued_at),
            "evidence": [detainer.issued_event] if detainer.issued_event else [],
        }
        yield Finding("detainer_copy_not_served", at, ended, details, detainer.detainer_id)


def local_policy_violation(ctx: Context) -> Iterator[Finding]:
    """A hold that breaks the jurisdiction's own policy (``local_policy.py``), besides the federal rules.

    The overlay is the one of the booking's jurisdiction, known only from a booking event at or
    before the violation (so a late-arriving booking cannot change the verdict retroactively).
    """
    case = ctx.case
    overlay = ctx.policy.local_policy(case.jurisdiction)
    if overlay is None:
        return
    for breach in local_policy.breaches(case, overlay):
        if case.booked_at is None or case.booked_at > breach.at:
            continue
        details = dict(breach.details)
        details["hold_started_at"] = ctx.ts(details["hold_started_at"])
        details["eligible_at"] = ctx.ts(details["eligible_at"])
        details["timezone"] = ctx.zone_name
        yield Finding(
            "local_policy_violation", breach.at, breach.ended, details, breach.detainer.detainer_id
        )


RULES: dict[str, Callable[[Context], Iterator[Finding]]] = {
    "hold_limit_exceeded": hold_limit_exceeded,
    "hold_limit_approaching": hold_limit_approaching,
    "detainer_on_citizen": detainer_on_citizen,
    "detainer_without_hit": detainer_without_hit,
    "non_priority_detainer": non_priority_detainer,
    "detainer_copy_not_served": detainer_copy_not_served,
    "local_policy_violation": local_policy_violation,
}


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
