"""Questions every rule asks of a case, answered once.

Rules (``streams/engine/rules/``), the local policies (``local_policy.py``), the jurisdiction
monitor's facts (``jurisdiction.py``) and ``holdwatch report`` all read "the earliest hit known at
a moment" or "when did this hold end" the same way; a second copy of one of these would be a second
definition of when a hold is unlawful. Pure functions of the case, never of arrival order: ties
are broken by event id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from streams.engine.case import Case, Detainer, Hit


def first(*moments: int | None) -> int | None:
    """The earliest of the moments that are known (None when none is)."""
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def issued(case: Case) -> Iterator[Detainer]:
    """The case's detainers with an issue event (a lift or service alone issues nothing)."""
    return (d for d in case.detainers if d.issued_at is not None)


def earliest_hit(
    case: Case,
    at: int | None = None,
    statuses: Collection[str] | None = None,
    levels: Collection[str] | None = None,
) -> Hit | None:
    """The earliest hit (ties: event id) at or before ``at`` (any time when None), among those
    with a status in ``statuses`` and a conviction level in ``levels`` when given."""
    best: Hit | None = None
    for hit in case.hits:
        if at is not None and hit.at > at:
            continue
        if statuses is not None and hit.status not in statuses:
            continue
        if levels is not None and hit.level not in levels:
            continue
        if best is None or (hit.at, hit.event_id) < (best.at, best.event_id):
            best = hit
    return best


def hold_end(case: Case, detainer: Detainer) -> int | None:
    """When the hold on ``detainer`` ended: custody end or the detainer's lift, the earlier."""
    return first(case.custody_end_at, detainer.lifted_at)


def booked_by(case: Case, at: int) -> bool:
    """Whether the booking event (jurisdiction, charges) was known at ``at``."""
    return case.booked_at is not None and case.booked_at <= at
