"""Local detainer policies layered over the federal rules: which hold breaks which clause.

Pure: a case and a jurisdiction's :class:`LocalPolicy` in, breaches out (``rules/local.py`` turns them
into ``local_policy_violation`` findings). A *hold* is custody on an issued, not lifted detainer
after the person became release-eligible; it starts at ``max(eligible_at, issued_at)``.

Clauses, each giving the moment the hold became a violation (the finding's ``occurred_at``):

* ``decline_all``: the jurisdiction honors no detainer: hold start + ``grace``;
* ``honor_when``: hold start + ``grace``, unless one alternative holds for the booking, judged
  only on what was known by then (hits and the booking event at or before that moment), so the
  verdict never depends on the arrival order of later events;
* ``max_hold``: a shorter limit: ``max(eligible_at + max_hold, issued_at)``.

Per detainer the earliest breached clause is reported (a hold that should not have happened at
all is not reported again when it also outlasts the shorter limit). Custody ending (or the
detainer being lifted) at or before that moment is within the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from streams.engine.case import Case, Detainer
from streams.engine.queries import booked_by, earliest_hit, hold_end
from streams.policy.model import HonorClause, LocalPolicy

_CLAUSE_ORDER = {"decline_all": 0, "honor_when": 1, "max_hold": 2}


@dataclass(frozen=True, slots=True)
class Breach:
    detainer: Detainer
    clause: str
    at: int
    ended: int | None
    details: dict[str, Any]


def known_level(case: Case, at: int) -> tuple[str, str] | None:
    """(conviction level, hit event id) of the earliest hit at or before ``at``."""
    hit = earliest_hit(case, at)
    return None if hit is None else (hit.level, hit.event_id)


def clause_holds(
    clause: HonorClause, level: str | None, charges: tuple[tuple[str, str], ...]
) -> bool:
    if clause.conviction_levels is not None and level not in clause.conviction_levels:
        return False
    if clause.charge_severities is None and clause.charge_categories is None:
        return True
    return any(
        (clause.charge_severities is None or severity in clause.charge_severities)
        and (clause.charge_categories is None or category in clause.charge_categories)
        for severity, category in charges
    )


def honorable(case: Case, overlay: LocalPolicy, at: int) -> bool:
    """Does one ``honor_when`` alternative hold on what the case knew at ``at``?"""
    known = known_level(case, at)
    level = known[0] if known else None
    charges = case.charges if booked_by(case, at) else ()
    return any(clause_holds(clause, level, charges) for clause in overlay.honor_when)


def describe(overlay: LocalPolicy, clause: str) -> str:
    if clause == "decline_all":
        return "declines all detainer holds: any custody on a detainer after release eligibility"
    if clause == "max_hold":
        assert overlay.max_hold is not None
        hours = overlay.max_hold / 3_600_000_000
        return f"holds on a detainer at most {hours:g} hours after release eligibility"
    alternatives = []
    for honor in overlay.honor_when:
        parts = []
        if honor.conviction_levels is not None:
            parts.append("conviction level " + "/".join(sorted(honor.conviction_levels)))
        if honor.charge_severities is not None or honor.charge_categories is not None:
            severity = "/".join(sorted(honor.charge_severities or ())) or "any"
            category = "/".join(sorted(honor.charge_categories or ())) or "any"
            parts.append(f"a {severity} {category} charge")
        alternatives.append(" and ".join(parts))
    return "honors a detainer only with " + " or ".join(alternatives)


def breaches(case: Case, overlay: LocalPolicy) -> Iterator[Breach]:
    eligible = case.eligible_at
    if eligible is None:
        return
    for detainer in case.detainers:
        issued = detainer.issued_at
        if issued is None:
            continue
        start = max(eligible, issued)
        if overlay.effective_from is not None and start < overlay.effective_from:
            continue
        candidates: list[tuple[int, str]] = []
        if overlay.decline_all:
            candidates.append((start + overlay.grace, "decline_all"))
        if overlay.honor_when and not honorable(case, overlay, start + overlay.grace):
            candidates.append((start + overlay.grace, "honor_when"))
        if overlay.max_hold is not None:
            candidates.append((max(eligible + overlay.max_hold, issued), "max_hold"))
        if not candidates:
            continue
        at, clause = min(candidates, key=lambda c: (c[0], _CLAUSE_ORDER[c[1]]))
        ended = hold_end(case, detainer)
        if ended is not None and ended <= at:
            continue
        known = known_level(case, at)
        details: dict[str, Any] = {
            "local_policy": overlay.name,
            "adopted": overlay.adopted,
            "illustration": overlay.illustration,
            "clause": clause,
            "clause_text": describe(overlay, clause),
            "detainer_id": detainer.detainer_id,
            "hold_started_at": start,
            "eligible_at": eligible,
            "conviction_level": known[0] if known else None,
            "evidence": [
                e
                for e in (case.eligible_event, detainer.issued_event, known[1] if known else None)
                if e
            ],
        }
        if clause == "max_hold":
            assert overlay.max_hold is not None
            details["max_hold_hours"] = overlay.max_hold / 3_600_000_000
        if overlay.grace:
            details["grace_hours"] = overlay.grace / 3_600_000_000
        yield Breach(detainer, clause, at, ended, details)
