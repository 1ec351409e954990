"""The federal hold limit (8 CFR 287.7(d)): exceeded, and the early warning before it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from streams.contract.timestamps import HOUR
from streams.engine.case import Case, Detainer
from streams.engine.queries import first, hold_end, issued
from streams.engine.rules.context import Context, Finding
from streams.engine.rules.registry import Rule, declare


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
    ``holdwatch report`` calls this function for its "exceeded" facts (``streams/report/holds.py``).
    """
    case = ctx.case
    if case.eligible_at is None:
        return
    for detainer in issued(case):
        assert detainer.issued_at is not None
        deadline = ctx.deadline(detainer)
        at = max(deadline, detainer.issued_at)
        ended = hold_end(case, detainer)
        if ended is not None and ended <= at:
            continue
        details = partial(_exceeded_details, ctx, detainer, deadline, at)
        yield Finding("hold_limit_exceeded", at, ended, details, detainer.detainer_id)


def _exceeded_details(ctx: Context, detainer: Detainer, deadline: int, at: int) -> dict[str, Any]:
    details = _hold_details(ctx, detainer, deadline)
    assert ctx.case.eligible_at is not None
    details["hours_held_after_eligible"] = round((at - ctx.case.eligible_at) / HOUR, 2)
    return details


def _hours_over(case: Case, details: dict[str, Any], at: int, ended: int) -> None:
    """A resolved hold_limit_exceeded says how long the hold lasted past the limit."""
    details["hours_over"] = round(max(ended - at, 0) / HOUR, 2)


def hold_limit_approaching(ctx: Context) -> Iterator[Finding]:
    """Early warning ``approaching_warning`` before the deadline, while still held."""
    case = ctx.case
    warning = ctx.policy.approaching_warning
    if case.eligible_at is None or warning <= 0:
        return
    for detainer in issued(case):
        assert detainer.issued_at is not None
        deadline = ctx.deadline(detainer)
        at = max(deadline - warning, detainer.issued_at, case.eligible_at)
        ended = hold_end(case, detainer)
        if at >= deadline or (ended is not None and ended <= at):
            continue
        yield Finding(
            "hold_limit_approaching",
            at,
            first(ended, deadline),
            partial(_hold_details, ctx, detainer, deadline),
            detainer.detainer_id,
        )


declare(
    Rule(
        "hold_limit_exceeded",
        "critical",
        "8 CFR 287.7(d); Form I-247 (2011) and I-247A (2017): custody on a detainer may not "
        "exceed 48 hours beyond the time the person would otherwise have been released (2011: "
        "excluding Saturdays, Sundays and holidays).",
        settings=("hold_limit.forms", "calendar"),
        scope="detainer",
        evaluate=hold_limit_exceeded,
        resolved=_hours_over,
        page="HoldLimitExceeded",
        required=True,
    )
)
declare(
    Rule(
        "hold_limit_approaching",
        "warning",
        "Early warning: the 48-hour detainer hold limit of 8 CFR 287.7(d) is about to pass with "
        "the person still in custody.",
        settings=("hold_limit.forms", "hold_limit.approaching_warning", "calendar"),
        scope="detainer",
        evaluate=hold_limit_approaching,
        required=True,
    )
)
