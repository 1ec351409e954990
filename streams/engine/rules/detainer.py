"""Rules about a detainer's basis and service: whom it names, what preceded it, what it needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from streams.contract.vocabulary import ImmigrationStatus
from streams.engine.case import Detainer
from streams.engine.queries import earliest_hit, first, hold_end, issued
from streams.engine.rules.context import Context, Finding
from streams.engine.rules.registry import Rule, declare

CITIZEN_STATUSES: frozenset[ImmigrationStatus] = frozenset({"us_citizen", "naturalized_citizen"})


def _issued_details(ctx: Context, detainer: Detainer) -> dict[str, Any]:
    """The details of a rule about the issued detainer alone (built when an alert is emitted)."""
    return {
        "detainer_id": detainer.detainer_id,
        "issued_at": ctx.ts(detainer.issued_at),
        "evidence": [detainer.issued_event] if detainer.issued_event else [],
    }


def _while_held(
    ctx: Context,
    rule: str,
    at: int,
    detainer: Detainer,
    details: dict[str, Any] | Callable[[], dict[str, Any]],
) -> Finding:
    """A finding that holds from ``at`` for as long as the hold on ``detainer`` lasts (a hold
    that ended before ``at`` resolves at ``at``: the violation was still true at that moment)."""
    ended = hold_end(ctx.case, detainer)
    return Finding(
        rule, at, None if ended is None else max(ended, at), details, detainer.detainer_id
    )


def detainer_on_citizen(ctx: Context) -> Iterator[Finding]:
    """A detainer and a hit saying citizen, in either order: occurred_at is the later one."""
    case = ctx.case
    hit = earliest_hit(case, statuses=CITIZEN_STATUSES)
    if hit is None:
        return
    for detainer in issued(case):
        assert detainer.issued_at is not None
        at = max(detainer.issued_at, hit.at)
        details = {
            "status": hit.status,
            "detainer_id": detainer.detainer_id,
            "issued_at": ctx.ts(detainer.issued_at),
            "hit_at": ctx.ts(hit.at),
            "evidence": [e for e in (hit.event_id, detainer.issued_event) if e],
        }
        yield _while_held(ctx, "detainer_on_citizen", at, detainer, details)


def detainer_without_hit(ctx: Context) -> Iterator[Finding]:
    """No database hit at or before the detainer's issue time."""
    case = ctx.case
    for detainer in issued(case):
        issued_at = detainer.issued_at
        assert issued_at is not None
        if earliest_hit(case, issued_at) is not None:
            continue
        details = partial(_issued_details, ctx, detainer)
        yield _while_held(ctx, "detainer_without_hit", issued_at, detainer, details)


def non_priority_detainer(ctx: Context) -> Iterator[Finding]:
    """No conviction (per policy) and every charge a minor-traffic one (per policy)."""
    case = ctx.case
    criteria = ctx.policy.non_priority
    if case.booked_at is None or not case.charges:
        return
    if not all(category in criteria.charge_categories for _, category in case.charges):
        return
    hit = earliest_hit(case, levels=criteria.conviction_levels)
    if hit is None:
        return
    for detainer in issued(case):
        assert detainer.issued_at is not None
        at = max(detainer.issued_at, hit.at, case.booked_at)
        details = {
            "detainer_id": detainer.detainer_id,
            "conviction_level": hit.level,
            "charge_categories": sorted({category for _, category in case.charges}),
            "evidence": [e for e in (case.booking_event, hit.event_id, detainer.issued_event) if e],
        }
        yield _while_held(ctx, "non_priority_detainer", at, detainer, details)


def detainer_copy_not_served(ctx: Context) -> Iterator[Finding]:
    """No copy served within the policy's deadline of issue while the person is still held."""
    case = ctx.case
    for detainer in issued(case):
        assert detainer.issued_at is not None
        at = detainer.issued_at + ctx.policy.copy_service_deadline
        ended = first(detainer.served_at, hold_end(case, detainer))
        if ended is not None and ended <= at:
            continue
        details = partial(_issued_details, ctx, detainer)
        yield Finding("detainer_copy_not_served", at, ended, details, detainer.detainer_id)


declare(
    Rule(
        "detainer_on_citizen",
        "critical",
        "Immigration detainers apply only to aliens (8 CFR 287.7(a)); the database hit reports a "
        "US or naturalized citizen.",
        settings=(),
        scope="detainer",
        evaluate=detainer_on_citizen,
        page="DetainerOnCitizen",
        required=True,
    )
)
declare(
    Rule(
        "detainer_without_hit",
        "warning",
        "Secure Communities detainers follow a biometric database hit; a detainer with no hit at "
        "or before its issue has no recorded basis.",
        settings=(),
        scope="detainer",
        evaluate=detainer_without_hit,
        required=True,
    )
)
declare(
    Rule(
        "non_priority_detainer",
        "warning",
        "DHS Task Force on Secure Communities (Sept 2011) and Morton memo (June 2010): people "
        "charged with, but not convicted of, minor traffic offenses with no other criminal "
        "history are not a priority.",
        settings=("non_priority",),
        scope="detainer",
        evaluate=non_priority_detainer,
        required=True,
    )
)
declare(
    Rule(
        "detainer_copy_not_served",
        "warning",
        "Form I-247 (June 2011 revision) asks the jail to give the person a copy of the detainer; "
        "I-247A (2017) requires service for the detainer to take effect.",
        settings=("copy_service.deadline",),
        scope="detainer",
        evaluate=detainer_copy_not_served,
        required=True,
    )
)
